//! Message-id and token counters, and the server's strict message-id check.
//!
//! The Core pre-increments both counters, so a counter remembers the *last*
//! value handed out and `next()` returns last + 1 (wrapping).

/// 16-bit CoAP message ids for messages a side originates. ACKs echo the
/// peer's id and must not draw from this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageIdCounter {
    last: u16,
}

impl MessageIdCounter {
    /// A counter whose first `next()` returns `last + 1`.
    pub const fn starting_after(last: u16) -> Self {
        Self { last }
    }

    /// The Core's start: `salt[0..2]` big-endian.
    pub fn from_salt(salt: &[u8; 8]) -> Self {
        Self::starting_after(u16::from_be_bytes([salt[0], salt[1]]))
    }

    /// Device OS on little-endian ARM reads the salt natively
    /// (little-endian). Servers do not care: they learn the id from Hello.
    pub fn from_salt_le(salt: &[u8; 8]) -> Self {
        Self::starting_after(u16::from_le_bytes([salt[0], salt[1]]))
    }

    /// Takes the next id.
    pub fn next_id(&mut self) -> u16 {
        self.last = self.last.wrapping_add(1);
        self.last
    }

    /// The id most recently handed out (or the start value).
    pub fn last(&self) -> u16 {
        self.last
    }
}

/// 1-byte CoAP tokens. The server's start at 0 (first token 1, wrapping
/// to 0 after 255); the Core's start at `salt[2]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TokenCounter {
    last: u8,
}

impl TokenCounter {
    /// A counter whose first `next()` returns `last + 1`.
    pub const fn starting_after(last: u8) -> Self {
        Self { last }
    }

    /// The Core's start: `salt[2]`.
    pub fn from_salt(salt: &[u8; 8]) -> Self {
        Self::starting_after(salt[2])
    }

    /// Takes the next token.
    pub fn next_token(&mut self) -> u8 {
        self.last = self.last.wrapping_add(1);
        self.last
    }
}

/// A message id that broke the server's +1 rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("got counter {got} expecting {expected}")]
pub struct BadCounter {
    /// The id the device sent.
    pub got: u16,
    /// The id the server expected.
    pub expected: u16,
}

/// spark-protocol's check: it records Hello's id, then every later non-ACK
/// message from the device (pings included) must carry exactly previous + 1.
/// On a mismatch the original server disconnects ("Bad Counter").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IdChecker {
    last: Option<u16>,
}

impl IdChecker {
    /// A checker that has not seen Hello yet.
    pub const fn new() -> Self {
        Self { last: None }
    }

    /// Records Hello's id as the starting point.
    pub fn hello(&mut self, id: u16) {
        self.last = Some(id);
    }

    /// Checks a non-ACK message's id. Before Hello any id is accepted (and
    /// becomes the baseline). On error the baseline is left unchanged.
    pub fn check(&mut self, id: u16) -> Result<(), BadCounter> {
        match self.last {
            Some(last) if id != last.wrapping_add(1) => Err(BadCounter {
                got: id,
                expected: last.wrapping_add(1),
            }),
            _ => {
                self.last = Some(id);
                Ok(())
            }
        }
    }

    /// The id the next non-ACK message must carry, once Hello was seen.
    pub fn expected(&self) -> Option<u16> {
        self.last.map(|l| l.wrapping_add(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_pre_increment_and_wrap() {
        let salt = [0x97, 0xb1, 0x97, 0x25, 0, 0x38, 0xfa, 0x09];
        let mut ids = MessageIdCounter::from_salt(&salt);
        assert_eq!(ids.next_id(), 0x97b2);
        assert_eq!(MessageIdCounter::from_salt_le(&salt).next_id(), 0xb198);
        let mut t = TokenCounter::from_salt(&salt);
        assert_eq!(t.next_token(), 0x98);
        let mut w = MessageIdCounter::starting_after(0xffff);
        assert_eq!(w.next_id(), 0);
        let mut s = TokenCounter::default();
        assert_eq!(s.next_token(), 1);
        let mut s = TokenCounter::starting_after(255);
        assert_eq!(s.next_token(), 0);
    }

    #[test]
    fn id_checker_enforces_plus_one() {
        let mut c = IdChecker::new();
        c.hello(0xffff);
        assert_eq!(c.check(0), Ok(()));
        assert_eq!(
            c.check(2),
            Err(BadCounter {
                got: 2,
                expected: 1
            })
        );
        assert_eq!(c.expected(), Some(1));
        assert_eq!(c.check(1), Ok(()));
    }
}
