//! Responses: builders for every reply in the catalogue and decoders for
//! their payloads.
//!
//! Piggy-backed replies are ACKs that echo the request's message id and
//! token. Separate replies (function return, UpdateReady, ChunkReceived) are
//! NON messages with the sender's *next* message id and the request's token.

use crate::coap::{Code, MessageType, Token};

use super::{Description, Message, MessageError, Packet, VarType, VarValue};

/// A response's code and payload; the envelope is in the [`Packet`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// 2.04, 2.05, 4.00, …
    pub code: Code,
    /// Payload bytes (meaning depends on the request).
    pub payload: Vec<u8>,
}

impl Response {
    /// 2.xx.
    pub fn is_success(&self) -> bool {
        self.code.class() == 2
    }

    /// A function's return value (int32 big-endian).
    pub fn function_return(&self) -> Result<i32, MessageError> {
        let b = self.payload.as_slice().try_into();
        b.map(i32::from_be_bytes)
            .map_err(|_| MessageError::BadPayload {
                what: "function return",
                len: self.payload.len(),
            })
    }

    /// A time reply's unix seconds (uint32 big-endian).
    pub fn time(&self) -> Result<u32, MessageError> {
        let b = self.payload.as_slice().try_into();
        b.map(u32::from_be_bytes)
            .map_err(|_| MessageError::BadPayload {
                what: "time",
                len: self.payload.len(),
            })
    }

    /// A variable value of the type Describe declared.
    pub fn variable(&self, ty: VarType) -> Result<VarValue, MessageError> {
        VarValue::decode(&self.payload, ty)
    }

    /// A Describe reply.
    pub fn description(&self) -> Result<Description, MessageError> {
        Description::decode(&self.payload)
    }

    /// UpdateReady's optional protocol version byte (> 0 asks for fast OTA).
    pub fn update_ready_version(&self) -> Option<u8> {
        self.payload.first().copied()
    }
}

impl Packet {
    /// Empty ACK (0x60 0x00) to the message with `message_id`.
    pub fn empty_ack(message_id: u16) -> Self {
        Self::new(Message::EmptyAck, message_id, Token::EMPTY)
    }

    /// A piggy-backed response: ACK with the request's id and token.
    pub fn ack(message_id: u16, token: Token, code: Code, payload: Vec<u8>) -> Self {
        Self::new(
            Message::Response(Response { code, payload }),
            message_id,
            token,
        )
    }

    /// A separate response: NON with the sender's next id and the request's token.
    pub fn separate(message_id: u16, token: Token, code: Code, payload: Vec<u8>) -> Self {
        let mut p = Self::ack(message_id, token, code, payload);
        p.mtype = MessageType::NonConfirmable;
        p
    }

    /// Describe reply: ACK 2.05 with the JSON.
    pub fn describe_reply(message_id: u16, token: Token, d: &Description) -> Self {
        Self::ack(message_id, token, Code::CONTENT, d.encode())
    }

    /// Variable value: ACK 2.05.
    pub fn variable_value(message_id: u16, token: Token, v: &VarValue) -> Self {
        Self::ack(message_id, token, Code::CONTENT, v.encode())
    }

    /// Function return: NON 2.04, int32 big-endian (after an empty ACK).
    pub fn function_return(message_id: u16, token: Token, value: i32) -> Self {
        Self::separate(
            message_id,
            token,
            Code::CHANGED,
            value.to_be_bytes().to_vec(),
        )
    }

    /// Time reply: ACK 2.05, uint32 big-endian unix seconds.
    pub fn time_reply(message_id: u16, token: Token, unix_seconds: u32) -> Self {
        Self::ack(
            message_id,
            token,
            Code::CONTENT,
            unix_seconds.to_be_bytes().to_vec(),
        )
    }

    /// UpdateReady: NON 2.04, optionally with a protocol version byte.
    pub fn update_ready(message_id: u16, token: Token, version: Option<u8>) -> Self {
        Self::separate(
            message_id,
            token,
            Code::CHANGED,
            version.into_iter().collect(),
        )
    }

    /// ChunkReceived: NON 2.04 when the CRC matched, NON 4.00 when not.
    pub fn chunk_received(message_id: u16, token: Token, ok: bool) -> Self {
        let code = if ok { Code::CHANGED } else { Code::BAD_REQUEST };
        Self::separate(message_id, token, code, Vec::new())
    }

    /// UpdateDone ACK: ACK 2.04 with the token.
    pub fn update_done_ack(message_id: u16, token: Token) -> Self {
        Self::ack(message_id, token, Code::CHANGED, Vec::new())
    }

    /// Signal ACK: ACK 2.04 with the token.
    pub fn signal_ack(message_id: u16, token: Token) -> Self {
        Self::ack(message_id, token, Code::CHANGED, Vec::new())
    }

    /// The Core's KeyChanged message: NON 2.04 with the token.
    pub fn key_changed(message_id: u16, token: Token) -> Self {
        Self::separate(message_id, token, Code::CHANGED, Vec::new())
    }

    /// spark-protocol's "EventSlowdown": ACK 4.00 with a stray `00` token,
    /// sent for every other event although it was published.
    pub fn event_slowdown(message_id: u16) -> Self {
        Self::ack(message_id, Token::byte(0), Code::BAD_REQUEST, Vec::new())
    }
}
