//! One update from the API's point of view: reserve the device, start the transfer in its
//! own task, answer once the device said UpdateReady (or why it did not), and leave behind
//! the `spark/flash/status` events and a journal entry.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::{transfer, FlashError, Transferred, FLASH_TIMEOUT};
use crate::devices::types::Command;
use crate::devices::DeviceInfo;
use crate::journal::{Entry, EntryKind, FlashNote};
use crate::state::AppState;

/// An update that has started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flashing {
    /// The file's id: the first 12 bytes of its SHA-256, as hex (the same file, the same id).
    pub firmware_binary_id: String,
    pub bytes: usize,
}

/// The firmware id of a file.
pub fn firmware_binary_id(file: &[u8]) -> String {
    hex::encode(&Sha256::digest(file)[..12])
}

/// Frees the device when the update task ends, however it ends.
struct Reserved {
    state: AppState,
    id: String,
}

impl Drop for Reserved {
    fn drop(&mut self) {
        self.state.devices().end_flash(&self.id);
    }
}

/// Starts an OTA update of `device` with `file` for `user`. Answers once the device is
/// ready for the chunks; the rest runs on in its own task, bounded by [`FLASH_TIMEOUT`]
/// from now. Refused at once when the device is offline or already being flashed.
pub async fn flash(
    state: &AppState,
    device: &DeviceInfo,
    user: &str,
    file: Vec<u8>,
) -> Result<Flashing, FlashError> {
    let link = state.devices().begin_flash(&device.id)?;
    let reserved = Reserved {
        state: state.clone(),
        id: device.id.clone(),
    };
    let flashing = Flashing {
        firmware_binary_id: firmware_binary_id(&file),
        bytes: file.len(),
    };
    let (tx, started) = oneshot::channel();
    let task = Task {
        reserved,
        link,
        file,
        user: user.to_string(),
        firmware_binary_id: flashing.firmware_binary_id.clone(),
    };
    tokio::spawn(task.run(tx));
    match started.await {
        Ok(Ok(())) => Ok(flashing),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(FlashError::Offline),
    }
}

/// Tells [`flash`] whether the device got as far as UpdateReady.
type Started = oneshot::Sender<Result<(), FlashError>>;

/// The update's own task. `reserved` comes first so the device is freed (on drop) only
/// after the outcome is reported and journaled, and before the link goes.
struct Task {
    reserved: Reserved,
    link: mpsc::Sender<Command>,
    file: Vec<u8>,
    user: String,
    firmware_binary_id: String,
}

impl Task {
    /// Begin, send the chunks and finish: the transfer, then its status events, logs and
    /// journal entry.
    async fn run(self, tx: Started) {
        let begun = Instant::now();
        let at = self.reserved.state.clock().now();
        let (result, tx) = self.send(tx).await;
        let started = tx.is_none();
        self.report(&result, tx);
        self.record(at, begun, &result, started);
    }

    /// The transfer itself, bounded by [`FLASH_TIMEOUT`]. Hands back `tx` unused when the
    /// device never got to UpdateReady, so [`Task::report`] can answer [`flash`] instead.
    async fn send(&self, tx: Started) -> (Result<Transferred, FlashError>, Option<Started>) {
        let (state, id, file) = (&self.reserved.state, self.reserved.id.as_str(), &self.file);
        let mut tx = Some(tx);
        let on_start = || {
            state.devices().flash_status(id, "started");
            tracing::info!("{id}: OTA update of {} bytes started", file.len());
            if let Some(tx) = tx.take() {
                let _ = tx.send(Ok(()));
            }
        };
        let result = tokio::time::timeout(FLASH_TIMEOUT, transfer(&self.link, file, on_start))
            .await
            .unwrap_or(Err(FlashError::TimedOut));
        (result, tx)
    }

    /// The `spark/flash/status` event and log line for the outcome; a refusal before the
    /// start goes back to [`flash`] instead of becoming an event.
    fn report(&self, result: &Result<Transferred, FlashError>, tx: Option<Started>) {
        let (state, id) = (&self.reserved.state, self.reserved.id.as_str());
        match (result, tx) {
            (Ok(t), _) => {
                state.devices().flash_status(id, "success");
                tracing::info!(
                    "{id}: OTA update done: {} bytes in {} chunks ({} resent)",
                    t.bytes,
                    t.chunks,
                    t.resent
                );
            }
            (Err(e), Some(tx)) => {
                tracing::info!("{id}: OTA update not started: {e}");
                let _ = tx.send(Err(e.clone()));
            }
            (Err(e), None) => {
                state.devices().flash_status(id, "failed");
                tracing::warn!("{id}: OTA update failed: {e}");
            }
        }
    }

    /// The journal entry; a failed update is noted with the whole file as what was meant
    /// to be sent.
    fn record(
        self,
        at: DateTime<Utc>,
        begun: Instant,
        result: &Result<Transferred, FlashError>,
        started: bool,
    ) {
        let (state, id) = (&self.reserved.state, self.reserved.id.as_str());
        let sent = result.as_ref().ok().cloned().unwrap_or(Transferred {
            bytes: self.file.len(),
            chunks: super::chunks(&self.file).len(),
            resent: 0,
        });
        state.journal().push(Entry {
            kind: EntryKind::Flash,
            at,
            method: "OTA".into(),
            path: format!("/v1/devices/{id}"),
            user: Some(self.user),
            status: if result.is_ok() { 200 } else { 0 },
            duration_ms: begun.elapsed().as_secs_f64() * 1000.0,
            error: result.as_ref().err().map(|e| match started {
                true => format!("failed after it started: {e}"),
                false => e.to_string(),
            }),
            flash: Some(FlashNote {
                device: id.to_string(),
                firmware_binary_id: self.firmware_binary_id,
                bytes: sent.bytes,
                chunks: sent.chunks,
                resent: sent.resent,
            }),
            ..Entry::default()
        });
    }
}
