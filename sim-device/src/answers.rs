//! The device's answer to each message the server sends.
//!
//! - Describe → piggy-backed ACK 2.05 with the JSON (`"m"` in Photon mode);
//! - function call → empty ACK now, NON 2.04 with the int32 later (the
//!   Core reads only the first Uri-Query, so `&`-split arguments are cut);
//! - variable → piggy-backed ACK 2.05 with the value (4.04 if unknown);
//! - Signal → logged ("signaling: rainbow on/off"), ACK 2.04;
//! - server ping → empty ACK; events → matched by subscription prefix;
//! - OTA → UpdateReady, ChunkReceived by CRC, UpdateDone ACK, then reboot.
//!
//! ACKs and responses (with or without a token, 4.00 "EventSlowdown"
//! included) need no answer; the time reply is logged.

use spark_mock_protocol::coap::Code;
use spark_mock_protocol::messages::Response;
use spark_mock_protocol::{Message, MessageType, Packet};
use tracing::{debug, info, warn};

use crate::conn::{Conn, Outgoing};
use crate::handle::SimEvent;
use crate::model::{truncate_name, value_text, CallOutcome, MAX_ARG_LEN};
use crate::session::{Ended, SessionError};
use crate::spec::Mode;

impl Conn<'_, '_> {
    /// Answers one packet; `Some` ends the session.
    pub(crate) async fn handle(&mut self, p: Packet) -> Result<Option<Ended>, SessionError> {
        let label = self.ctx.label;
        let late = self.ctx.spec.connection.answer_delay;
        let (id, token) = (p.message_id, p.token);
        let ack = || Outgoing::Ack(Packet::empty_ack(id));
        match p.message {
            Message::DescribeRequest => {
                let d = self.model.describe(self.ctx.spec.mode == Mode::Photon);
                let reply = Packet::describe_reply(id, token, &d);
                self.reply(late, Outgoing::Ack(reply)).await?;
            }
            Message::FunctionCall(call) => {
                let arg = call.first_arg().to_owned();
                let name = truncate_name(&call.name);
                self.reply(std::time::Duration::ZERO, ack()).await?;
                let outcome = if arg.len() > MAX_ARG_LEN {
                    if self.ctx.spec.connection.disconnect_on_long_arg {
                        return Err(SessionError::LongArgument(arg.len()));
                    }
                    warn!(device = %label, "function {name}: argument of {} bytes refused", arg.len());
                    Some((CallOutcome::Return(-1), std::time::Duration::ZERO))
                } else {
                    self.model.call(&name, &arg).map(|c| (c.outcome, c.delay))
                };
                let (outcome, delay) = outcome.unwrap_or_else(|| {
                    warn!(device = %label, "no function {name:?}");
                    (CallOutcome::Return(-1), std::time::Duration::ZERO)
                });
                let result = match outcome {
                    CallOutcome::Return(v) => {
                        let payload = v.to_be_bytes().to_vec();
                        let out = Outgoing::Separate {
                            token,
                            code: Code::CHANGED,
                            payload,
                        };
                        self.reply(late + delay, out).await?;
                        Some(v)
                    }
                    CallOutcome::Hang => None,
                };
                match result {
                    Some(v) => info!(device = %label, "function {name}({arg:?}) -> {v}"),
                    None => info!(device = %label, "function {name}({arg:?}) hangs"),
                }
                (self.ctx.rep).emit(SimEvent::FunctionCalled { name, arg, result });
            }
            Message::VariableRequest { name } => {
                let name = truncate_name(&name);
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
                self.reply(late, Outgoing::Ack(reply)).await?;
                (self.ctx.rep).emit(SimEvent::VariableRead { name });
            }
            Message::Signal { start } => {
                info!(device = %label, "signaling: rainbow {}", if start { "on" } else { "off" });
                self.reply(late, Outgoing::Ack(Packet::signal_ack(id, token)))
                    .await?;
                self.ctx.rep.emit(SimEvent::Signal { on: start });
            }
            Message::Ping => self.reply(std::time::Duration::ZERO, ack()).await?,
            Message::EventToDevice(e) => self.event(&e.name, &e.data),
            Message::ServerHello => debug!(device = %label, "server hello"),
            Message::Response(r) => self.response(p.mtype, token, &r),
            Message::EmptyAck | Message::Reset => {}
            Message::UpdateBegin(_) => {
                self.ota_bytes = 0;
                self.reply(late, ack()).await?;
                let out = Outgoing::Separate {
                    token,
                    code: Code::CHANGED,
                    payload: Vec::new(),
                };
                self.reply(late, out).await?;
            }
            Message::Chunk(c) => {
                let ok = c.crc_matches();
                if ok {
                    self.ota_bytes += c.data.len();
                }
                self.reply(late, ack()).await?;
                let code = if ok { Code::CHANGED } else { Code::BAD_REQUEST };
                let out = Outgoing::Separate {
                    token,
                    code,
                    payload: Vec::new(),
                };
                self.reply(late, out).await?;
            }
            Message::UpdateDone => {
                let bytes = self.ota_bytes;
                self.reply(
                    std::time::Duration::ZERO,
                    Outgoing::Ack(Packet::update_done_ack(id, token)),
                )
                .await?;
                info!(device = %label, "OTA done ({bytes} bytes); rebooting");
                self.ctx.rep.emit(SimEvent::OtaDone { bytes });
                return Ok(Some(Ended::Reboot));
            }
            // The Core ignores key changes and anything it does not know.
            other => debug!(device = %label, "ignored {other:?}"),
        }
        Ok(None)
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
    fn response(&mut self, mtype: MessageType, token: spark_mock_protocol::Token, r: &Response) {
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
