//! What the device sends during a live session: pings and time requests answered, publishes
//! to the bus, subscriptions recorded, responses matched to their requests by token, and
//! the strict +1 message-id rule checked on every non-ACK message first.

use std::collections::BTreeMap;

use spark_mock_protocol::messages::{Description, Event as WireEvent};
use spark_mock_protocol::{CoapMessage, Code, Message, MessageType, Origin, Packet};
use tokio::time::Instant;

use crate::devices::live::Live;
use crate::devices::settings::ConnectionError;

impl Live<'_> {
    pub(super) fn on_frame(&mut self, c: CoapMessage) -> Result<(), ConnectionError> {
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
                self.state
                    .devices()
                    .set_subscriptions(self.id, self.conn_id, self.subs.views());
                self.queue(Packet::empty_ack(id))
            }
            // The Core asks again after 3 s, so a full queue may drop an index.
            Message::ChunkMissed(m) => {
                if let Some(tx) = &self.ota_missed {
                    for i in m.indices {
                        let _ = tx.try_send(i);
                    }
                }
                self.ack_if_confirmable(&p.mtype, id)
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
        let variables: BTreeMap<_, _> = d.variables.iter().cloned().collect();
        self.state
            .devices()
            .described(self.id, d.functions.clone(), variables);
        self.description = Some(d);
    }

    fn ack_if_confirmable(&mut self, t: &MessageType, id: u16) -> Result<(), ConnectionError> {
        match t {
            MessageType::Confirmable => self.queue(Packet::empty_ack(id)),
            _ => Ok(()),
        }
    }
}
