//! One device connection's life: the RSA handshake (with the key from the registry, or the
//! key a Photon-style device appends when auto-provisioning is on), the device's Hello,
//! registration with the registry, the live session (`live`), and deregistration.
//!
//! Every failure ends only this connection; nothing here waits on another connection.

use std::net::SocketAddr;
use std::sync::Arc;

use spark_mock_protocol::io::{self, FrameReader, FrameWriter};
use spark_mock_protocol::keys::{check_bits, KeyError, DEVICE_KEY_BITS};
use spark_mock_protocol::messages::Hello;
use spark_mock_protocol::{DeviceId, Message, Origin, Packet, RsaPublicKey, ServerKey};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, OwnedSemaphorePermit};

use crate::devices::keys::{device_key_pem, parse_device_key};
use crate::devices::live::{End, Live};
use crate::devices::outbox::Outbox;
pub use crate::devices::settings::{ConnectionError, Settings};
use crate::devices::types::HelloInfo;
use crate::state::AppState;

/// Commands the registry may queue for one connection before senders wait.
const COMMAND_QUEUE: usize = 32;
/// Packets queued for the writer before the device counts as not reading.
const WRITE_QUEUE: usize = 64;

/// Why the handshake refused a device.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("unknown device {0}: no public key is provisioned")]
    Unknown(String),
    #[error("the stored key of {0} is unusable: {1}")]
    BadStoredKey(String, #[source] KeyError),
    #[error("the key {0} appended is unusable: {1}")]
    BadAppendedKey(String, #[source] KeyError),
    #[error("device {0} is refused by an injected fault")]
    Fault(String),
}

/// A device past the handshake and its Hello.
struct Established {
    id: String,
    reader: FrameReader<OwnedReadHalf>,
    writer: FrameWriter<OwnedWriteHalf>,
    hello: Hello,
    hello_id: u16,
    /// A key the device appended and auto-provisioning accepted; stored once Hello proved
    /// the device holds the private half.
    new_key: Option<RsaPublicKey>,
}

/// Serves one accepted TCP connection until it ends or the server shuts down. `_slot` is
/// its place under the port's connection cap, given back when this returns.
pub async fn handle(
    stream: TcpStream,
    remote: SocketAddr,
    state: AppState,
    key: Arc<ServerKey>,
    _slot: OwnedSemaphorePermit,
) {
    let settings = Settings::from_config(state.config());
    let _ = stream.set_nodelay(true);
    let est = tokio::select! {
        r = establish(stream, &state, &key, &settings) => r,
        () = state.shutdown().wait() => return,
    };
    let est = match est {
        Ok(est) => est,
        Err(e) => {
            tracing::info!("device connection from {remote} refused: {e}");
            return;
        }
    };
    let id = est.id.clone();
    let registry = state.devices();
    if let Some(k) = &est.new_key {
        match device_key_pem(k) {
            Ok(pem) => {
                registry.provision(&id, &pem);
                tracing::info!("{id}: auto-provisioned with the key it appended");
            }
            Err(e) => tracing::warn!("{id}: cannot store the appended key: {e}"),
        }
    }
    let platform_id = est.hello.platform.as_ref().map_or(0, |p| p.platform_id);
    let info = HelloInfo {
        product_id: est.hello.product_id,
        firmware_version: est.hello.firmware_version,
        platform_id,
    };
    let (tx, commands) = mpsc::channel(COMMAND_QUEUE);
    let outbox = Outbox::spawn(est.writer, WRITE_QUEUE, settings.write_timeout, id.clone());
    let conn_id = registry.connected(&id, remote, &info, tx);
    tracing::info!("{id} online from {remote} (platform {platform_id})");
    let live = Live::new(
        &id,
        &state,
        &settings,
        outbox,
        est.hello_id,
        conn_id,
        platform_id,
    );
    let end = live.run(est.reader, commands).await;
    match end {
        Ok(End::Closed) => tracing::info!("{id} offline: the device closed the connection"),
        Ok(End::Replaced) => tracing::info!("{id} offline: disconnected by the server"),
        Ok(End::Shutdown) => tracing::info!("{id} offline: the server is shutting down"),
        Err(e) => tracing::warn!("{id} offline: {e}"),
    }
}

/// The handshake and the Hello.
async fn establish(
    mut stream: TcpStream,
    state: &AppState,
    key: &ServerKey,
    settings: &Settings,
) -> Result<Established, ConnectionError> {
    let mut new_key = None;
    let lookup = |id: &DeviceId, appended: Option<&RsaPublicKey>| {
        lookup_key(state, id, appended, &mut new_key)
    };
    let accepted = io::server_handshake(&mut stream, key, lookup, settings.handshake_timeout)
        .await
        .map_err(ConnectionError::Handshake)?;
    let id = accepted.device_id.to_hex();
    let (r, w) = stream.into_split();
    let (sealer, opener) = accepted.session.into_split();
    let mut reader = FrameReader::new(r, opener, settings.max_frame);
    let writer = FrameWriter::new(w, sealer);
    let first = tokio::time::timeout(settings.handshake_timeout, reader.read_coap())
        .await
        .map_err(|_| ConnectionError::HelloTimeout(settings.handshake_timeout))??
        .ok_or(ConnectionError::ClosedBeforeHello)?;
    let hello = match Packet::from_coap(&first, Origin::Device) {
        Ok(Packet {
            message: Message::Hello(h),
            ..
        }) => h,
        Ok(p) => return Err(ConnectionError::NotHello(format!("{:?}", p.message))),
        Err(e) => return Err(ConnectionError::NotHello(e.to_string())),
    };
    Ok(Established {
        id,
        reader,
        writer,
        hello,
        hello_id: first.message_id,
        new_key,
    })
}

/// The device key to finish the handshake with: the provisioned one, else (with
/// auto-provisioning) the one the device appended. Unknown devices are refused, as the real
/// cloud and spark-server do.
fn lookup_key(
    state: &AppState,
    id: &DeviceId,
    appended: Option<&RsaPublicKey>,
    new_key: &mut Option<RsaPublicKey>,
) -> Result<RsaPublicKey, Refusal> {
    let hex = id.to_hex();
    if state.faults().refuses(&hex, state.clock().now()) {
        return Err(Refusal::Fault(hex));
    }
    if let Some(pem) = state.devices().public_key(&hex) {
        let stored = parse_device_key(&pem).map_err(|e| Refusal::BadStoredKey(hex.clone(), e))?;
        if appended.is_some_and(|a| *a != stored) {
            // The stored key wins; the device will fail to open the session key.
            tracing::warn!("{hex} appended a key that differs from its provisioned one");
        }
        return Ok(stored);
    }
    match appended {
        Some(k) if state.config().auto_provision => {
            check_bits(k, DEVICE_KEY_BITS).map_err(|e| Refusal::BadAppendedKey(hex, e))?;
            *new_key = Some(k.clone());
            Ok(k.clone())
        }
        _ => Err(Refusal::Unknown(hex)),
    }
}
