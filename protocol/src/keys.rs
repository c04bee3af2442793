//! RSA key types: the server's 2048-bit key and a device's 1024-bit key.
//!
//! Sizes are checked on load because the handshake's fixed lengths (256-byte
//! device message, 128 + 256-byte reply) only work with exactly these sizes.

use rsa::pkcs1::{DecodeRsaPrivateKey, DecodeRsaPublicKey, EncodeRsaPrivateKey};
use rsa::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use rsa::rand_core::CryptoRngCore;
use rsa::traits::PublicKeyParts;

pub use rsa::{RsaPrivateKey, RsaPublicKey};

/// Modulus size of the server key.
pub const SERVER_KEY_BITS: usize = 2048;
/// Modulus size of a device key.
pub const DEVICE_KEY_BITS: usize = 1024;

/// Why a key could not be loaded, generated or encoded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The bytes are neither PKCS#1 nor PKCS#8 (PEM or DER) of the expected kind.
    #[error("not a {0} RSA key in PKCS#1 or PKCS#8 / SPKI form (PEM or DER)")]
    Unrecognised(&'static str),
    /// The key parsed but has the wrong modulus size for its role.
    #[error("expected a {expected}-bit RSA key, got {actual} bits")]
    WrongSize { expected: usize, actual: usize },
    /// Key generation failed inside `rsa`.
    #[error("RSA key generation failed: {0}")]
    Generate(#[source] rsa::Error),
    /// Encoding to DER/PEM failed (should not happen for valid keys).
    #[error("could not encode key: {0}")]
    Encode(String),
}

/// Checks that `key` has exactly `bits` bits of modulus.
pub fn check_bits(key: &RsaPublicKey, bits: usize) -> Result<(), KeyError> {
    let actual = key.size() * 8;
    if actual == bits {
        Ok(())
    } else {
        Err(KeyError::WrongSize {
            expected: bits,
            actual,
        })
    }
}

/// Loads an RSA public key of any size from PEM ("PUBLIC KEY" or
/// "RSA PUBLIC KEY") or DER (SPKI or PKCS#1). PEM is detected by its header.
pub fn load_public_key(data: &[u8]) -> Result<RsaPublicKey, KeyError> {
    let err = || KeyError::Unrecognised("public");
    if let Some(pem) = as_pem(data) {
        RsaPublicKey::from_public_key_pem(pem)
            .or_else(|_| RsaPublicKey::from_pkcs1_pem(pem))
            .map_err(|_| err())
    } else {
        RsaPublicKey::from_public_key_der(data)
            .or_else(|_| RsaPublicKey::from_pkcs1_der(data))
            .map_err(|_| err())
    }
}

/// Loads the server's public key (what a device holds) from PEM or DER and
/// checks it is 2048-bit.
pub fn load_server_public_key(data: &[u8]) -> Result<RsaPublicKey, KeyError> {
    let key = load_public_key(data)?;
    check_bits(&key, SERVER_KEY_BITS)?;
    Ok(key)
}

/// Loads a device public key (what the server stores per device) from PEM or
/// DER and checks it is 1024-bit.
pub fn load_device_public_key(data: &[u8]) -> Result<RsaPublicKey, KeyError> {
    let key = load_public_key(data)?;
    check_bits(&key, DEVICE_KEY_BITS)?;
    Ok(key)
}

/// DER SubjectPublicKeyInfo: 294 bytes for 2048-bit, 162 for 1024-bit. This
/// is what a Core keeps in flash and what Photon firmware appends in the
/// handshake.
pub fn public_key_to_der(key: &RsaPublicKey) -> Result<Vec<u8>, KeyError> {
    key.to_public_key_der()
        .map(|d| d.as_bytes().to_vec())
        .map_err(|e| KeyError::Encode(e.to_string()))
}

/// PEM "PUBLIC KEY" (SPKI), the form of spark-server's `core_keys/<id>.pub.pem`.
pub fn public_key_to_pem(key: &RsaPublicKey) -> Result<String, KeyError> {
    key.to_public_key_pem(LineEnding::LF)
        .map_err(|e| KeyError::Encode(e.to_string()))
}

fn as_pem(data: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(data).ok()?;
    text.contains("-----BEGIN").then_some(text.trim())
}

/// The leading DER SEQUENCE of `data` when it has a 2-byte long-form length
/// (every RSA key of these sizes) and is followed by more bytes.
fn der_prefix(data: &[u8]) -> Option<&[u8]> {
    match data {
        [0x30, 0x82, hi, lo, ..] => data.get(..4 + usize::from(u16::from_be_bytes([*hi, *lo]))),
        _ => None,
    }
}

fn load_private(data: &[u8], what: &'static str) -> Result<RsaPrivateKey, KeyError> {
    match as_pem(data) {
        Some(pem) => RsaPrivateKey::from_pkcs1_pem(pem)
            .or_else(|_| RsaPrivateKey::from_pkcs8_pem(pem))
            .map_err(|_| KeyError::Unrecognised(what)),
        None => load_der(data, what),
    }
}

/// PKCS#1 or PKCS#8 DER; bytes after the DER structure are ignored.
fn load_der(data: &[u8], what: &'static str) -> Result<RsaPrivateKey, KeyError> {
    let parse =
        |d: &[u8]| RsaPrivateKey::from_pkcs1_der(d).or_else(|_| RsaPrivateKey::from_pkcs8_der(d));
    parse(data)
        .or_else(|e| der_prefix(data).map_or(Err(e), parse))
        .map_err(|_| KeyError::Unrecognised(what))
}

macro_rules! private_key_type {
    ($(#[$doc:meta])* $name:ident, $bits:expr, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name {
            key: RsaPrivateKey,
            public: RsaPublicKey,
        }

        impl $name {
            /// Modulus size this role requires.
            pub const BITS: usize = $bits;

            /// Generates a fresh key (e = 65537). Slow in unoptimised builds.
            pub fn generate<R: CryptoRngCore + ?Sized>(rng: &mut R) -> Result<Self, KeyError> {
                let key = RsaPrivateKey::new(rng, $bits).map_err(KeyError::Generate)?;
                Self::from_rsa(key)
            }

            /// Wraps an `rsa` key after checking its size.
            pub fn from_rsa(key: RsaPrivateKey) -> Result<Self, KeyError> {
                let public = key.to_public_key();
                check_bits(&public, $bits)?;
                Ok(Self { key, public })
            }

            /// Loads PEM ("RSA PRIVATE KEY" or "PRIVATE KEY") or DER (PKCS#1 or
            /// PKCS#8); the format is detected.
            pub fn load(data: &[u8]) -> Result<Self, KeyError> {
                Self::from_rsa(load_private(data, $what)?)
            }

            /// Loads a PEM string (PKCS#1 or PKCS#8).
            pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
                Self::load(pem.as_bytes())
            }

            /// Loads DER (PKCS#1 or PKCS#8). Trailing bytes after the DER
            /// structure are ignored, so a Core's 612-byte zero-padded flash
            /// slot loads as is.
            pub fn from_der(der: &[u8]) -> Result<Self, KeyError> {
                Self::from_rsa(load_der(der, $what)?)
            }

            /// PEM "RSA PRIVATE KEY" (PKCS#1), the format spark-server writes.
            pub fn to_pkcs1_pem(&self) -> Result<String, KeyError> {
                self.key.to_pkcs1_pem(LineEnding::LF).map(|s| s.to_string())
                    .map_err(|e| KeyError::Encode(e.to_string()))
            }

            /// PEM "PRIVATE KEY" (PKCS#8).
            pub fn to_pkcs8_pem(&self) -> Result<String, KeyError> {
                self.key.to_pkcs8_pem(LineEnding::LF).map(|s| s.to_string())
                    .map_err(|e| KeyError::Encode(e.to_string()))
            }

            /// DER PKCS#1 RSAPrivateKey, the form a Core keeps in flash.
            pub fn to_pkcs1_der(&self) -> Result<Vec<u8>, KeyError> {
                self.key.to_pkcs1_der().map(|d| d.as_bytes().to_vec())
                    .map_err(|e| KeyError::Encode(e.to_string()))
            }

            /// The public half.
            pub fn public_key(&self) -> &RsaPublicKey {
                &self.public
            }

            /// The public half as DER SubjectPublicKeyInfo.
            pub fn public_der(&self) -> Result<Vec<u8>, KeyError> {
                public_key_to_der(&self.public)
            }

            /// The public half as PEM "PUBLIC KEY".
            pub fn public_pem(&self) -> Result<String, KeyError> {
                public_key_to_pem(&self.public)
            }

            /// The underlying `rsa` key.
            pub fn rsa(&self) -> &RsaPrivateKey {
                &self.key
            }
        }

        impl std::fmt::Debug for $name {
            // Never print private material.
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name)).finish_non_exhaustive()
            }
        }
    };
}

private_key_type!(
    /// The server's RSA-2048 private key (spark-server's `default_key.pem`).
    ServerKey, SERVER_KEY_BITS, "2048-bit server private"
);

private_key_type!(
    /// A device's RSA-1024 private key (external flash 0x2000 on a Core).
    DeviceKey, DEVICE_KEY_BITS, "1024-bit device private"
);
