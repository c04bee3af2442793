//! The live session of one connection, after Hello: one `select!` loop over frames from the
//! device, commands from the registry, events from the bus, the ping timer, the idle
//! timeout and shutdown. It never awaits anything but that select: every write is queued
//! with `try_send`, every lock is taken and released inside a synchronous call.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use spark_mock_protocol::messages::{Description, Event as WireEvent, FunctionCall};
use spark_mock_protocol::{
    CoapMessage, Code, IdChecker, Message, MessageIdCounter, MessageType, Origin, Packet, Token,
};
use tokio::net::tcp::OwnedReadHalf;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::time::sleep_until;

use spark_mock_protocol::io::FrameReader;

use crate::devices::connection::{ConnectionError, Settings};
use crate::devices::outbox::{Outbox, OutboxError};
use crate::devices::requests::{registry_type, wire_type, Pending, Reply};
use crate::devices::subscriptions::Subscriptions;
use crate::devices::types::{Command, DeviceError};
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
    id: &'a str,
    state: &'a AppState,
    settings: &'a Settings,
    out: Outbox,
    ids: IdChecker,
    server_ids: MessageIdCounter,
    pending: Pending,
    description: Option<Description>,
    subs: Subscriptions,
    bus: Option<broadcast::Receiver<Arc<Event>>>,
    last_heard: Instant,
    last_ping: Instant,
}

impl<'a> Live<'a> {
    pub fn new(
        id: &'a str,
        state: &'a AppState,
        settings: &'a Settings,
        out: Outbox,
        hello_id: u16,
    ) -> Self {
        let mut ids = IdChecker::new();
        ids.hello(hello_id);
        let now = Instant::now();
        Live {
            id,
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
        }
    }

    /// Runs the session until the device leaves, misbehaves, is replaced or the server stops.
    pub async fn run(
        mut self,
        mut reader: FrameReader<OwnedReadHalf>,
        mut commands: mpsc::Receiver<Command>,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<End, ConnectionError> {
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
                _ = sleep_until(ping_at.into()) => {
                    self.last_ping = Instant::now();
                    if let Err(e) = self.send_new(Message::Ping, Token::EMPTY) { break Err(e) }
                }
                _ = sleep_until(idle_at.into()) => {
                    break Err(ConnectionError::Idle(self.settings.idle_timeout))
                }
                _ = self.out.stopped() => break Err(OutboxError::Closed.into()),
                _ = shutdown.wait_for(|s| *s) => break Ok(End::Shutdown),
            }
        };
        match result {
            // A clean end lets the writer flush and send FIN; a fault drops the socket now.
            Ok(_) => drop(self.out),
            Err(_) => self.out.abort(),
        }
        result
    }

    fn on_frame(&mut self, c: CoapMessage) -> Result<(), ConnectionError> {
        self.last_heard = Instant::now();
        self.state.devices().heard(self.id);
        if c.mtype != MessageType::Acknowledgement {
            self.ids.check(c.message_id)?;
        }
        let p = match Packet::from_coap(&c, Origin::Device) {
            Ok(p) => p,
            Err(e) => {
                tracing::debug!("{}: ignoring a malformed message: {e}", self.id);
                return self.ack_if_confirmable(&c.mtype, c.message_id);
            }
        };
        let (id, token) = (p.message_id, p.token);
        match p.message {
            Message::Ping => self.queue(Packet::empty_ack(id)),
            Message::TimeRequest => {
                let now = self.state.clock().now().timestamp();
                let secs = u32::try_from(now.max(0)).unwrap_or(u32::MAX);
                self.queue(Packet::time_reply(id, token, secs))
            }
            Message::Publish(e) => {
                self.publish(e);
                self.queue(Packet::empty_ack(id))
            }
            Message::Subscribe(s) => {
                if self.subs.add(&s).is_err() {
                    return self.queue(Packet::ack(id, token, Code::BAD_REQUEST, Vec::new()));
                }
                if self.bus.is_none() {
                    self.bus = Some(self.state.bus().subscribe());
                }
                self.queue(Packet::empty_ack(id))
            }
            Message::Response(r) => {
                match self.pending.take(&token) {
                    Some(reply) => {
                        if let Some(d) = reply.answer(&r) {
                            self.store_description(d);
                        }
                    }
                    None => tracing::debug!("{}: a response nobody waits for", self.id),
                }
                self.ack_if_confirmable(&p.mtype, id)
            }
            _ => self.ack_if_confirmable(&p.mtype, id),
        }
    }

    /// A device's event goes to the bus; names starting with "spark" are reserved for the
    /// cloud and dropped, as spark-protocol did.
    fn publish(&self, e: WireEvent) {
        if e.name.to_ascii_lowercase().starts_with("spark") {
            tracing::debug!("{}: dropped reserved event {}", self.id, e.name);
            return;
        }
        let data = (!e.data.is_empty()).then(|| String::from_utf8_lossy(&e.data).into_owned());
        self.state
            .devices()
            .device_event(self.id, e.name, data, e.ttl, !e.private);
    }

    fn store_description(&mut self, d: Description) {
        let variables: BTreeMap<_, _> = d
            .variables
            .iter()
            .map(|(n, t)| (n.clone(), registry_type(*t)))
            .collect();
        self.state
            .devices()
            .described(self.id, d.functions.clone(), variables);
        self.description = Some(d);
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
                self.request(Message::VariableRequest { name }, Reply::Variable { ty, reply })
            }
            Command::Signal { on, reply } => {
                self.request(Message::Signal { start: on }, Reply::Signal(reply))
            }
            Command::Describe { reply } => {
                self.request(Message::DescribeRequest, Reply::Describe(Some(reply)))
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
                .and_then(|d| d.variables.get(name).copied())
                .and_then(wire_type),
        }
    }

    fn on_event(&mut self, e: &Event) -> Result<(), ConnectionError> {
        if !self.subs.wants_name(&e.name) {
            return Ok(());
        }
        let owner = self.state.devices().get(self.id).and_then(|d| d.owner);
        match self.subs.deliver(e, owner.as_deref()) {
            Some(w) => self.send_new(Message::EventToDevice(w), Token::EMPTY),
            None => Ok(()),
        }
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

    fn ack_if_confirmable(&mut self, t: &MessageType, id: u16) -> Result<(), ConnectionError> {
        match t {
            MessageType::Confirmable => self.queue(Packet::empty_ack(id)),
            _ => Ok(()),
        }
    }

    fn queue(&mut self, p: Packet) -> Result<(), ConnectionError> {
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
