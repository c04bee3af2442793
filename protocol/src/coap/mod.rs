//! CoAP (RFC 7252) message types, as the Spark protocol uses them over TCP.
//!
//! Only the header layout matters here: no retransmission, no blockwise.
//! Decoding is tolerant where peers are sloppy (tokens on empty ACKs, a
//! payload marker with no payload) and strict where bytes are meaningless.

mod codec;
mod token;

pub use codec::{decode_uint, encode_uint};
pub use token::Token;

use std::fmt;

/// Option numbers the protocol uses.
pub mod option {
    /// Uri-Path: one option per path segment.
    pub const URI_PATH: u16 = 11;
    /// Max-Age: the event TTL in seconds.
    pub const MAX_AGE: u16 = 14;
    /// Uri-Query: function arguments, signal flag, chunk CRC and index.
    pub const URI_QUERY: u16 = 15;
}

/// Largest token CoAP allows.
pub const MAX_TOKEN_LEN: usize = 8;

/// Why bytes are not a CoAP message, or a message cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoapError {
    /// Fewer bytes than the header, token or an option claims.
    #[error("truncated CoAP message")]
    Truncated,
    /// Only version 1 exists.
    #[error("unsupported CoAP version {0}")]
    BadVersion(u8),
    /// Token length above 8.
    #[error("token length {0} exceeds 8")]
    BadTokenLength(usize),
    /// Nibble 15 outside the payload marker is reserved.
    #[error("reserved option delta or length nibble 15")]
    ReservedNibble,
    /// Option number beyond 65535.
    #[error("option number overflow")]
    OptionNumberOverflow,
    /// An option value longer than the encoding allows (65804 bytes).
    #[error("option value of {0} bytes is too long")]
    OptionTooLong(usize),
}

/// The 2-bit CoAP message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// CON: the receiver must ACK.
    Confirmable = 0,
    /// NON: no ACK expected.
    NonConfirmable = 1,
    /// ACK, possibly carrying a piggy-backed response.
    Acknowledgement = 2,
    /// RST.
    Reset = 3,
}

impl MessageType {
    /// The type from its 2-bit value (higher bits ignored).
    pub fn from_bits(bits: u8) -> Self {
        match bits & 3 {
            0 => Self::Confirmable,
            1 => Self::NonConfirmable,
            2 => Self::Acknowledgement,
            _ => Self::Reset,
        }
    }
}

/// A CoAP code, class.detail packed as `class << 5 | detail`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Code(pub u8);

impl Code {
    /// 0.00: empty message (ping, empty ACK, RST).
    pub const EMPTY: Code = Code(0x00);
    /// 0.01 GET.
    pub const GET: Code = Code(0x01);
    /// 0.02 POST.
    pub const POST: Code = Code(0x02);
    /// 0.03 PUT.
    pub const PUT: Code = Code(0x03);
    /// 0.04 DELETE.
    pub const DELETE: Code = Code(0x04);
    /// 2.04 Changed: function return, UpdateReady, ChunkReceived OK.
    pub const CHANGED: Code = Code(0x44);
    /// 2.05 Content: Describe, variable value, time.
    pub const CONTENT: Code = Code(0x45);
    /// 4.00 Bad Request: ChunkReceived BAD, spark-protocol's EventSlowdown.
    pub const BAD_REQUEST: Code = Code(0x80);
    /// 4.04 Not Found.
    pub const NOT_FOUND: Code = Code(0x84);
    /// 5.00 Internal Server Error.
    pub const INTERNAL_SERVER_ERROR: Code = Code(0xa0);

    /// Builds `class.detail`.
    pub const fn new(class: u8, detail: u8) -> Self {
        Code((class << 5) | (detail & 0x1f))
    }

    /// The class (0 request/empty, 2 success, 4 client error, 5 server error).
    pub const fn class(self) -> u8 {
        self.0 >> 5
    }

    /// The detail (0–31).
    pub const fn detail(self) -> u8 {
        self.0 & 0x1f
    }

    /// A method code (GET, POST, …).
    pub const fn is_request(self) -> bool {
        self.class() == 0 && self.0 != 0
    }

    /// A response code (2.xx, 4.xx, 5.xx).
    pub const fn is_response(self) -> bool {
        matches!(self.class(), 2..=5)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.class(), self.detail())
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Code({self})")
    }
}

/// One option: its number and raw value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoapOption {
    /// Option number (see [`option`]).
    pub number: u16,
    /// Raw value bytes.
    pub value: Vec<u8>,
}

/// A whole CoAP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoapMessage {
    /// CON / NON / ACK / RST.
    pub mtype: MessageType,
    /// Method or response code.
    pub code: Code,
    /// Message id.
    pub message_id: u16,
    /// Token (0–8 bytes).
    pub token: Token,
    /// Options in wire order; [`CoapMessage::encode`] sorts them stably.
    pub options: Vec<CoapOption>,
    /// Payload (the 0xFF marker is added only when non-empty).
    pub payload: Vec<u8>,
}

impl CoapMessage {
    /// A message with no token, options or payload.
    pub fn new(mtype: MessageType, code: Code, message_id: u16) -> Self {
        Self {
            mtype,
            code,
            message_id,
            token: Token::EMPTY,
            options: Vec::new(),
            payload: Vec::new(),
        }
    }

    /// Adds an option (builder style).
    pub fn with_option(mut self, number: u16, value: impl Into<Vec<u8>>) -> Self {
        self.options.push(CoapOption {
            number,
            value: value.into(),
        });
        self
    }

    /// Values of every option with `number`, in order.
    pub fn option_values(&self, number: u16) -> impl Iterator<Item = &[u8]> {
        self.options
            .iter()
            .filter(move |o| o.number == number)
            .map(|o| o.value.as_slice())
    }

    /// The first value of option `number`.
    pub fn first_option(&self, number: u16) -> Option<&[u8]> {
        self.option_values(number).next()
    }

    /// Uri-Path segments.
    pub fn uri_path(&self) -> impl Iterator<Item = &[u8]> {
        self.option_values(option::URI_PATH)
    }

    /// Uri-Query values.
    pub fn uri_query(&self) -> impl Iterator<Item = &[u8]> {
        self.option_values(option::URI_QUERY)
    }
}
