//! The commands the registry sends a connected device (call, read, signal, describe,
//! disconnect): clone its channel under the lock, send the command, and await the answer
//! after releasing it, bounded by a timeout.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::Registry;
use crate::devices::types::{Command, DeviceError, VarValue};

impl Registry {
    pub(super) fn sender(&self, id: &str) -> Result<mpsc::Sender<Command>, DeviceError> {
        self.devices
            .read()
            .get(id)
            .and_then(|e| e.conn.as_ref().map(|c| c.tx.clone()))
            .ok_or(DeviceError::Offline)
    }

    /// Sends a command built around a reply channel and waits up to `timeout` for the answer.
    async fn request<T>(
        &self,
        id: &str,
        timeout: Duration,
        make: impl FnOnce(oneshot::Sender<Result<T, DeviceError>>) -> Command,
    ) -> Result<T, DeviceError> {
        let tx = self.sender(id)?;
        let (reply, rx) = oneshot::channel();
        let exchange = async move {
            tx.send(make(reply))
                .await
                .map_err(|_| DeviceError::Offline)?;
            // The connection dropped the reply: it closed mid-request.
            rx.await.unwrap_or(Err(DeviceError::Offline))
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or(Err(DeviceError::TimedOut))
    }

    pub async fn call_function(
        &self,
        id: &str,
        name: &str,
        arg: &str,
        timeout: Duration,
    ) -> Result<i32, DeviceError> {
        let (name, arg) = (name.to_string(), arg.to_string());
        self.request(id, timeout, |reply| Command::CallFunction {
            name,
            arg,
            reply,
        })
        .await
    }

    pub async fn get_variable(
        &self,
        id: &str,
        name: &str,
        timeout: Duration,
    ) -> Result<VarValue, DeviceError> {
        let name = name.to_string();
        self.request(id, timeout, |reply| Command::GetVariable { name, reply })
            .await
    }

    pub async fn signal(&self, id: &str, on: bool, timeout: Duration) -> Result<(), DeviceError> {
        let result = self
            .request(id, timeout, |reply| Command::Signal { on, reply })
            .await;
        if result.is_ok() {
            self.update(id, |d| d.signaling = on);
        }
        result
    }

    pub async fn describe(&self, id: &str, timeout: Duration) -> Result<(), DeviceError> {
        self.request(id, timeout, |reply| Command::Describe { reply })
            .await
    }

    /// Closes a device's live connection, if any.
    pub fn disconnect(&self, id: &str) -> bool {
        match self.sender(id) {
            Ok(tx) => tx.try_send(Command::Disconnect).is_ok(),
            Err(_) => false,
        }
    }
}
