//! A minimal device server for the tests, written with the protocol crate:
//! the server handshake, framed reader/writer, the strict "+1" id check on
//! every non-ACK message from the device, and helpers to send requests.

#![allow(dead_code)]

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use spark_mock_protocol::io::{server_handshake, FrameReader, FrameWriter, DEFAULT_STEP_TIMEOUT};
use spark_mock_protocol::messages::Hello;
use spark_mock_protocol::{
    DeviceId, DeviceKey, IdChecker, Message, MessageType, Origin, Packet, RsaPublicKey, ServerKey,
    Token,
};
use spark_mock_sim::{ConnectOptions, ConnectionBehaviour};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpListener;

/// How long any single wait in a test may take before it fails.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// One 2048-bit server key per test binary, and the fixture device key
/// (spark/core-communication-lib's session fixture).
pub fn server_key() -> &'static ServerKey {
    static K: OnceLock<ServerKey> = OnceLock::new();
    K.get_or_init(|| ServerKey::generate(&mut rand::rngs::OsRng).expect("server key"))
}

/// The fixture's 1024-bit device key.
pub fn device_key() -> DeviceKey {
    static K: OnceLock<DeviceKey> = OnceLock::new();
    K.get_or_init(|| {
        let v: serde_json::Value = serde_json::from_str(include_str!(
            "../../../protocol/tests/data/core-comm-lib-vectors.json"
        ))
        .expect("vectors");
        let hex = v["session_fixture"]["device_private_key_der_pkcs1_1024"]
            .as_str()
            .expect("key hex");
        DeviceKey::from_der(&hex::decode(hex).expect("hex")).expect("device key")
    })
    .clone()
}

/// A fast connection behaviour for tests (short backoff).
pub fn quick() -> ConnectionBehaviour {
    ConnectionBehaviour {
        backoff_min: Duration::from_millis(10),
        backoff_max: Duration::from_millis(50),
        ..ConnectionBehaviour::default()
    }
}

/// A listening test server on 127.0.0.1, port 0.
pub struct TestServer {
    listener: TcpListener,
}

impl TestServer {
    pub async fn bind() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        Self { listener }
    }

    /// Options pointing devices at this server.
    pub fn options(&self) -> ConnectOptions {
        let addr = self.listener.local_addr().expect("addr");
        ConnectOptions::new(addr, server_key().public_key().clone())
    }

    /// Accepts one device: handshake (the device's key must be the fixture
    /// key), its Hello, and the server's Hello.
    pub async fn accept(&self) -> Conn {
        let (stream, _) = within(self.listener.accept()).await.expect("accept");
        let mut stream = stream;
        let expected = device_key().public_key().clone();
        let lookup = move |_: &DeviceId, appended: Option<&RsaPublicKey>| {
            if appended.is_some_and(|k| k != &expected) {
                return Err("appended key differs");
            }
            Ok(expected.clone())
        };
        let accepted = within(server_handshake(
            &mut stream,
            server_key(),
            lookup,
            DEFAULT_STEP_TIMEOUT,
        ))
        .await
        .expect("handshake");
        let (sealer, opener) = accepted.session.into_split();
        let (r, w) = stream.into_split();
        let mut conn = Conn {
            reader: FrameReader::new(r, opener, 4096),
            writer: FrameWriter::new(w, sealer),
            ids: IdChecker::new(),
            next_id: 0x7000,
            next_token: 0,
            device_id: accepted.device_id,
            appended_key: accepted.appended_key,
            hello: Hello::core(),
            hello_id: 0,
        };
        let hello = conn.recv().await;
        let Message::Hello(h) = hello.message else {
            panic!("expected Hello, got {hello:?}");
        };
        conn.hello = h;
        conn.hello_id = hello.message_id;
        conn.ids.hello(hello.message_id);
        conn.send_non(Message::ServerHello).await;
        conn
    }
}

/// The next event that `want` accepts.
pub async fn next_event(
    rx: &mut tokio::sync::broadcast::Receiver<spark_mock_sim::SimEvent>,
    want: impl Fn(&spark_mock_sim::SimEvent) -> bool,
) -> spark_mock_sim::SimEvent {
    loop {
        let e = within(rx.recv()).await.expect("event channel");
        if want(&e) {
            return e;
        }
    }
}

/// Fails the test instead of hanging.
pub async fn within<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(PATIENCE, f)
        .await
        .expect("timed out waiting")
}

/// One accepted device.
pub struct Conn {
    pub reader: FrameReader<OwnedReadHalf>,
    pub writer: FrameWriter<OwnedWriteHalf>,
    pub ids: IdChecker,
    next_id: u16,
    next_token: u8,
    pub device_id: DeviceId,
    pub appended_key: Option<RsaPublicKey>,
    pub hello: Hello,
    pub hello_id: u16,
}

impl Conn {
    /// The next packet from the device. Every non-ACK message after Hello
    /// must carry the previous id + 1, like spark-protocol checks.
    pub async fn recv(&mut self) -> Packet {
        let p = within(self.reader.read_packet(Origin::Device))
            .await
            .expect("read")
            .expect("the device closed the connection");
        if p.mtype != MessageType::Acknowledgement && self.ids.expected().is_some() {
            if let Err(e) = self.ids.check(p.message_id) {
                panic!("Bad Counter: {e} on {p:?}");
            }
        }
        p
    }

    /// Whether the device closed the connection (clean EOF) before sending
    /// anything else.
    pub async fn closed(&mut self) -> bool {
        matches!(
            within(self.reader.read_packet(Origin::Device)).await,
            Ok(None) | Err(_)
        )
    }

    /// Sends a CON request with a fresh id and token; returns the packet.
    pub async fn request(&mut self, message: Message) -> Packet {
        self.next_token = self.next_token.wrapping_add(1);
        let p = Packet::new(message, self.next_id(), Token::byte(self.next_token));
        self.writer.write_packet(&p).await.expect("write");
        p
    }

    /// Sends a NON message (server Hello, event) with a fresh id.
    pub async fn send_non(&mut self, message: Message) {
        self.next_token = self.next_token.wrapping_add(1);
        let mut p = Packet::new(message, self.next_id(), Token::byte(self.next_token));
        p.mtype = MessageType::NonConfirmable;
        self.writer.write_packet(&p).await.expect("write");
    }

    /// Writes a packet as is.
    pub async fn write(&mut self, p: &Packet) {
        self.writer.write_packet(p).await.expect("write");
    }

    fn next_id(&mut self) -> u16 {
        self.next_id = self.next_id.wrapping_add(1);
        self.next_id
    }
}

/// Captures `tracing` output of the current thread (current-thread tests).
#[derive(Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    pub fn install(&self) -> tracing::subscriber::DefaultGuard {
        let sink = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || sink.clone())
            .with_ansi(false)
            .with_max_level(tracing::Level::DEBUG)
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log lock")).into_owned()
    }
}

impl Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log lock").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
