//! The 12-byte device id (the STM32 unique id) and its 24-hex-character form.

use std::fmt;
use std::str::FromStr;

/// Length of a raw device id in bytes.
pub const DEVICE_ID_LEN: usize = 12;

/// A device id. The server shows it as 24 lowercase hex characters, which is
/// what [`fmt::Display`] prints and [`FromStr`] accepts (either case).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeviceId([u8; DEVICE_ID_LEN]);

/// Why a string or byte slice is not a device id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceIdError {
    /// Not exactly 12 bytes / 24 hex characters.
    #[error("a device id is 12 bytes (24 hex characters), got {0}")]
    WrongLength(usize),
    /// A character that is not a hex digit.
    #[error("a device id must be hex")]
    NotHex,
}

impl DeviceId {
    /// Wraps raw id bytes.
    pub const fn new(bytes: [u8; DEVICE_ID_LEN]) -> Self {
        Self(bytes)
    }

    /// Reads an id from exactly 12 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, DeviceIdError> {
        <[u8; DEVICE_ID_LEN]>::try_from(bytes)
            .map(Self)
            .map_err(|_| DeviceIdError::WrongLength(bytes.len()))
    }

    /// The raw bytes, as sent in the handshake.
    pub const fn as_bytes(&self) -> &[u8; DEVICE_ID_LEN] {
        &self.0
    }

    /// The 24-character lowercase hex form used in URLs and key file names.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl From<[u8; DEVICE_ID_LEN]> for DeviceId {
    fn from(bytes: [u8; DEVICE_ID_LEN]) -> Self {
        Self(bytes)
    }
}

impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DeviceId({})", self.to_hex())
    }
}

impl FromStr for DeviceId {
    type Err = DeviceIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != DEVICE_ID_LEN * 2 {
            return Err(DeviceIdError::WrongLength(s.len() / 2));
        }
        let mut out = [0u8; DEVICE_ID_LEN];
        hex::decode_to_slice(s, &mut out).map_err(|_| DeviceIdError::NotHex)?;
        Ok(Self(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let id: DeviceId = "1A118AD1C886D54240CE4B17".parse().unwrap();
        assert_eq!(id.to_string(), "1a118ad1c886d54240ce4b17");
        assert_eq!(DeviceId::from_slice(id.as_bytes()).unwrap(), id);
        assert!("1a11".parse::<DeviceId>().is_err());
        assert!("zz118ad1c886d54240ce4b17".parse::<DeviceId>().is_err());
        assert!(DeviceId::from_slice(&[0; 11]).is_err());
    }
}
