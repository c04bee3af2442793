//! The device port against in-test Cores (built from the protocol crate) over real TCP on
//! 127.0.0.1:0: handshake and provisioning, the session rules, requests through the
//! registry, events both ways, OTA updates, the connection cap, isolation of misbehaving
//! connections, and the HTTP routes that provision devices. One binary, so the RSA keys are
//! generated once.

mod calls;
mod cap;
mod device;
mod events;
mod handshake;
mod http;
mod ota;
mod robustness;
mod session;
mod support;
