//! The Spark Core device protocol (TCP port 5683), shared by the spark-mock
//! server's device port and the simulated devices.
//!
//! Everything here is sans-IO: values in, values out, no sockets and no
//! clocks, so the server and the simulator drive it from their own tasks and
//! tests can replay the Core's byte-exact vectors. The optional `tokio`
//! feature adds a thin async layer (`io`).
//!
//! Layout, in the order a connection uses it:
//!
//! - [`keys`]: the server's RSA-2048 key and a device's RSA-1024 key: generate,
//!   load/save PEM or DER (PKCS#1 / PKCS#8), public keys as DER SPKI or PEM.
//! - [`handshake`]: nonce, the device's 256-byte message, the server's
//!   384-byte reply, as pure functions for each side.
//! - [`device_id`]: the 12-byte id and its 24-hex form.
//! - [`session`]: AES-128-CBC with PKCS#7 and the per-direction IV rule
//!   (next IV = first 16 bytes of the previous ciphertext); [`Session`]
//!   splits into a [`session::Sealer`] (which seals into frames) and an
//!   [`session::Opener`].
//! - [`frame`]: the 2-byte length prefix, the AES block size every frame's
//!   ciphertext is made of, and an incremental decoder that rejects zero,
//!   non-block-multiple and oversize lengths. It depends on nothing above.
//! - [`coap`]: CoAP encode/decode (extended option lengths, tokens, ids).
//! - [`messages`]: the typed catalogue (Hello, Describe, functions,
//!   variables, events, subscriptions, ping, time, signal, key change, OTA)
//!   and reply builders, wrapped in a [`Packet`].
//! - [`counters`]: message-id and token counters seeded from the session
//!   salt, and the server's strict "+1" message-id check.
//! - `io` (feature `tokio`): async handshakes with per-step timeouts and a
//!   split framed reader/writer.
//!
//! Quirks tolerated on input: tokens on empty ACKs, 4.00 ACKs to events,
//! function arguments split on `&` into several Uri-Query options, and a
//! CoAP payload marker with no payload.

pub mod coap;
pub mod counters;
pub mod device_id;
pub mod frame;
pub mod handshake;
#[cfg(feature = "tokio")]
pub mod io;
pub mod keys;
pub mod messages;
pub mod session;

#[cfg(test)]
mod tests;

pub use coap::{CoapMessage, Code, MessageType, Token};
pub use counters::{IdChecker, MessageIdCounter, TokenCounter};
pub use device_id::DeviceId;
pub use frame::FrameDecoder;
pub use keys::{DeviceKey, RsaPublicKey, ServerKey};
pub use messages::{Message, Origin, Packet};
pub use session::{Session, SessionKeys};

/// Any error of this crate, for callers that do not care which layer failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Loading, generating or encoding a key.
    #[error(transparent)]
    Key(#[from] keys::KeyError),
    /// A handshake step.
    #[error(transparent)]
    Handshake(#[from] handshake::HandshakeError),
    /// Encryption or decryption.
    #[error(transparent)]
    Session(#[from] session::SessionError),
    /// A bad frame length.
    #[error(transparent)]
    Frame(#[from] frame::FrameError),
    /// Malformed CoAP.
    #[error(transparent)]
    Coap(#[from] coap::CoapError),
    /// CoAP that is not the message it claims.
    #[error(transparent)]
    Message(#[from] messages::MessageError),
    /// A bad device id string.
    #[error(transparent)]
    DeviceId(#[from] device_id::DeviceIdError),
}
