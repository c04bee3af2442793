//! What a session borrows from its device ([`Ctx`]) and how it ends ([`Ended`],
//! [`SessionError`]): shared by the session loop and the connection it drives, kept apart
//! so `conn` does not import `session`.

use std::time::Duration;

use spark_mock_protocol::io::IoError;
use spark_mock_protocol::DeviceKey;

use crate::device::ConnectOptions;
use crate::handle::Reporter;
use crate::spec::DeviceSpec;

/// Why a session ended without an error.
pub(crate) enum Ended {
    Shutdown,
    Dropped,
    Offline(Duration),
    /// After an OTA update: with the new definitions when the file was a fragment for
    /// this device.
    Reboot(Option<std::sync::Arc<crate::spec::Definitions>>),
}

/// Why a session failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SessionError {
    #[error("connecting to {0}: {1}")]
    Connect(std::net::SocketAddr, String),
    #[error("{0}")]
    Io(#[from] IoError),
    #[error("the server closed the connection")]
    Closed,
    #[error("no answer to a ping")]
    PingTimeout,
    #[error("function argument of {0} bytes (a Core drops the connection)")]
    LongArgument(usize),
}

/// What a session borrows from its device.
pub(crate) struct Ctx<'a> {
    pub spec: &'a DeviceSpec,
    pub opts: &'a ConnectOptions,
    pub key: &'a DeviceKey,
    pub rep: &'a Reporter,
    pub label: &'a str,
}
