//! One connection's writer: a task that owns the socket's write half and a bounded queue in
//! front of it. The connection only ever `try_send`s, so a device that stops reading fills
//! its own queue (or makes a write outlast the timeout) and loses its own connection,
//! without stalling the connection task, the registry or any other device.

use std::time::Duration;

use spark_mock_protocol::io::FrameWriter;
use spark_mock_protocol::Packet;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Why a packet could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OutboxError {
    /// The queue is full: the device is not reading fast enough.
    #[error("the device is not reading (write queue full)")]
    Full,
    /// The writer has stopped (a write failed or timed out).
    #[error("the connection's writer has stopped")]
    Closed,
}

/// The sending side; dropping it lets the writer flush what is queued and close.
pub struct Outbox {
    tx: mpsc::Sender<Packet>,
    task: JoinHandle<()>,
}

impl Outbox {
    /// Spawns the writer task.
    pub fn spawn(
        writer: FrameWriter<OwnedWriteHalf>,
        queue_len: usize,
        write_timeout: Duration,
        device: String,
    ) -> Self {
        let (tx, rx) = mpsc::channel(queue_len.max(1));
        let task = tokio::spawn(write_loop(writer, rx, write_timeout, device));
        Outbox { tx, task }
    }

    /// Queues a packet without waiting.
    pub fn send(&self, packet: Packet) -> Result<(), OutboxError> {
        self.tx.try_send(packet).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => OutboxError::Full,
            mpsc::error::TrySendError::Closed(_) => OutboxError::Closed,
        })
    }

    /// Resolves when the writer has stopped on its own (a failed or stuck write).
    pub async fn stopped(&mut self) {
        let _ = (&mut self.task).await;
    }

    /// Stops at once, dropping anything queued (the connection is being torn down because
    /// of the device, so there is nothing worth flushing).
    pub fn abort(self) {
        self.task.abort();
    }
}

async fn write_loop(
    mut writer: FrameWriter<OwnedWriteHalf>,
    mut rx: mpsc::Receiver<Packet>,
    write_timeout: Duration,
    device: String,
) {
    while let Some(packet) = rx.recv().await {
        match tokio::time::timeout(write_timeout, writer.write_packet(&packet)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::debug!("{device}: write failed: {e}");
                return;
            }
            Err(_) => {
                tracing::warn!(
                    "{device}: a write blocked for {write_timeout:?}; dropping the connection"
                );
                return;
            }
        }
    }
    // The connection is done: send FIN after the last queued packet.
    let _ = tokio::time::timeout(write_timeout, writer.shutdown()).await;
}
