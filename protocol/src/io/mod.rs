//! Async helpers over tokio streams (feature `tokio`): both handshakes with
//! per-step timeouts, and a split framed reader/writer.
//!
//! RSA work runs inline on the calling task; it is a few milliseconds per
//! handshake in release builds.

mod framed;

pub use framed::{split, FrameReader, FrameWriter};

use std::error::Error as StdError;
use std::future::Future;
use std::time::Duration;

use rand::rngs::OsRng;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::device_id::DeviceId;
use crate::handshake::{self, HandshakeError, DEVICE_MESSAGE_LEN, NONCE_LEN, SERVER_REPLY_LEN};
use crate::keys::{DeviceKey, RsaPublicKey, ServerKey};
use crate::session::Session;

/// Per-step handshake timeout of the original server (it also caps the
/// whole handshake at 120 s, which four 30 s steps cannot exceed).
pub const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// Why an async operation failed.
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    /// The socket failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A handshake step took longer than its timeout.
    #[error("timed out {0}")]
    Timeout(&'static str),
    /// The peer closed the connection mid-message.
    #[error("connection closed")]
    Closed,
    /// The server's key lookup refused the device.
    #[error("device rejected: {0}")]
    Rejected(#[source] Box<dyn StdError + Send + Sync>),
    /// A handshake check failed.
    #[error(transparent)]
    Handshake(#[from] HandshakeError),
    /// A frame, ciphertext or message was bad.
    #[error(transparent)]
    Protocol(#[from] crate::Error),
}

/// What the server knows once the handshake succeeded.
#[derive(Debug)]
pub struct Accepted {
    /// The device id.
    pub device_id: DeviceId,
    /// The key the device appended (Photon style), if any.
    pub appended_key: Option<RsaPublicKey>,
    /// The session; the device's Hello is the first frame to read.
    pub session: Session,
}

async fn step<T, F>(timeout: Duration, what: &'static str, fut: F) -> Result<T, IoError>
where
    F: Future<Output = std::io::Result<T>>,
{
    match tokio::time::timeout(timeout, fut).await {
        Err(_) => Err(IoError::Timeout(what)),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(IoError::Closed),
        Ok(r) => Ok(r?),
    }
}

/// Server side of the handshake. `lookup` gets the device id and any
/// appended key and returns the device public key to use, or an error to
/// refuse the device (the original server closes the connection when
/// `core_keys/<id>.pub.pem` is missing; Brewskey requires the appended key
/// to equal the stored one — both are the caller's policy).
pub async fn server_handshake<S, F, E>(
    stream: &mut S,
    server_key: &ServerKey,
    lookup: F,
    step_timeout: Duration,
) -> Result<Accepted, IoError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&DeviceId, Option<&RsaPublicKey>) -> Result<RsaPublicKey, E>,
    E: Into<Box<dyn StdError + Send + Sync>>,
{
    let nonce = handshake::make_nonce(&mut OsRng);
    step(step_timeout, "sending the nonce", stream.write_all(&nonce)).await?;
    let mut msg = [0u8; DEVICE_MESSAGE_LEN];
    step(
        step_timeout,
        "reading the device's handshake message",
        stream.read_exact(&mut msg),
    )
    .await?;
    let intro = handshake::open_device_message(&mut OsRng, server_key, &nonce, &msg)?;
    let device_public = lookup(&intro.device_id, intro.public_key.as_ref())
        .map_err(|e| IoError::Rejected(e.into()))?;
    let (reply, keys) = handshake::build_server_reply(&mut OsRng, server_key, &device_public)?;
    step(
        step_timeout,
        "sending the session key",
        stream.write_all(&reply),
    )
    .await?;
    step(step_timeout, "flushing the session key", stream.flush()).await?;
    Ok(Accepted {
        device_id: intro.device_id,
        appended_key: intro.public_key,
        session: Session::new(keys),
    })
}

/// Device side of the handshake. With `append_key` the device appends its
/// public key like Photon firmware (the Brewskey server requires it). The
/// next step is to send Hello with `session.keys().device_message_ids()`.
pub async fn device_handshake<S>(
    stream: &mut S,
    device_key: &DeviceKey,
    server_public: &RsaPublicKey,
    device_id: &DeviceId,
    append_key: bool,
    step_timeout: Duration,
) -> Result<Session, IoError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut nonce = [0u8; NONCE_LEN];
    step(
        step_timeout,
        "reading the nonce",
        stream.read_exact(&mut nonce),
    )
    .await?;
    let appended = append_key.then(|| device_key.public_key());
    let msg =
        handshake::build_device_message(&mut OsRng, server_public, &nonce, device_id, appended)?;
    step(
        step_timeout,
        "sending the handshake message",
        stream.write_all(&msg),
    )
    .await?;
    step(
        step_timeout,
        "flushing the handshake message",
        stream.flush(),
    )
    .await?;
    let mut reply = [0u8; SERVER_REPLY_LEN];
    step(
        step_timeout,
        "reading the session key",
        stream.read_exact(&mut reply),
    )
    .await?;
    let keys = handshake::open_server_reply(device_key, server_public, &reply)?;
    Ok(Session::new(keys))
}
