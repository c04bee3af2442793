//! An OTA update of one device, as plain Rust: the file cut into 256-byte chunks (the last
//! one zero-padded) each with its CRC-32, UpdateBegin and the device's UpdateReady, every
//! chunk until the device says its CRC matched (a 4.00 resends it, a ChunkMissed goes back
//! to the index the device asks for), then UpdateDone. The whole update must finish within
//! [`FLASH_TIMEOUT`] (spark-server's `coreFlashTimeout`).
//!
//! [`transfer`] speaks to the connection through its command channel only, so tests drive
//! it with a channel and paused time; [`run`] adds the registry's reservation, the
//! `spark/flash/status` events and the journal entry.

mod run;
#[cfg(test)]
mod tests;

use std::time::Duration;

use spark_mock_protocol::messages::{Chunk, Response, UpdateParams, CHUNK_SIZE};
use tokio::sync::{mpsc, oneshot};

use crate::devices::types::{Command, DeviceError, OtaStep};

pub use run::{firmware_binary_id, flash, Flashing};

/// How long an update may take from the request to UpdateDone (spark-server's
/// `coreFlashTimeout`, 90 s).
pub const FLASH_TIMEOUT: Duration = Duration::from_secs(90);

/// How often one chunk may fail its CRC check before the update is given up.
pub const CHUNK_ATTEMPTS: u32 = 10;

/// Why an update failed or was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FlashError {
    /// No live connection (before or during the update).
    #[error("Device is not connected.")]
    Offline,
    /// Another update of the device is in progress.
    #[error("A firmware update is already in progress")]
    Busy,
    /// The update did not finish within [`FLASH_TIMEOUT`].
    #[error("Timed out.")]
    TimedOut,
    /// The device refused a step, or a chunk kept failing its CRC check.
    #[error("{0}")]
    Device(String),
}

impl From<DeviceError> for FlashError {
    fn from(e: DeviceError) -> Self {
        match e {
            DeviceError::Offline => FlashError::Offline,
            DeviceError::TimedOut => FlashError::TimedOut,
            other => FlashError::Device(other.to_string()),
        }
    }
}

/// What a finished transfer sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transferred {
    /// The file's length.
    pub bytes: usize,
    /// Chunks in the file.
    pub chunks: usize,
    /// Chunks sent again (a failed CRC or a ChunkMissed).
    pub resent: usize,
}

/// The file's chunks: 256 bytes each, the last zero-padded, each with its CRC-32.
pub fn chunks(file: &[u8]) -> Vec<Chunk> {
    file.chunks(CHUNK_SIZE)
        .map(|c| {
            let mut data = c.to_vec();
            data.resize(CHUNK_SIZE, 0);
            Chunk::new(data, None)
        })
        .collect()
}

/// Runs one update over a connection's command channel. `started` is called once the
/// device answered UpdateBegin with UpdateReady (the moment the cloud answers "Update
/// started"). The caller bounds it with [`FLASH_TIMEOUT`].
pub async fn transfer(
    link: &mpsc::Sender<Command>,
    file: &[u8],
    started: impl FnOnce(),
) -> Result<Transferred, FlashError> {
    let chunks = chunks(file);
    let file_size = u32::try_from(file.len())
        .map_err(|_| FlashError::Device(format!("a file of {} bytes is too big", file.len())))?;
    let (missed_tx, mut missed) = mpsc::channel(16);
    let params = UpdateParams {
        flags: 0,
        chunk_size: CHUNK_SIZE as u16,
        file_size,
        dest_flag: 0,
        dest_addr: 0,
    };
    let ready = ask(
        link,
        OtaStep::Begin {
            params,
            missed: missed_tx,
        },
    )
    .await?;
    refused(&ready, "UpdateBegin")?;
    started();
    let mut report = Transferred {
        bytes: file.len(),
        chunks: chunks.len(),
        resent: 0,
    };
    let (mut next, mut failures) = (0usize, 0u32);
    while let Some(chunk) = chunks.get(next) {
        tokio::select! {
            answer = ask(link, OtaStep::Chunk(chunk.clone())) => {
                if answer?.is_success() {
                    next += 1;
                    failures = 0;
                } else {
                    failures += 1;
                    report.resent += 1;
                    if failures >= CHUNK_ATTEMPTS {
                        return Err(FlashError::Device(format!(
                            "chunk {next} failed its CRC check {failures} times"
                        )));
                    }
                }
            }
            // The chunk's answer is abandoned: the device wants another one first.
            Some(index) = missed.recv() => {
                let index = usize::from(index);
                if index < chunks.len() {
                    tracing::debug!("chunk {index} missed; sending from there");
                    next = index;
                    failures = 0;
                    report.resent += 1;
                }
            }
        }
    }
    let done = ask(link, OtaStep::Done).await?;
    refused(&done, "UpdateDone")?;
    Ok(report)
}

/// Sends one step and waits for the device's answer.
async fn ask(link: &mpsc::Sender<Command>, step: OtaStep) -> Result<Response, FlashError> {
    let (reply, rx) = oneshot::channel();
    link.send(Command::Ota { step, reply })
        .await
        .map_err(|_| FlashError::Offline)?;
    // The connection dropped the reply: it closed mid-update.
    Ok(rx.await.unwrap_or(Err(DeviceError::Offline))?)
}

fn refused(r: &Response, step: &str) -> Result<(), FlashError> {
    if r.is_success() {
        return Ok(());
    }
    Err(FlashError::Device(format!(
        "the device answered {step} with {}.{:02}",
        r.code.class(),
        r.code.detail()
    )))
}
