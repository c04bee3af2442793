//! Devices: the registry (who exists, who owns them, who is online, what they expose) and
//! the commands the API sends to a connected device. Plain Rust; the TCP device port and the
//! HTTP routes sit on top of it.

pub mod registry;
pub mod types;

pub use registry::Registry;
pub use types::{Command, DeviceError, DeviceInfo, HelloInfo, VarType, VarValue};
