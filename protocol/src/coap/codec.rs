//! Byte-level CoAP encoding and decoding, including the extended option
//! delta/length forms (13 + 1 byte, 14 + 2 bytes starting at 269).

use super::{CoapError, CoapMessage, CoapOption, Code, MessageType, Token, MAX_TOKEN_LEN};

const PAYLOAD_MARKER: u8 = 0xff;
const EXT1_BASE: usize = 13;
const EXT2_BASE: usize = 269;
const MAX_EXT: usize = EXT2_BASE + u16::MAX as usize;

/// Encodes `v` as a CoAP uint: big-endian with no leading zero bytes.
pub fn encode_uint(v: u32) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    bytes[skip..].to_vec()
}

/// Decodes a CoAP uint of 0–4 bytes; `None` if longer.
pub fn decode_uint(bytes: &[u8]) -> Option<u32> {
    if bytes.len() > 4 {
        return None;
    }
    Some(bytes.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)))
}

/// Nibble and extension bytes for an option delta or length.
fn split_ext(v: usize) -> Result<(u8, Vec<u8>), CoapError> {
    if v < EXT1_BASE {
        Ok((v as u8, Vec::new()))
    } else if v < EXT2_BASE {
        Ok((13, vec![(v - EXT1_BASE) as u8]))
    } else if v <= MAX_EXT {
        Ok((14, ((v - EXT2_BASE) as u16).to_be_bytes().to_vec()))
    } else {
        Err(CoapError::OptionTooLong(v))
    }
}

impl CoapMessage {
    /// Encodes to bytes. Options are emitted sorted by number (stable, so
    /// repeated options such as Uri-Path keep their order).
    pub fn encode(&self) -> Result<Vec<u8>, CoapError> {
        let token = self.token.as_slice();
        let mut out = Vec::with_capacity(16 + self.payload.len());
        out.push(0x40 | ((self.mtype as u8) << 4) | token.len() as u8);
        out.push(self.code.0);
        out.extend_from_slice(&self.message_id.to_be_bytes());
        out.extend_from_slice(token);
        let mut opts: Vec<&CoapOption> = self.options.iter().collect();
        opts.sort_by_key(|o| o.number);
        let mut prev = 0u16;
        for opt in opts {
            let (dn, dext) = split_ext(usize::from(opt.number - prev))?;
            let (ln, lext) = split_ext(opt.value.len())?;
            out.push((dn << 4) | ln);
            out.extend_from_slice(&dext);
            out.extend_from_slice(&lext);
            out.extend_from_slice(&opt.value);
            prev = opt.number;
        }
        if !self.payload.is_empty() {
            out.push(PAYLOAD_MARKER);
            out.extend_from_slice(&self.payload);
        }
        Ok(out)
    }

    /// Decodes bytes. Never panics; any inconsistency is an error.
    pub fn decode(bytes: &[u8]) -> Result<Self, CoapError> {
        let mut r = Reader { bytes, pos: 0 };
        let b0 = r.byte()?;
        let version = b0 >> 6;
        if version != 1 {
            return Err(CoapError::BadVersion(version));
        }
        let tkl = usize::from(b0 & 0x0f);
        if tkl > MAX_TOKEN_LEN {
            return Err(CoapError::BadTokenLength(tkl));
        }
        let code = Code(r.byte()?);
        let message_id = u16::from_be_bytes([r.byte()?, r.byte()?]);
        let token = Token::from_slice(r.take(tkl)?)?;
        let mut msg = CoapMessage::new(MessageType::from_bits(b0 >> 4), code, message_id);
        msg.token = token;
        let mut number: u32 = 0;
        while let Ok(b) = r.byte() {
            if b == PAYLOAD_MARKER {
                // A marker with nothing after it is a format error in RFC 7252;
                // tolerate it as an empty payload.
                msg.payload = r.rest().to_vec();
                break;
            }
            let delta = r.ext(b >> 4)?;
            let len = r.ext(b & 0x0f)?;
            number += delta as u32;
            let num = u16::try_from(number).map_err(|_| CoapError::OptionNumberOverflow)?;
            let value = r.take(len)?.to_vec();
            msg.options.push(CoapOption { number: num, value });
        }
        Ok(msg)
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, CoapError> {
        let b = *self.bytes.get(self.pos).ok_or(CoapError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], CoapError> {
        let end = self.pos.checked_add(n).ok_or(CoapError::Truncated)?;
        let s = self.bytes.get(self.pos..end).ok_or(CoapError::Truncated)?;
        self.pos = end;
        Ok(s)
    }

    fn rest(&mut self) -> &'a [u8] {
        let s = self.bytes.get(self.pos..).unwrap_or_default();
        self.pos = self.bytes.len();
        s
    }

    fn ext(&mut self, nibble: u8) -> Result<usize, CoapError> {
        match nibble {
            0..=12 => Ok(usize::from(nibble)),
            13 => Ok(EXT1_BASE + usize::from(self.byte()?)),
            14 => {
                let v = u16::from_be_bytes([self.byte()?, self.byte()?]);
                Ok(EXT2_BASE + usize::from(v))
            }
            _ => Err(CoapError::ReservedNibble),
        }
    }
}
