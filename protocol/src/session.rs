//! The AES-128-CBC session that follows the handshake.
//!
//! Each message is its own CBC run with PKCS#7 padding. The IV rule is the
//! protocol's odd part: after each message, that direction's next IV is the
//! *first* 16 bytes of the message's ciphertext (not the last block), and the
//! two directions chain independently from the session IV.

use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, BlockEncryptMut, KeyIvInit};

use crate::counters::{MessageIdCounter, TokenCounter};
use crate::frame::{encode_frame, BLOCK_LEN};
use crate::messages::{Origin, Packet};

type Enc = cbc::Encryptor<aes::Aes128>;
type Dec = cbc::Decryptor<aes::Aes128>;

/// Length of the handshake credentials: key (16) ‖ IV (16) ‖ salt (8).
pub const CREDENTIALS_LEN: usize = 40;

/// Why a ciphertext could not be opened or a message sealed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// A ciphertext must be a non-empty multiple of 16 bytes.
    #[error("ciphertext length {0} is not a non-zero multiple of 16")]
    BadLength(usize),
    /// The PKCS#7 padding did not check out (wrong key/IV or corrupted data).
    #[error("bad PKCS#7 padding")]
    BadPadding,
    /// The sealed frame would not fit the 2-byte length prefix.
    #[error("message too long for a frame: {0} bytes of ciphertext")]
    TooLong(usize),
    /// Credentials must be exactly 40 bytes.
    #[error("session credentials are 40 bytes, got {0}")]
    BadCredentials(usize),
}

/// The 40 bytes the server sends in the handshake, split into their parts.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionKeys {
    /// AES-128 key (bytes 0–15).
    pub key: [u8; 16],
    /// Initial IV for both directions (bytes 16–31).
    pub iv: [u8; 16],
    /// Salt (bytes 32–39); seeds the device's message-id and token counters.
    pub salt: [u8; 8],
}

impl SessionKeys {
    /// Splits 40 credential bytes.
    pub fn from_credentials(creds: &[u8; CREDENTIALS_LEN]) -> Self {
        let mut k = Self {
            key: [0; 16],
            iv: [0; 16],
            salt: [0; 8],
        };
        k.key.copy_from_slice(&creds[..16]);
        k.iv.copy_from_slice(&creds[16..32]);
        k.salt.copy_from_slice(&creds[32..]);
        k
    }

    /// Splits credentials from a slice that must be exactly 40 bytes.
    pub fn from_slice(creds: &[u8]) -> Result<Self, SessionError> {
        let arr: &[u8; CREDENTIALS_LEN] = creds
            .try_into()
            .map_err(|_| SessionError::BadCredentials(creds.len()))?;
        Ok(Self::from_credentials(arr))
    }

    /// Joins the parts back into the 40 credential bytes.
    pub fn credentials(&self) -> [u8; CREDENTIALS_LEN] {
        let mut out = [0u8; CREDENTIALS_LEN];
        out[..16].copy_from_slice(&self.key);
        out[16..32].copy_from_slice(&self.iv);
        out[32..].copy_from_slice(&self.salt);
        out
    }

    /// The Core's message-id counter: `salt[0..2]` big-endian, so the first
    /// message (Hello) carries that value + 1.
    pub fn device_message_ids(&self) -> MessageIdCounter {
        MessageIdCounter::from_salt(&self.salt)
    }

    /// The Core's token counter: `salt[2]`, pre-incremented before use.
    pub fn device_tokens(&self) -> TokenCounter {
        TokenCounter::from_salt(&self.salt)
    }
}

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionKeys").finish_non_exhaustive()
    }
}

/// One direction's cipher state: key plus the IV for the next message.
#[derive(Clone)]
pub struct Cipher {
    key: [u8; 16],
    iv: [u8; 16],
}

impl Cipher {
    /// A cipher that will use `iv` for its next message.
    pub fn new(key: [u8; 16], iv: [u8; 16]) -> Self {
        Self { key, iv }
    }

    /// The IV the next message will use.
    pub fn iv(&self) -> &[u8; 16] {
        &self.iv
    }

    /// Pads and encrypts one message, then advances the IV.
    pub fn encrypt(&mut self, plaintext: &[u8]) -> Vec<u8> {
        let ct =
            Enc::new(&self.key.into(), &self.iv.into()).encrypt_padded_vec_mut::<Pkcs7>(plaintext);
        self.advance(&ct);
        ct
    }

    /// Decrypts and unpads one message. The IV advances whenever the length
    /// is valid, even if the padding is bad, because the sender advanced too.
    pub fn decrypt(&mut self, ciphertext: &[u8]) -> Result<Vec<u8>, SessionError> {
        if ciphertext.is_empty() || ciphertext.len() % BLOCK_LEN != 0 {
            return Err(SessionError::BadLength(ciphertext.len()));
        }
        let iv = self.iv;
        self.advance(ciphertext);
        Dec::new(&self.key.into(), &iv.into())
            .decrypt_padded_vec_mut::<Pkcs7>(ciphertext)
            .map_err(|_| SessionError::BadPadding)
    }

    fn advance(&mut self, ciphertext: &[u8]) {
        if let Some(first) = ciphertext.get(..BLOCK_LEN) {
            self.iv.copy_from_slice(first);
        }
    }
}

/// The sending half of a session: seals messages into frames.
#[derive(Clone)]
pub struct Sealer(Cipher);

impl Sealer {
    /// Encrypts one CoAP message and adds the 2-byte length prefix. The
    /// result must be written in one piece (see the crate docs).
    pub fn seal(&mut self, coap: &[u8]) -> Result<Vec<u8>, SessionError> {
        let ct = self.0.encrypt(coap);
        encode_frame(&ct).map_err(|_| SessionError::TooLong(ct.len()))
    }

    /// Encodes and seals a typed packet.
    pub fn seal_packet(&mut self, packet: &Packet) -> Result<Vec<u8>, crate::Error> {
        let bytes = packet.encode()?;
        Ok(self.seal(&bytes)?)
    }

    /// The cipher state, e.g. to inspect the next IV.
    pub fn cipher(&self) -> &Cipher {
        &self.0
    }
}

/// The receiving half of a session: opens frame payloads.
#[derive(Clone)]
pub struct Opener(Cipher);

impl Opener {
    /// Decrypts one frame's ciphertext (without the length prefix).
    pub fn open(&mut self, ciphertext: &[u8]) -> Result<Vec<u8>, SessionError> {
        self.0.decrypt(ciphertext)
    }

    /// Decrypts and parses a frame sent by `from`.
    pub fn open_packet(&mut self, ciphertext: &[u8], from: Origin) -> Result<Packet, crate::Error> {
        let plain = self.open(ciphertext)?;
        Ok(Packet::decode(&plain, from)?)
    }

    /// The cipher state, e.g. to inspect the next IV.
    pub fn cipher(&self) -> &Cipher {
        &self.0
    }
}

/// Both directions of an established session. Both start from the session IV;
/// split it with [`Session::into_split`] to seal and open on separate tasks.
#[derive(Clone)]
pub struct Session {
    keys: SessionKeys,
    sealer: Sealer,
    opener: Opener,
}

impl Session {
    /// A fresh session: nothing sent or received yet.
    pub fn new(keys: SessionKeys) -> Self {
        let cipher = Cipher::new(keys.key, keys.iv);
        Self {
            sealer: Sealer(cipher.clone()),
            opener: Opener(cipher),
            keys,
        }
    }

    /// The credentials this session was made from.
    pub fn keys(&self) -> &SessionKeys {
        &self.keys
    }

    /// See [`Sealer::seal`].
    pub fn seal(&mut self, coap: &[u8]) -> Result<Vec<u8>, SessionError> {
        self.sealer.seal(coap)
    }

    /// See [`Sealer::seal_packet`].
    pub fn seal_packet(&mut self, packet: &Packet) -> Result<Vec<u8>, crate::Error> {
        self.sealer.seal_packet(packet)
    }

    /// See [`Opener::open`].
    pub fn open(&mut self, ciphertext: &[u8]) -> Result<Vec<u8>, SessionError> {
        self.opener.open(ciphertext)
    }

    /// See [`Opener::open_packet`].
    pub fn open_packet(&mut self, ciphertext: &[u8], from: Origin) -> Result<Packet, crate::Error> {
        self.opener.open_packet(ciphertext, from)
    }

    /// Splits into the sending and receiving halves.
    pub fn into_split(self) -> (Sealer, Opener) {
        (self.sealer, self.opener)
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").finish_non_exhaustive()
    }
}
