//! Injected device faults, applied before a call or read reaches the device: `offline`
//! fails at once, `no_answer` waits out the timeout, `latency` waits and leaves the rest of
//! the timeout for the device.

use std::time::Duration;

use super::DeviceCalls;
use crate::devices::types::DeviceError;
use crate::faults::DeviceFault;
use crate::journal::NoteSlot;

impl DeviceCalls<'_> {
    /// Applies the device faults in force for `id`, noting the first in the journal. Returns
    /// how long the request may still wait for the device, or the error a fault causes.
    pub(super) async fn apply_faults(
        &self,
        id: &str,
        note: &NoteSlot,
    ) -> Result<Duration, DeviceError> {
        let faults = self.faults.for_device(id, self.clock.now());
        if let Some(f) = faults.first() {
            note.update(|n| n.fault = Some(format!("device {id}: {f:?}")));
        }
        let mut remaining = self.timeout;
        for f in faults {
            match f {
                DeviceFault::Offline => return Err(DeviceError::Offline),
                DeviceFault::NoAnswer => {
                    tokio::time::sleep(self.timeout).await;
                    return Err(DeviceError::TimedOut);
                }
                DeviceFault::Latency { ms } => {
                    let wait = Duration::from_millis(ms).min(remaining);
                    tokio::time::sleep(wait).await;
                    remaining = remaining.saturating_sub(wait);
                    if remaining.is_zero() {
                        return Err(DeviceError::TimedOut);
                    }
                }
                DeviceFault::Drop | DeviceFault::RefuseReconnect { .. } => {}
            }
        }
        Ok(remaining)
    }
}
