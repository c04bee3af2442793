//! The device's answers: one method per message the server sends.
//!
//! - Describe → piggy-backed ACK 2.05 with the JSON (`"m"` in Photon mode);
//! - function call → empty ACK now, NON 2.04 with the int32 later (the
//!   Core reads only the first Uri-Query, so `&`-split arguments are cut);
//! - variable → piggy-backed ACK 2.05 with the value (4.04 if unknown);
//! - Signal → logged ("signaling: rainbow on/off"), ACK 2.04;
//! - server ping → empty ACK; events → matched by subscription prefix;
//! - OTA → UpdateReady, ChunkReceived by CRC (good chunks stored), UpdateDone
//!   ACK, then reboot, into new definitions if the file is a fragment for this
//!   device (see [`crate::firmware`]).
//!
//! ACKs and responses (with or without a token, 4.00 "EventSlowdown"
//! included) need no answer; the time reply is logged.

use std::time::Duration;

use spark_mock_protocol::coap::Code;
use spark_mock_protocol::messages::{FunctionCall, Response};
use spark_mock_protocol::{Message, MessageType, Packet, Token};
use tracing::{debug, info, warn};

use crate::conn::{Conn, Outgoing};
use crate::handle::SimEvent;
use crate::model::{truncate_name, value_text, CallOutcome, MAX_ARG_LEN};
use crate::session_ctx::{Ended, SessionError};
use crate::spec::Mode;

impl Conn<'_, '_> {
    /// Answers one packet; `Some` ends the session.
    pub(crate) async fn handle(&mut self, p: Packet) -> Result<Option<Ended>, SessionError> {
        let (id, token) = (p.message_id, p.token);
        match p.message {
            Message::DescribeRequest => self.describe(id, token).await?,
            Message::FunctionCall(call) => self.function_call(id, token, &call).await?,
            Message::VariableRequest { name } => self.variable(id, token, &name).await?,
            Message::Signal { start } => self.signal(id, token, start).await?,
            Message::Ping => self.reply(Duration::ZERO, empty_ack(id)).await?,
            Message::EventToDevice(e) => self.event(&e.name, &e.data),
            Message::ServerHello => debug!(device = %self.ctx.label, "server hello"),
            Message::Response(r) => self.response(p.mtype, token, &r),
            Message::EmptyAck | Message::Reset => {}
            Message::UpdateBegin(b) => {
                let size = b.params.map(|p| p.file_size);
                self.update_begin(id, token, size).await?
            }
            Message::Chunk(c) => self.chunk(id, token, &c).await?,
            Message::UpdateDone => return Ok(Some(self.update_done(id, token).await?)),
            // The Core ignores key changes and anything it does not know.
            other => debug!(device = %self.ctx.label, "ignored {other:?}"),
        }
        Ok(None)
    }

    /// Describe: the functions and variables, piggy-backed (`"m"` in Photon mode).
    async fn describe(&mut self, id: u16, token: Token) -> Result<(), SessionError> {
        let d = self.model.describe(self.ctx.spec.mode == Mode::Photon);
        let reply = Packet::describe_reply(id, token, &d);
        let late = self.ctx.spec.connection.answer_delay;
        self.reply(late, Outgoing::Ack(reply)).await?;
        Ok(())
    }

    /// A function call: an empty ACK now, the int32 in a separate 2.04 when the function
    /// returns (never, if it hangs).
    async fn function_call(
        &mut self,
        id: u16,
        token: Token,
        call: &FunctionCall,
    ) -> Result<(), SessionError> {
        let label = self.ctx.label;
        let arg = call.first_arg().to_owned();
        let name = truncate_name(&call.name);
        self.reply(Duration::ZERO, empty_ack(id)).await?;
        let (outcome, delay) = self.run_function(&name, &arg)?;
        let result = match outcome {
            CallOutcome::Return(v) => {
                let out = Outgoing::Separate {
                    token,
                    code: Code::CHANGED,
                    payload: v.to_be_bytes().to_vec(),
                };
                let late = self.ctx.spec.connection.answer_delay;
                self.reply(late + delay, out).await?;
                info!(device = %label, "function {name}({arg:?}) -> {v}");
                Some(v)
            }
            CallOutcome::Hang => {
                info!(device = %label, "function {name}({arg:?}) hangs");
                None
            }
        };
        (self.ctx.rep).emit(SimEvent::FunctionCalled { name, arg, result });
        Ok(())
    }

    /// What the function makes of `arg`, and how late: -1 at once for an argument over the
    /// Core's limit (or a dropped connection, if the device is set to) or an unknown name.
    fn run_function(
        &mut self,
        name: &str,
        arg: &str,
    ) -> Result<(CallOutcome, Duration), SessionError> {
        let label = self.ctx.label;
        if arg.len() > MAX_ARG_LEN {
            if self.ctx.spec.connection.disconnect_on_long_arg {
                return Err(SessionError::LongArgument(arg.len()));
            }
            warn!(device = %label, "function {name}: argument of {} bytes refused", arg.len());
            return Ok((CallOutcome::Return(-1), Duration::ZERO));
        }
        Ok(match self.model.call(name, arg) {
            Some(c) => (c.outcome, c.delay),
            None => {
                warn!(device = %label, "no function {name:?}");
                (CallOutcome::Return(-1), Duration::ZERO)
            }
        })
    }

    /// A variable read: its value piggy-backed, or 4.04 when there is none by that name.
    async fn variable(&mut self, id: u16, token: Token, name: &str) -> Result<(), SessionError> {
        let label = self.ctx.label;
        let name = truncate_name(name);
        let reply = match self.model.read(&name) {
            Some(v) => {
                debug!(device = %label, "variable {name} = {}", value_text(&v));
                Packet::variable_value(id, token, &v)
            }
            None => {
                warn!(device = %label, "no variable {name:?}");
                Packet::ack(id, token, Code::NOT_FOUND, Vec::new())
            }
        };
        let late = self.ctx.spec.connection.answer_delay;
        self.reply(late, Outgoing::Ack(reply)).await?;
        (self.ctx.rep).emit(SimEvent::VariableRead { name });
        Ok(())
    }

    /// Signal: "rainbow" on or off, acknowledged with 2.04.
    async fn signal(&mut self, id: u16, token: Token, start: bool) -> Result<(), SessionError> {
        let on = if start { "on" } else { "off" };
        info!(device = %self.ctx.label, "signaling: rainbow {on}");
        let late = self.ctx.spec.connection.answer_delay;
        self.reply(late, Outgoing::Ack(Packet::signal_ack(id, token)))
            .await?;
        self.ctx.rep.emit(SimEvent::Signal { on: start });
        Ok(())
    }

    /// An event from the server: logged and applied if a subscription
    /// matches its name by prefix, ignored otherwise (like the Core).
    fn event(&mut self, name: &str, data: &[u8]) {
        let label = self.ctx.label;
        let defs = std::sync::Arc::clone(&self.ctx.spec.defs);
        let text = String::from_utf8_lossy(data).into_owned();
        let mut matched = false;
        for s in defs
            .subscriptions
            .iter()
            .filter(|s| name.starts_with(&s.prefix))
        {
            matched = true;
            if let Some(var) = &s.set_variable {
                if let Err(e) = self.model.set_from_text(var, &text) {
                    warn!(device = %label, "event {name}: cannot set {var}: {e}");
                }
            }
        }
        if matched {
            info!(device = %label, "event {name}: {text}");
            self.ctx.rep.emit(SimEvent::EventReceived {
                name: name.to_owned(),
                data: text,
            });
        } else {
            debug!(device = %label, "event {name} matches no subscription");
        }
    }

    /// A response to something the device sent: the time reply, or an ACK
    /// (4.00 "EventSlowdown" and stray tokens included) that needs nothing.
    fn response(&mut self, mtype: MessageType, token: Token, r: &Response) {
        let label = self.ctx.label;
        if self.time_token == Some(token) && r.is_success() {
            self.time_token = None;
            if let Ok(unix) = r.time() {
                debug!(device = %label, "server time {unix}");
                self.ctx.rep.emit(SimEvent::Time { unix });
                return;
            }
        }
        if !r.is_success() {
            debug!(device = %label, "{mtype:?} {} from the server (tolerated)", r.code);
        }
    }
}

/// An empty ACK to message `id`.
pub(crate) fn empty_ack(id: u16) -> Outgoing {
    Outgoing::Ack(Packet::empty_ack(id))
}
