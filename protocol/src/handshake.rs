//! The RSA handshake, as pure functions for each side.
//!
//! 1. server → device: 40-byte nonce, in clear ([`make_nonce`]);
//! 2. device → server: 256 bytes = RSA-PKCS#1 v1.5 (server key) of nonce ‖
//!    12-byte id [‖ DER SPKI of the device key, Photon style]
//!    ([`build_device_message`] / [`open_device_message`]);
//! 3. server → device: 384 bytes = C ‖ S, where C (128) encrypts the 40
//!    credential bytes to the device key and S (256) is the server's
//!    *unprefixed* PKCS#1 v1.5 signature of HMAC-SHA1(key = credentials,
//!    msg = C) — no DigestInfo, i.e. OpenSSL's private_encrypt
//!    ([`build_server_reply`] / [`open_server_reply`]).

use hmac::{Hmac, Mac};
use rsa::rand_core::CryptoRngCore;
use rsa::{Pkcs1v15Encrypt, Pkcs1v15Sign, RsaPublicKey};
use sha1::Sha1;

use crate::device_id::{DeviceId, DEVICE_ID_LEN};
use crate::keys::{
    self, check_bits, DeviceKey, KeyError, ServerKey, DEVICE_KEY_BITS, SERVER_KEY_BITS,
};
use crate::session::{SessionKeys, CREDENTIALS_LEN};

/// Length of the server's nonce.
pub const NONCE_LEN: usize = 40;
/// Length of the device's RSA message (one 2048-bit block).
pub const DEVICE_MESSAGE_LEN: usize = 256;
/// Plaintext length on a Core: nonce ‖ id.
pub const CORE_PLAINTEXT_LEN: usize = NONCE_LEN + DEVICE_ID_LEN;
/// Length of the server's reply: C (128) ‖ S (256).
pub const SERVER_REPLY_LEN: usize = 384;
const C_LEN: usize = 128;

/// The server's nonce.
pub type Nonce = [u8; NONCE_LEN];

/// Why a handshake step failed. Every variant means "drop the connection".
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    /// A key of the wrong size for its role.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A handshake message of the wrong length.
    #[error("{what} must be {expected} bytes, got {actual}")]
    BadLength {
        what: &'static str,
        expected: usize,
        actual: usize,
    },
    /// RSA decryption failed: wrong key, or not PKCS#1 v1.5.
    #[error("RSA decryption of the {0} failed")]
    Decrypt(&'static str),
    /// The device's plaintext is shorter than nonce ‖ id.
    #[error("device message plaintext is {0} bytes, needs at least 52")]
    TooShort(usize),
    /// The device did not echo the nonce.
    #[error("nonce mismatch")]
    NonceMismatch,
    /// Bytes after the id are not a DER public key.
    #[error("appended device public key is not valid DER")]
    BadAppendedKey,
    /// The decrypted credentials are not 40 bytes.
    #[error("session credentials are {0} bytes, expected 40")]
    BadCredentials(usize),
    /// The server's signature over the HMAC does not verify.
    #[error("server signature does not verify")]
    BadSignature,
    /// RSA encryption or signing failed (e.g. plaintext too long).
    #[error("RSA operation failed: {0}")]
    Rsa(#[source] rsa::Error),
}

/// What the server learns from the device's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceIntro {
    /// The device id.
    pub device_id: DeviceId,
    /// The public key a Photon-style device appends, if any.
    pub public_key: Option<RsaPublicKey>,
}

/// Draws the 40-byte nonce.
pub fn make_nonce<R: CryptoRngCore>(rng: &mut R) -> Nonce {
    let mut n = [0u8; NONCE_LEN];
    rng.fill_bytes(&mut n);
    n
}

fn expect_len(what: &'static str, expected: usize, bytes: &[u8]) -> Result<(), HandshakeError> {
    if bytes.len() == expected {
        Ok(())
    } else {
        Err(HandshakeError::BadLength {
            what,
            expected,
            actual: bytes.len(),
        })
    }
}

/// Server side: decrypts and checks the device's 256-byte message.
pub fn open_device_message<R: CryptoRngCore>(
    rng: &mut R,
    server_key: &ServerKey,
    nonce: &Nonce,
    message: &[u8],
) -> Result<DeviceIntro, HandshakeError> {
    expect_len("device handshake message", DEVICE_MESSAGE_LEN, message)?;
    let plain = server_key
        .rsa()
        .decrypt_blinded(rng, Pkcs1v15Encrypt, message)
        .map_err(|_| HandshakeError::Decrypt("device message"))?;
    let (Some(got_nonce), Some(id)) = (
        plain.get(..NONCE_LEN),
        plain.get(NONCE_LEN..CORE_PLAINTEXT_LEN),
    ) else {
        return Err(HandshakeError::TooShort(plain.len()));
    };
    if got_nonce != nonce {
        return Err(HandshakeError::NonceMismatch);
    }
    let device_id = DeviceId::from_slice(id).map_err(|_| HandshakeError::TooShort(plain.len()))?;
    let appended = plain.get(CORE_PLAINTEXT_LEN..).unwrap_or_default();
    let public_key = if appended.is_empty() {
        None
    } else {
        Some(keys::load_public_key(appended).map_err(|_| HandshakeError::BadAppendedKey)?)
    };
    Ok(DeviceIntro {
        device_id,
        public_key,
    })
}

/// Device side: builds the 256-byte message. With `appended_key` (Photon
/// style, required by the Brewskey server) the device's DER SPKI follows the
/// id, 214 bytes of plaintext for a 1024-bit key.
pub fn build_device_message<R: CryptoRngCore>(
    rng: &mut R,
    server_public: &RsaPublicKey,
    nonce: &[u8],
    device_id: &DeviceId,
    appended_key: Option<&RsaPublicKey>,
) -> Result<Vec<u8>, HandshakeError> {
    check_bits(server_public, SERVER_KEY_BITS)?;
    expect_len("nonce", NONCE_LEN, nonce)?;
    let mut plain = Vec::with_capacity(CORE_PLAINTEXT_LEN + 162);
    plain.extend_from_slice(nonce);
    plain.extend_from_slice(device_id.as_bytes());
    if let Some(k) = appended_key {
        plain.extend_from_slice(&keys::public_key_to_der(k)?);
    }
    server_public
        .encrypt(rng, Pkcs1v15Encrypt, &plain)
        .map_err(HandshakeError::Rsa)
}

/// HMAC-SHA1 with the credentials as key and C as message.
pub fn credentials_hmac(credentials: &[u8], c: &[u8]) -> [u8; 20] {
    // HMAC takes keys of any length, so this cannot fail; the fallback only
    // exists to avoid a panic path.
    match Hmac::<Sha1>::new_from_slice(credentials) {
        Ok(mut mac) => {
            mac.update(c);
            mac.finalize().into_bytes().into()
        }
        Err(_) => [0; 20],
    }
}

/// Server side: draws fresh credentials and builds the 384-byte reply.
pub fn build_server_reply<R: CryptoRngCore>(
    rng: &mut R,
    server_key: &ServerKey,
    device_public: &RsaPublicKey,
) -> Result<(Vec<u8>, SessionKeys), HandshakeError> {
    let mut creds = [0u8; CREDENTIALS_LEN];
    rng.fill_bytes(&mut creds);
    let keys = SessionKeys::from_credentials(&creds);
    let reply = build_server_reply_with(rng, server_key, device_public, &keys)?;
    Ok((reply, keys))
}

/// Server side with chosen credentials (deterministic sessions for tests).
pub fn build_server_reply_with<R: CryptoRngCore>(
    rng: &mut R,
    server_key: &ServerKey,
    device_public: &RsaPublicKey,
    keys: &SessionKeys,
) -> Result<Vec<u8>, HandshakeError> {
    check_bits(device_public, DEVICE_KEY_BITS)?;
    let creds = keys.credentials();
    let c = device_public
        .encrypt(rng, Pkcs1v15Encrypt, &creds)
        .map_err(HandshakeError::Rsa)?;
    let h = credentials_hmac(&creds, &c);
    let s = server_key
        .rsa()
        .sign_with_rng(rng, Pkcs1v15Sign::new_unprefixed(), &h)
        .map_err(HandshakeError::Rsa)?;
    let mut reply = c;
    reply.extend_from_slice(&s);
    expect_len("server reply", SERVER_REPLY_LEN, &reply)?;
    Ok(reply)
}

/// Device side: decrypts C, recomputes the HMAC and checks S against the
/// server's public key, then returns the session keys.
pub fn open_server_reply(
    device_key: &DeviceKey,
    server_public: &RsaPublicKey,
    reply: &[u8],
) -> Result<SessionKeys, HandshakeError> {
    check_bits(server_public, SERVER_KEY_BITS)?;
    expect_len("server reply", SERVER_REPLY_LEN, reply)?;
    let (c, s) = reply.split_at(C_LEN);
    let creds = device_key
        .rsa()
        .decrypt(Pkcs1v15Encrypt, c)
        .map_err(|_| HandshakeError::Decrypt("session credentials"))?;
    let keys =
        SessionKeys::from_slice(&creds).map_err(|_| HandshakeError::BadCredentials(creds.len()))?;
    let h = credentials_hmac(&creds, c);
    server_public
        .verify(Pkcs1v15Sign::new_unprefixed(), &h, s)
        .map_err(|_| HandshakeError::BadSignature)?;
    Ok(keys)
}
