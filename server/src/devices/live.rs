//! The live session of one connection, after Hello: one `select!` loop over frames from the
//! device, commands from the registry, events from the bus, the ping timer, the idle
//! timeout and shutdown. It never awaits anything but that select: every write is queued
//! with `try_send`, every lock is taken and released inside a synchronous call. Its timers
//! run on tokio's clock, not the mock's cloud clock (that one is for token time), so tests
//! pause and advance them instead of sleeping.

use std::sync::Arc;

use spark_mock_protocol::messages::{Description, FunctionCall, UpdateBegin};
use spark_mock_protocol::{IdChecker, Message, MessageIdCounter, Packet, Token};
use tokio::net::tcp::OwnedReadHalf;
use tokio::sync::{broadcast, mpsc};
use tokio::time::{sleep_until, Instant};

use spark_mock_protocol::io::FrameReader;

use crate::devices::outbox::{Outbox, OutboxError};
use crate::devices::pending::{Pending, Reply};
use crate::devices::settings::{ConnectionError, Settings};
use crate::devices::subscriptions::Subscriptions;
use crate::devices::types::{Command, DeviceError, OtaStep};
use crate::events::Event;
use crate::state::AppState;

/// How a session ended without a fault of the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The device closed the connection.
    Closed,
    /// The registry asked to disconnect (a newer connection, a fault, an admin).
    Replaced,
    /// The server is shutting down.
    Shutdown,
}

pub struct Live<'a> {
    pub(super) id: &'a str,
    /// The registry's id for this connection, for `disconnected`.
    pub(super) conn_id: u64,
    pub(super) state: &'a AppState,
    settings: &'a Settings,
    out: Outbox,
    pub(super) ids: IdChecker,
    server_ids: MessageIdCounter,
    pub(super) pending: Pending,
    pub(super) description: Option<Description>,
    pub(super) subs: Subscriptions,
    pub(super) bus: Option<broadcast::Receiver<Arc<Event>>>,
    pub(super) last_heard: Instant,
    last_ping: Instant,
    /// The largest frame the device can take: 640 bytes on a Core, whose receive buffer
    /// overflows (and drops the link) on anything longer.
    max_frame_to_device: Option<usize>,
    /// Where the device's ChunkMissed indices go while an OTA update runs.
    pub(super) ota_missed: Option<mpsc::Sender<u16>>,
}

impl<'a> Live<'a> {
    pub fn new(
        id: &'a str,
        state: &'a AppState,
        settings: &'a Settings,
        out: Outbox,
        hello_id: u16,
        conn_id: u64,
        platform_id: u16,
    ) -> Self {
        let mut ids = IdChecker::new();
        ids.hello(hello_id);
        let now = Instant::now();
        Live {
            id,
            conn_id,
            state,
            settings,
            out,
            ids,
            // The server's own ids start at a random value, as spark-protocol's did.
            server_ids: MessageIdCounter::starting_after(rand::random()),
            pending: Pending::new(settings.request_ttl),
            description: None,
            subs: Subscriptions::default(),
            bus: None,
            last_heard: now,
            last_ping: now,
            max_frame_to_device: (platform_id == 0)
                .then_some(spark_mock_protocol::frame::CORE_MAX_FRAME_LEN),
            ota_missed: None,
        }
    }

    /// Runs the session until the device leaves, misbehaves, is replaced or the server
    /// stops, then marks the device offline before the socket closes (so whoever sees the
    /// close already finds the registry up to date).
    pub async fn run(
        mut self,
        mut reader: FrameReader<OwnedReadHalf>,
        mut commands: mpsc::Receiver<Command>,
    ) -> Result<End, ConnectionError> {
        let stopped = self.state.shutdown().wait();
        tokio::pin!(stopped);
        let token = self.pending.next_token();
        self.send_new(Message::ServerHello, token)?;
        self.request(Message::DescribeRequest, Reply::Describe(None))?;
        let result = loop {
            let ping_at = self.last_heard.max(self.last_ping) + self.settings.ping_interval;
            let idle_at = self.last_heard + self.settings.idle_timeout;
            tokio::select! {
                frame = reader.read_coap() => match frame {
                    Ok(Some(c)) => if let Err(e) = self.on_frame(c) { break Err(e) },
                    Ok(None) => break Ok(End::Closed),
                    Err(e) => break Err(e.into()),
                },
                cmd = commands.recv() => match cmd {
                    Some(Command::Disconnect) | None => break Ok(End::Replaced),
                    Some(c) => if let Err(e) = self.on_command(c) { break Err(e) },
                },
                Some(e) = next_event(&mut self.bus) => {
                    if let Err(e) = self.on_event(&e) { break Err(e) }
                }
                _ = sleep_until(ping_at) => {
                    self.last_ping = Instant::now();
                    if let Err(e) = self.send_new(Message::Ping, Token::EMPTY) { break Err(e) }
                }
                _ = sleep_until(idle_at) => {
                    break Err(ConnectionError::Idle(self.settings.idle_timeout))
                }
                _ = self.out.stopped() => break Err(OutboxError::Closed.into()),
                () = &mut stopped => break Ok(End::Shutdown),
            }
        };
        self.state.devices().disconnected(self.id, self.conn_id);
        match result {
            // A clean end lets the writer flush and send FIN; a fault drops the socket now.
            Ok(_) => drop(self.out),
            Err(_) => self.out.abort(),
        }
        result
    }

    fn on_command(&mut self, c: Command) -> Result<(), ConnectionError> {
        match c {
            Command::CallFunction { name, arg, reply } => self.request(
                Message::FunctionCall(FunctionCall::new(name, arg)),
                Reply::Function(reply),
            ),
            Command::GetVariable { name, reply } => {
                let Some(ty) = self.variable_type(&name) else {
                    let _ = reply.send(Err(DeviceError::UnknownVariable));
                    return Ok(());
                };
                self.request(
                    Message::VariableRequest { name },
                    Reply::Variable { ty, reply },
                )
            }
            Command::Signal { on, reply } => {
                self.request(Message::Signal { start: on }, Reply::Signal(reply))
            }
            Command::Describe { reply } => {
                self.request(Message::DescribeRequest, Reply::Describe(Some(reply)))
            }
            Command::Ota { step, reply } => {
                let message = match step {
                    OtaStep::Begin { params, missed } => {
                        self.ota_missed = Some(missed);
                        Message::UpdateBegin(UpdateBegin {
                            params: Some(params),
                        })
                    }
                    OtaStep::Chunk(c) => Message::Chunk(c),
                    OtaStep::Done => Message::UpdateDone,
                };
                self.request(message, Reply::Ota(reply))
            }
            Command::Disconnect => Ok(()),
        }
    }

    /// A variable's type from the device's last Describe (or the registry's copy of it).
    fn variable_type(&self, name: &str) -> Option<spark_mock_protocol::messages::VarType> {
        match &self.description {
            Some(d) => d.variable_type(name),
            None => self
                .state
                .devices()
                .get(self.id)
                .and_then(|d| d.variables.get(name).copied()),
        }
    }

    fn on_event(&mut self, e: &Event) -> Result<(), ConnectionError> {
        if !self.subs.wants_name(&e.name) {
            return Ok(());
        }
        let owner = self.state.devices().get(self.id).and_then(|d| d.owner);
        let Some(w) = self.subs.deliver(e, owner.as_deref()) else {
            return Ok(());
        };
        let message = Message::EventToDevice(w);
        if let Some(max) = self.max_frame_to_device {
            // The message id does not change the length, so size it before taking one.
            let len = Packet::new(message.clone(), 0, Token::EMPTY)
                .encode()
                .map_or(usize::MAX, |b| {
                    spark_mock_protocol::frame::sealed_len(b.len())
                });
            if len > max {
                tracing::warn!(
                    "{}: event {:?} not sent: its frame would be {len} bytes, more than this \
                     device's {max}",
                    self.id,
                    e.name
                );
                return Ok(());
            }
        }
        self.send_new(message, Token::EMPTY)
    }

    /// Sends a request that expects an answer under a fresh token.
    fn request(&mut self, message: Message, reply: Reply) -> Result<(), ConnectionError> {
        match self.pending.start(reply) {
            Ok(token) => self.send_new(message, token),
            Err(reply) => {
                reply.fail(DeviceError::Device("too many requests in flight".into()));
                Ok(())
            }
        }
    }

    /// Sends a message the server originates, under its next message id.
    fn send_new(&mut self, message: Message, token: Token) -> Result<(), ConnectionError> {
        let id = self.server_ids.next_id();
        self.queue(Packet::new(message, id, token))
    }

    pub(super) fn queue(&mut self, p: Packet) -> Result<(), ConnectionError> {
        Ok(self.out.send(p)?)
    }
}

/// The next bus event, skipping ahead when this connection fell behind; never resolves
/// when the device has no subscriptions.
async fn next_event(bus: &mut Option<broadcast::Receiver<Arc<Event>>>) -> Option<Arc<Event>> {
    let Some(rx) = bus else {
        return std::future::pending().await;
    };
    loop {
        match rx.recv().await {
            Ok(e) => return Some(e),
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::debug!("device subscriber skipped {n} events");
            }
            Err(broadcast::error::RecvError::Closed) => return std::future::pending().await,
        }
    }
}
