//! The records and messages of the device registry.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use spark_mock_protocol::messages::{Chunk, Response, UpdateParams};
pub use spark_mock_protocol::messages::{VarType, VarValue};
use tokio::sync::{mpsc, oneshot};

/// What a device said about itself in its Hello.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HelloInfo {
    pub product_id: u16,
    pub firmware_version: u16,
    pub platform_id: u16,
}

/// Everything the cloud knows about a device.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct DeviceInfo {
    /// 24 lowercase hex characters.
    pub id: String,
    pub name: Option<String>,
    /// The owner's username, if claimed.
    pub owner: Option<String>,
    /// The device's RSA public key, PEM.
    pub public_key_pem: Option<String>,
    pub platform_id: u16,
    pub product_id: u16,
    pub firmware_version: u16,
    pub online: bool,
    pub last_heard: Option<DateTime<Utc>>,
    pub last_handshake_at: Option<DateTime<Utc>>,
    pub last_ip_address: Option<String>,
    /// From the last Describe.
    pub functions: Vec<String>,
    pub variables: BTreeMap<String, VarType>,
    pub notes: Option<String>,
    pub signaling: bool,
}

impl DeviceInfo {
    pub fn new(id: &str) -> Self {
        DeviceInfo {
            id: id.to_ascii_lowercase(),
            name: None,
            owner: None,
            public_key_pem: None,
            platform_id: 0,
            product_id: 0,
            firmware_version: 0,
            online: false,
            last_heard: None,
            last_handshake_at: None,
            last_ip_address: None,
            functions: vec![],
            variables: BTreeMap::new(),
            notes: None,
            signaling: false,
        }
    }
}

/// Why a device request failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    #[error("device is offline")]
    Offline,
    #[error("timed out")]
    TimedOut,
    #[error("function not found")]
    UnknownFunction,
    #[error("variable not found")]
    UnknownVariable,
    #[error("the device returned an error: {0}")]
    Device(String),
}

/// A request from the API to a connected device's task. Each carries its reply channel.
#[derive(Debug)]
pub enum Command {
    CallFunction {
        name: String,
        arg: String,
        reply: oneshot::Sender<Result<i32, DeviceError>>,
    },
    GetVariable {
        name: String,
        reply: oneshot::Sender<Result<VarValue, DeviceError>>,
    },
    Signal {
        on: bool,
        reply: oneshot::Sender<Result<(), DeviceError>>,
    },
    /// Ask the device for a fresh Describe.
    Describe {
        reply: oneshot::Sender<Result<(), DeviceError>>,
    },
    /// One step of an OTA update (see [`crate::devices::flash`]): the device's answer comes
    /// back as it is, so the transfer can tell a good chunk from a bad one.
    Ota {
        step: OtaStep,
        reply: oneshot::Sender<Result<Response, DeviceError>>,
    },
    /// Close the connection (a newer connection of the same device took over, or a fault).
    Disconnect,
}

/// The messages of an OTA update the server sends.
#[derive(Debug)]
pub enum OtaStep {
    /// UpdateBegin; the connection forwards the device's ChunkMissed indices to `missed`
    /// until the next UpdateBegin or the end of the connection.
    Begin {
        params: UpdateParams,
        missed: mpsc::Sender<u16>,
    },
    Chunk(Chunk),
    Done,
}

/// Valid device ids are 24 hex characters.
pub fn is_device_id(s: &str) -> bool {
    s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit())
}
