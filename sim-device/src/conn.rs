//! A live session's state ([`Conn`]) and what it sends on its own: Hello,
//! the time request and subscriptions after it, keepalive pings, periodic
//! publishes, and replies (at once or queued for later). Message ids are
//! drawn only when a message is written, so queued replies keep the
//! server's strict "+1" rule.

use std::sync::Arc;
use std::time::Duration;

use spark_mock_protocol::coap::Code;
use spark_mock_protocol::io::{FrameWriter, IoError};
use spark_mock_protocol::messages::{hello_flags, Event, Hello, Subscribe};
use spark_mock_protocol::{Message, MessageIdCounter, Packet, SessionKeys, Token, TokenCounter};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::time::Instant;

use crate::firmware::Receiving;
use crate::handle::SimEvent;
use crate::model::Model;
use crate::session_ctx::{Ctx, SessionError};
use crate::spec::{Mode, Scope};

/// A reply waiting for its time.
pub(crate) enum Outgoing {
    /// Piggy-backed: carries the request's id.
    Ack(Packet),
    /// Separate (NON): takes the next id when sent.
    Separate {
        token: Token,
        code: Code,
        payload: Vec<u8>,
    },
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
    /// The OTA update being received, and when to ask for a chunk that did not come.
    pub ota: Option<Receiving>,
    pub ota_missed_at: Option<Instant>,
}

impl<'c, 'a> Conn<'c, 'a> {
    /// A session just past the handshake at `now`: counters seeded from its salt, the
    /// first keepalive and publishes counted from `now`.
    pub(crate) fn new(
        ctx: &'c Ctx<'a>,
        model: &'c mut Model,
        writer: FrameWriter<OwnedWriteHalf>,
        keys: &SessionKeys,
        now: Instant,
    ) -> Self {
        Conn {
            ctx,
            model,
            writer,
            // Device OS reads the salt little-endian; the Core big-endian.
            ids: if ctx.spec.mode == Mode::Photon {
                MessageIdCounter::from_salt_le(&keys.salt)
            } else {
                keys.device_message_ids()
            },
            tokens: keys.device_tokens(),
            last_rx: now,
            ping_deadline: None,
            publish_due: (ctx.spec.defs.publishes.iter())
                .map(|p| now + p.interval)
                .collect(),
            pending: Vec::new(),
            time_token: None,
            ota: None,
            ota_missed_at: None,
        }
    }

    /// Writes an originated message with the next message id.
    pub(crate) async fn originate(
        &mut self,
        message: Message,
        token: Token,
    ) -> Result<(), IoError> {
        let packet = Packet::new(message, self.ids.next_id(), token);
        self.writer.write_packet(&packet).await
    }

    pub(crate) async fn hello(&mut self, photon: bool, ota_done: bool) -> Result<(), IoError> {
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
    pub(crate) async fn after_hello(&mut self) -> Result<(), IoError> {
        if self.ctx.spec.connection.time_sync {
            let token = Token::byte(self.tokens.next_token());
            self.time_token = Some(token);
            self.originate(Message::TimeRequest, token).await?;
        }
        let defs = Arc::clone(&self.ctx.spec.defs);
        for s in &defs.subscriptions {
            let sub = match s.scope {
                Scope::All => Subscribe::all(s.prefix.clone()),
                Scope::Mine => Subscribe::my_devices(s.prefix.clone()),
            };
            self.originate(Message::Subscribe(sub), Token::EMPTY)
                .await?;
        }
        Ok(())
    }

    pub(crate) fn next_timer(&self) -> Instant {
        let keepalive = self.ctx.spec.connection.keepalive;
        let ping = self.ping_deadline.unwrap_or(self.last_rx + keepalive);
        let publish = self.publish_due.iter().min().copied();
        let pending = self.pending.iter().map(|(t, _)| *t).min();
        [Some(ping), publish, pending, self.ota_missed_at]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(ping)
    }

    pub(crate) async fn on_timer(&mut self, now: Instant) -> Result<(), SessionError> {
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
        self.ota_timer(now).await?;
        let defs = Arc::clone(&self.ctx.spec.defs);
        for (i, p) in defs.publishes.iter().enumerate() {
            if now < self.publish_due[i] {
                continue;
            }
            self.publish_due[i] = (self.publish_due[i] + p.interval).max(now);
            let id = self.ctx.spec.id.to_hex();
            let name = self.ctx.spec.name.as_deref().unwrap_or("");
            let mut data = self.model.render(&p.data, &id, name).into_bytes();
            let max = if self.ctx.spec.mode == Mode::Photon {
                622
            } else {
                63
            };
            data.truncate(max);
            let text = String::from_utf8_lossy(&data).into_owned();
            let event = Event {
                name: p.name.clone(),
                private: p.private,
                ttl: p.ttl,
                data,
            };
            self.originate(Message::Publish(event), Token::EMPTY)
                .await?;
            tracing::debug!(device = %self.ctx.label, "published {} {text:?}", p.name);
            (self.ctx.rep).emit(SimEvent::Published {
                name: p.name.clone(),
                data: text,
            });
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
            Outgoing::Separate {
                token,
                code,
                payload,
            } => {
                let p = Packet::separate(self.ids.next_id(), token, code, payload);
                self.writer.write_packet(&p).await
            }
        }
    }

    async fn flush_pending(&mut self, now: Instant) -> Result<(), IoError> {
        // Earliest first; equal times keep their order (min_by_key takes the first).
        while let Some((i, _)) = (self.pending.iter().enumerate())
            .filter(|(_, (t, _))| *t <= now)
            .min_by_key(|(_, (t, _))| *t)
        {
            let (_, out) = self.pending.remove(i);
            self.send(out).await?;
        }
        Ok(())
    }
}
