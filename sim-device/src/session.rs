//! One TCP connection: connect, handshake, Hello, then a single loop that
//! reads the server's messages and wakes for timers (keepalive ping, ping
//! timeout, publishes, delayed answers, drop / offline). The answers
//! themselves are in `requests`.
//!
//! Message ids are drawn only when a message is written, so delayed answers
//! never break the server's strict "+1" rule.

use std::time::Duration;

use spark_mock_protocol::coap::Code;
use spark_mock_protocol::frame::CORE_MAX_FRAME_LEN;
use spark_mock_protocol::io::{device_handshake, FrameReader, FrameWriter, IoError};
use spark_mock_protocol::messages::{hello_flags, Event, Hello, Subscribe};
use spark_mock_protocol::{
    DeviceKey, Message, MessageIdCounter, Origin, Packet, Token, TokenCounter,
};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::device::{Backoff, ConnectOptions};
use crate::handle::{DeviceState, Reporter, SimEvent};
use crate::model::Model;
use crate::spec::{DeviceSpec, Mode, Scope};

/// Photon-mode frame limit (Device OS raised the Core's 640).
const PHOTON_MAX_FRAME_LEN: usize = 1024;

/// Why a session ended without an error.
pub(crate) enum Ended {
    Shutdown,
    Dropped,
    Offline(Duration),
    Reboot,
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

/// A reply waiting for its time.
pub(crate) enum Outgoing {
    /// Piggy-backed: carries the request's id.
    Ack(Packet),
    /// Separate (NON): takes the next id when sent.
    Separate { token: Token, code: Code, payload: Vec<u8> },
}

/// A live session's state.
pub(crate) struct Conn<'c, 'a> {
    pub ctx: &'c Ctx<'a>,
    pub model: &'c mut Model,
    pub writer: FrameWriter<OwnedWriteHalf>,
    pub ids: MessageIdCounter,
    pub tokens: TokenCounter,
    pub last_rx: Instant,
    pub ping_deadline: Option<Instant>,
    pub publish_due: Vec<Instant>,
    pub pending: Vec<(Instant, Outgoing)>,
    pub time_token: Option<Token>,
    pub ota_bytes: usize,
}

pub(crate) async fn run(
    ctx: &Ctx<'_>,
    model: &mut Model,
    backoff: &mut Backoff,
    ota_done: bool,
) -> Result<Ended, SessionError> {
    let opts = ctx.opts;
    let photon = ctx.spec.mode == Mode::Photon;
    let (stream, session) = {
        let _permit = match &opts.handshake_limit {
            Some(s) => Some(s.acquire().await.map_err(|_| SessionError::Closed)?),
            None => None,
        };
        let addr = opts.device_server;
        let connect = tokio::time::timeout(opts.step_timeout, TcpStream::connect(addr));
        let mut stream = match connect.await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return Err(SessionError::Connect(addr, e.to_string())),
            Err(_) => return Err(SessionError::Connect(addr, "timed out".into())),
        };
        let _ = stream.set_nodelay(true);
        let session = device_handshake(
            &mut stream,
            ctx.key,
            &opts.server_key,
            &ctx.spec.id,
            photon,
            opts.step_timeout,
        )
        .await?;
        (stream, session)
    };
    let keys = session.keys().clone();
    let (sealer, opener) = session.into_split();
    let (r, w) = stream.into_split();
    let max = if photon { PHOTON_MAX_FRAME_LEN } else { CORE_MAX_FRAME_LEN };
    let mut reader = FrameReader::new(r, opener, max);
    let now = Instant::now();
    let behaviour = &ctx.spec.connection;
    let mut conn = Conn {
        ctx,
        model,
        writer: FrameWriter::new(w, sealer),
        // Device OS reads the salt little-endian; the Core big-endian.
        ids: if photon {
            MessageIdCounter::from_salt_le(&keys.salt)
        } else {
            keys.device_message_ids()
        },
        tokens: keys.device_tokens(),
        last_rx: now,
        ping_deadline: None,
        publish_due: (ctx.spec.defs.publishes.iter()).map(|p| now + p.interval).collect(),
        pending: Vec::new(),
        time_token: None,
        ota_bytes: 0,
    };
    conn.hello(photon, ota_done).await?;
    backoff.reset();
    ctx.rep.state(DeviceState::Online);
    let session = ctx.rep.sessions();
    if opts.quiet {
        tracing::debug!(device = %ctx.label, session, "online");
    } else {
        tracing::info!(device = %ctx.label, session, "online");
    }
    ctx.rep.emit(SimEvent::Online { session });
    conn.after_hello().await?;
    let drop_at = behaviour.drop_after.map(|d| now + d);
    let offline_at = behaviour.offline_after.map(|d| now + d);
    loop {
        let wake = [drop_at, offline_at, Some(conn.next_timer())]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(now);
        tokio::select! {
            read = reader.read_packet(Origin::Server) => match read {
                Ok(Some(packet)) => {
                    conn.last_rx = Instant::now();
                    conn.ping_deadline = None;
                    if let Some(ended) = conn.handle(packet).await? {
                        return Ok(ended);
                    }
                }
                Ok(None) => return Err(SessionError::Closed),
                Err(IoError::Protocol(e @ (spark_mock_protocol::Error::Message(_)
                    | spark_mock_protocol::Error::Coap(_)))) => {
                    tracing::debug!(device = %ctx.label, "ignoring a malformed message: {e}");
                }
                Err(e) => return Err(e.into()),
            },
            () = tokio::time::sleep_until(wake) => {
                let now = Instant::now();
                if drop_at.is_some_and(|t| now >= t) {
                    return Ok(Ended::Dropped);
                }
                if offline_at.is_some_and(|t| now >= t) {
                    return Ok(Ended::Offline(behaviour.offline_for));
                }
                conn.on_timer(now).await?;
            }
        }
    }
}

impl Conn<'_, '_> {
    /// Writes an originated message with the next message id.
    pub(crate) async fn originate(&mut self, message: Message, token: Token) -> Result<(), IoError> {
        let packet = Packet::new(message, self.ids.next_id(), token);
        self.writer.write_packet(&packet).await
    }

    async fn hello(&mut self, photon: bool, ota_done: bool) -> Result<(), IoError> {
        let mut hello = if photon {
            Hello::photon(self.ctx.spec.id.as_bytes())
        } else {
            Hello::core()
        };
        if ota_done {
            hello.flags |= hello_flags::OTA_SUCCEEDED;
        }
        self.originate(Message::Hello(hello), Token::EMPTY).await
    }

    /// Time request and subscriptions, right after Hello like a Core.
    async fn after_hello(&mut self) -> Result<(), IoError> {
        if self.ctx.spec.connection.time_sync {
            let token = Token::byte(self.tokens.next_token());
            self.time_token = Some(token);
            self.originate(Message::TimeRequest, token).await?;
        }
        let defs = std::sync::Arc::clone(&self.ctx.spec.defs);
        for s in &defs.subscriptions {
            let sub = match s.scope {
                Scope::All => Subscribe::all(s.prefix.clone()),
                Scope::Mine => Subscribe::my_devices(s.prefix.clone()),
            };
            self.originate(Message::Subscribe(sub), Token::EMPTY).await?;
        }
        Ok(())
    }

    fn next_timer(&self) -> Instant {
        let keepalive = self.ctx.spec.connection.keepalive;
        let ping = self.ping_deadline.unwrap_or(self.last_rx + keepalive);
        let publish = self.publish_due.iter().min().copied();
        let pending = self.pending.iter().map(|(t, _)| *t).min();
        [Some(ping), publish, pending].into_iter().flatten().min().unwrap_or(ping)
    }

    async fn on_timer(&mut self, now: Instant) -> Result<(), SessionError> {
        let c = &self.ctx.spec.connection;
        match self.ping_deadline {
            Some(deadline) if now >= deadline => return Err(SessionError::PingTimeout),
            None if now >= self.last_rx + c.keepalive => {
                self.ping_deadline = Some(now + c.ping_timeout);
                self.originate(Message::Ping, Token::EMPTY).await?;
            }
            _ => {}
        }
        self.flush_pending(now).await?;
        let defs = std::sync::Arc::clone(&self.ctx.spec.defs);
        for (i, p) in defs.publishes.iter().enumerate() {
            if now < self.publish_due[i] {
                continue;
            }
            self.publish_due[i] = (self.publish_due[i] + p.interval).max(now);
            let id = self.ctx.spec.id.to_hex();
            let name = self.ctx.spec.name.as_deref().unwrap_or("");
            let mut data = self.model.render(&p.data, &id, name).into_bytes();
            let max = if self.ctx.spec.mode == Mode::Photon { 622 } else { 63 };
            data.truncate(max);
            let text = String::from_utf8_lossy(&data).into_owned();
            let event = Event {
                name: p.name.clone(),
                private: p.private,
                ttl: p.ttl,
                data,
            };
            self.originate(Message::Publish(event), Token::EMPTY).await?;
            tracing::debug!(device = %self.ctx.label, "published {} {text:?}", p.name);
            (self.ctx.rep).emit(SimEvent::Published { name: p.name.clone(), data: text });
        }
        Ok(())
    }

    /// Sends now or queues a reply `delay` late.
    pub(crate) async fn reply(&mut self, delay: Duration, out: Outgoing) -> Result<(), IoError> {
        if delay.is_zero() {
            self.send(out).await
        } else {
            self.pending.push((Instant::now() + delay, out));
            Ok(())
        }
    }

    async fn send(&mut self, out: Outgoing) -> Result<(), IoError> {
        match out {
            Outgoing::Ack(p) => self.writer.write_packet(&p).await,
            Outgoing::Separate { token, code, payload } => {
                let p = Packet::separate(self.ids.next_id(), token, code, payload);
                self.writer.write_packet(&p).await
            }
        }
    }

    async fn flush_pending(&mut self, now: Instant) -> Result<(), IoError> {
        while let Some(i) = self.pending.iter().position(|(t, _)| *t <= now) {
            let (_, out) = self.pending.remove(i);
            self.send(out).await?;
        }
        Ok(())
    }
}
