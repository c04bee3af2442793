//! Framing: a 2-byte big-endian length, then that many bytes of ciphertext.
//!
//! [`FrameDecoder`] is incremental (bytes in, frames out) so a reader can be
//! fed whatever a socket read returns, including split headers.

/// AES block size: a frame's ciphertext is always whole blocks of it. The session seals
/// into frames, so it takes this from here (the dependency runs session → frame only).
pub const BLOCK_LEN: usize = 16;
/// Size of the length prefix.
pub const LEN_PREFIX: usize = 2;
/// The Core's receive buffer; a longer frame makes a Core drop the link.
pub const CORE_MAX_FRAME_LEN: usize = 640;
/// The largest length the prefix can express, for servers that want no cap.
pub const MAX_FRAME_LEN: usize = u16::MAX as usize;

/// Why a frame was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// A zero length never occurs in a valid stream.
    #[error("zero-length frame")]
    Empty,
    /// Ciphertext is always whole AES blocks.
    #[error("frame length {0} is not a multiple of 16")]
    NotBlockMultiple(usize),
    /// Longer than the configured maximum.
    #[error("frame length {len} exceeds the maximum {max}")]
    TooLong { len: usize, max: usize },
}

/// The frame length (the value of the 2-byte prefix) that a CoAP message of `plaintext_len`
/// bytes seals to: PKCS#7 always pads, adding a whole block to a multiple of 16.
pub fn sealed_len(plaintext_len: usize) -> usize {
    (plaintext_len / BLOCK_LEN + 1) * BLOCK_LEN
}

/// Prefixes `ciphertext` with its length. Fails only above 65535 bytes.
pub fn encode_frame(ciphertext: &[u8]) -> Result<Vec<u8>, FrameError> {
    let len = u16::try_from(ciphertext.len()).map_err(|_| FrameError::TooLong {
        len: ciphertext.len(),
        max: MAX_FRAME_LEN,
    })?;
    let mut out = Vec::with_capacity(LEN_PREFIX + ciphertext.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(ciphertext);
    Ok(out)
}

/// Incremental frame decoder. After an error the stream is out of sync, so
/// the error is sticky: every later call returns it again.
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    buf: Vec<u8>,
    max_len: usize,
    failed: Option<FrameError>,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameDecoder {
    /// A decoder with the Core's 640-byte limit.
    pub fn new() -> Self {
        Self::with_max_len(CORE_MAX_FRAME_LEN)
    }

    /// A decoder accepting frames up to `max_len` bytes of ciphertext (a
    /// server may allow more than a Core; values above 65535 act as 65535).
    pub fn with_max_len(max_len: usize) -> Self {
        Self {
            buf: Vec::new(),
            max_len,
            failed: None,
        }
    }

    /// The configured maximum.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Appends received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.failed.is_none() {
            self.buf.extend_from_slice(bytes);
        }
    }

    /// Bytes received but not yet returned as a frame.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Returns the next complete frame's ciphertext, `Ok(None)` if more bytes
    /// are needed, or an error as soon as a bad length prefix is seen.
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let Some(&[hi, lo]) = self.buf.get(..LEN_PREFIX) else {
            return Ok(None);
        };
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        let problem = if len == 0 {
            Some(FrameError::Empty)
        } else if len % BLOCK_LEN != 0 {
            Some(FrameError::NotBlockMultiple(len))
        } else if len > self.max_len {
            Some(FrameError::TooLong {
                len,
                max: self.max_len,
            })
        } else {
            None
        };
        if let Some(e) = problem {
            self.buf.clear();
            self.failed = Some(e.clone());
            return Err(e);
        }
        if self.buf.len() < LEN_PREFIX + len {
            return Ok(None);
        }
        let frame = self.buf[LEN_PREFIX..LEN_PREFIX + len].to_vec();
        self.buf.drain(..LEN_PREFIX + len);
        Ok(Some(frame))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_len_matches_what_the_sealer_writes() {
        let keys = crate::SessionKeys::from_credentials(&[7u8; 40]);
        for n in [0usize, 1, 15, 16, 17, 31, 32, 639, 640] {
            let mut sealer = crate::Session::new(keys.clone()).into_split().0;
            let frame = sealer.seal(&vec![0x40; n]).expect("seal");
            assert_eq!(
                frame.len() - LEN_PREFIX,
                sealed_len(n),
                "plaintext of {n} bytes"
            );
        }
        assert_eq!(sealed_len(639), CORE_MAX_FRAME_LEN);
        assert!(sealed_len(640) > CORE_MAX_FRAME_LEN);
    }

    #[test]
    fn split_input_yields_frames() {
        let mut d = FrameDecoder::new();
        let mut stream = encode_frame(&[7u8; 16]).unwrap();
        stream.extend(encode_frame(&[9u8; 32]).unwrap());
        for b in &stream[..3] {
            d.push(&[*b]);
            assert_eq!(d.next_frame(), Ok(None));
        }
        d.push(&stream[3..]);
        assert_eq!(d.next_frame(), Ok(Some(vec![7u8; 16])));
        assert_eq!(d.next_frame(), Ok(Some(vec![9u8; 32])));
        assert_eq!(d.next_frame(), Ok(None));
        assert_eq!(d.buffered(), 0);
    }

    #[test]
    fn bad_lengths_are_rejected_and_sticky() {
        for (hdr, err) in [
            ([0u8, 0], FrameError::Empty),
            ([0, 17], FrameError::NotBlockMultiple(17)),
            ([2, 0x90], FrameError::TooLong { len: 656, max: 640 }),
        ] {
            let mut d = FrameDecoder::new();
            d.push(&hdr);
            assert_eq!(d.next_frame(), Err(err.clone()));
            d.push(&[0; 32]);
            assert_eq!(d.next_frame(), Err(err));
        }
        let mut d = FrameDecoder::new();
        d.push(&[2, 0x80]);
        assert_eq!(d.next_frame(), Ok(None), "640 itself is allowed");
        let mut big = FrameDecoder::with_max_len(4096);
        big.push(&[2, 0x90]);
        assert_eq!(big.next_frame(), Ok(None));
        assert!(encode_frame(&vec![0; 70_000]).is_err());
    }
}
