//! The registry's part in an OTA update: one update at a time per device, the connection to
//! send it on, and the `spark/flash/status` events.

use tokio::sync::mpsc;

use super::Registry;
use crate::devices::flash::FlashError;
use crate::devices::types::{Command, DeviceError};

impl Registry {
    /// Reserves `id` for one OTA update and returns its connection's channel. Refused when
    /// the device is offline or already being flashed; [`Registry::end_flash`] frees it.
    pub fn begin_flash(&self, id: &str) -> Result<mpsc::Sender<Command>, FlashError> {
        let tx = self.sender(id).map_err(|e| match e {
            DeviceError::Offline => FlashError::Offline,
            other => FlashError::Device(other.to_string()),
        })?;
        if !self.flashing.lock().insert(id.to_string()) {
            return Err(FlashError::Busy);
        }
        self.notify();
        Ok(tx)
    }

    /// Frees a device reserved by [`Registry::begin_flash`].
    pub fn end_flash(&self, id: &str) {
        self.flashing.lock().remove(id);
        self.notify();
    }

    /// Whether an OTA update of `id` is in progress.
    pub fn is_flashing(&self, id: &str) -> bool {
        self.flashing.lock().contains(id)
    }

    /// Publishes `spark/flash/status` (`started`, `success` or `failed`) to the owner,
    /// privately, as the cloud does around an OTA update.
    pub fn flash_status(&self, id: &str, status: &str) {
        let owner = self.get(id).and_then(|d| d.owner);
        self.owner_event(id, owner, "spark/flash/status", status);
    }
}
