//! The typed message catalogue on top of CoAP.
//!
//! A [`Packet`] is the CoAP envelope (type, message id, token) around a
//! [`Message`]. Requests are recognised by method and first Uri-Path
//! segment; responses (2.xx/4.xx/5.xx) come back as [`Response`], because
//! only the token or message id tells which request they answer (e.g.
//! UpdateReady and ChunkReceived OK are both NON 2.04 with no payload).

mod codec;
mod describe;
mod events;
mod functions;
mod hello;
mod ota;
mod replies;

pub use describe::Description;
pub use events::{Event, Subscribe, DEFAULT_TTL};
pub use functions::{FunctionCall, VarType, VarValue};
pub use hello::{flags as hello_flags, platform, Hello, HelloPlatform};
pub use ota::{crc32, Chunk, ChunkMissed, UpdateBegin, UpdateParams, CHUNK_SIZE};
pub use replies::Response;

use crate::coap::{CoapError, CoapMessage, MessageType, Token};

/// Why CoAP bytes are not the message they claim to be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// Not valid CoAP.
    #[error(transparent)]
    Coap(#[from] CoapError),
    /// A required part (function name, signal flag, chunk CRC …) is absent.
    #[error("missing {0}")]
    Missing(&'static str),
    /// An option value of the wrong form.
    #[error("bad {0} option")]
    BadOption(&'static str),
    /// A payload of the wrong length for its type.
    #[error("bad {what} payload of {len} bytes")]
    BadPayload { what: &'static str, len: usize },
    /// Describe JSON did not parse.
    #[error("bad describe JSON: {0}")]
    Json(String),
    /// Describe named a type code this protocol does not know.
    #[error("unknown variable type code {0}")]
    UnknownVarType(u64),
}

/// Which side sent a message. It only matters for `POST e`/`E`, which is a
/// publish from a device but an event delivery from the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Sent by the device.
    Device,
    /// Sent by the server.
    Server,
}

/// A message of the catalogue. Comments give the CoAP shape.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// NON POST `h` with payload: the device's Hello.
    Hello(Hello),
    /// NON POST `h`, token, no payload: the server's Hello.
    ServerHello,
    /// CON GET `d`.
    DescribeRequest,
    /// CON POST `f`/`<name>` ?args.
    FunctionCall(FunctionCall),
    /// CON GET `v`/`<name>`.
    VariableRequest {
        /// Variable name.
        name: String,
    },
    /// NON POST `e`|`E`/`<name as one option>` (Max-Age) (data).
    Publish(Event),
    /// NON POST `e`|`E`/`<name split on />` (Max-Age) (data).
    EventToDevice(Event),
    /// CON GET `e` (/filter) (?u) (device id).
    Subscribe(Subscribe),
    /// CON 0.00, no token.
    Ping,
    /// CON GET `t`, token.
    TimeRequest,
    /// CON PUT `s` ?<01 start | 00 stop>.
    Signal {
        /// True to start signalling (rainbow LED).
        start: bool,
    },
    /// CON PUT `k` (the Core ignores it).
    KeyChange {
        /// Whatever payload the server sent.
        payload: Vec<u8>,
    },
    /// CON POST `u`.
    UpdateBegin(UpdateBegin),
    /// CON POST `c` ?crc (?index) data.
    Chunk(Chunk),
    /// CON GET `c` with uint16 indices.
    ChunkMissed(ChunkMissed),
    /// CON PUT `u`.
    UpdateDone,
    /// ACK 0.00. spark-protocol puts a stray token on these; it is accepted.
    EmptyAck,
    /// RST 0.00.
    Reset,
    /// A piggy-backed (ACK) or separate (NON/CON) response.
    Response(Response),
    /// Valid CoAP that matches nothing above.
    Unknown(CoapMessage),
}

/// A message with its CoAP envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    /// CON / NON / ACK / RST.
    pub mtype: MessageType,
    /// Message id: the sender's next id for originated messages, the
    /// request's id for ACKs.
    pub message_id: u16,
    /// Token: chosen by the requester, echoed by the response.
    pub token: Token,
    /// The message.
    pub message: Message,
}

impl Packet {
    /// A packet with the message's usual CoAP type.
    pub fn new(message: Message, message_id: u16, token: Token) -> Self {
        Self {
            mtype: message.default_type(),
            message_id,
            token,
            message,
        }
    }

    /// The CoAP form.
    pub fn to_coap(&self) -> CoapMessage {
        let (code, options, payload) = self.message.parts();
        CoapMessage {
            mtype: self.mtype,
            code,
            message_id: self.message_id,
            token: self.token,
            options,
            payload,
        }
    }

    /// Encodes to CoAP bytes (the plaintext of a frame).
    pub fn encode(&self) -> Result<Vec<u8>, MessageError> {
        Ok(self.to_coap().encode()?)
    }

    /// Recognises a CoAP message sent by `from`.
    pub fn from_coap(c: &CoapMessage, from: Origin) -> Result<Self, MessageError> {
        let message = Message::from_coap(c, from)?;
        Ok(Self {
            mtype: c.mtype,
            message_id: c.message_id,
            token: c.token,
            message,
        })
    }

    /// Decodes CoAP bytes sent by `from`.
    pub fn decode(bytes: &[u8], from: Origin) -> Result<Self, MessageError> {
        Self::from_coap(&CoapMessage::decode(bytes)?, from)
    }

    /// Whether the receiver must acknowledge this packet (it is CON).
    pub fn needs_ack(&self) -> bool {
        self.mtype == MessageType::Confirmable
    }
}
