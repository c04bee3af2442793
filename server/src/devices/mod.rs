//! Devices: the registry (who exists, who owns them, who is online, what they expose), a
//! call to a device from start to answer, and the device port that speaks the Spark Core
//! protocol to real or simulated devices.
//!
//! - [`registry`], [`types`]: plain Rust, no I/O.
//! - [`call`]: one function call or variable read, for the API and the console alike: name
//!   lookup, argument limit, faults, timeout, typed errors. Plain Rust, no HTTP.
//! - [`port`]: the TCP accept loop, one task per connection.
//! - [`connection`]: one connection: handshake, Hello, registration, teardown.
//! - `live`: the session loop after Hello; `inbound`: what the device sends; `pending`:
//!   requests awaiting an answer; `subscriptions`: which bus events a device receives;
//!   `outbox`: the bounded writer.
//! - [`flash`]: one OTA update (chunks, CRC, retransmits, timeout), plain Rust over a
//!   connection's command channel, with its events and journal entry.
//! - [`keys`]: the server key file and device key parsing.

pub mod call;
pub mod connection;
pub mod flash;
mod inbound;
pub mod keys;
mod live;
mod outbox;
mod pending;
pub mod port;
pub mod registry;
mod settings;
mod subscriptions;
pub mod types;

pub use call::{variable_json, variable_text, CallError, Caller, DeviceCalls};
pub use port::{serve_devices, DevicePortError};
pub use registry::Registry;
pub use subscriptions::SubscriptionView;
pub use types::{Command, DeviceError, DeviceInfo, HelloInfo, VarType, VarValue};
