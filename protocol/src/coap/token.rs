//! CoAP tokens: 0–8 bytes chosen by a requester and echoed in the reply.

use std::fmt;

use super::{CoapError, MAX_TOKEN_LEN};

/// A token of 0–8 bytes. `Copy`, since this protocol uses 0 or 1 byte.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Token {
    len: u8,
    bytes: [u8; MAX_TOKEN_LEN],
}

impl Token {
    /// No token.
    pub const EMPTY: Token = Token {
        len: 0,
        bytes: [0; MAX_TOKEN_LEN],
    };

    /// The protocol's usual 1-byte token.
    pub const fn byte(b: u8) -> Self {
        let mut bytes = [0; MAX_TOKEN_LEN];
        bytes[0] = b;
        Token { len: 1, bytes }
    }

    /// A token from up to 8 bytes.
    pub fn from_slice(s: &[u8]) -> Result<Self, CoapError> {
        if s.len() > MAX_TOKEN_LEN {
            return Err(CoapError::BadTokenLength(s.len()));
        }
        let mut bytes = [0; MAX_TOKEN_LEN];
        bytes[..s.len()].copy_from_slice(s);
        Ok(Token {
            len: s.len() as u8,
            bytes,
        })
    }

    /// The token bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len).min(MAX_TOKEN_LEN)]
    }

    /// True for a zero-length token.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The first byte, i.e. the value of a 1-byte token.
    pub fn first(&self) -> Option<u8> {
        self.as_slice().first().copied()
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token({})", hex::encode(self.as_slice()))
    }
}
