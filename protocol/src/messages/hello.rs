//! Hello: the device's first encrypted message, in the Core's 6-byte form or
//! Device OS's extended form with platform id and device id.

use super::MessageError;

/// Hello flag bits (bit 0 on the Core; the rest from Device OS).
pub mod flags {
    /// The previous OTA update succeeded (set after an OTA reboot).
    pub const OTA_SUCCEEDED: u8 = 0x01;
    /// Device OS: diagnostics supported.
    pub const DIAGNOSTICS: u8 = 0x02;
    /// Device OS: immediate updates supported.
    pub const IMMEDIATE_UPDATES: u8 = 0x04;
    /// Device OS: goodbye messages supported.
    pub const GOODBYE: u8 = 0x10;
    /// Device OS: device-initiated describe.
    pub const DEVICE_INITIATED_DESCRIBE: u8 = 0x20;
    /// Device OS: compressed OTA.
    pub const COMPRESSED_OTA: u8 = 0x40;
    /// Device OS: OTA protocol v3.
    pub const OTA_V3: u8 = 0x80;
}

/// Platform ids carried by the extended Hello.
pub mod platform {
    /// Spark Core.
    pub const CORE: u16 = 0;
    /// Photon.
    pub const PHOTON: u16 = 6;
    /// P1.
    pub const P1: u16 = 8;
    /// Electron.
    pub const ELECTRON: u16 = 10;
}

/// The Hello payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// Product id (0xFFFF on a stock Core).
    pub product_id: u16,
    /// Product firmware version (0xFFFF on a stock Core).
    pub firmware_version: u16,
    /// Flag bits, see [`flags`].
    pub flags: u8,
    /// The Device OS extension; `None` for the Core's 6-byte form.
    pub platform: Option<HelloPlatform>,
}

/// The Device OS (Photon-era) part of Hello. Brewskey's server reads the
/// platform id at offset 6, so it needs at least this much.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelloPlatform {
    /// Platform id, see [`platform`].
    pub platform_id: u16,
    /// Raw device id bytes, when sent.
    pub device_id: Option<Vec<u8>>,
    /// Max content length, when sent (needs `device_id`).
    pub max_content_length: Option<u16>,
}

impl Hello {
    /// A stock Core: product and firmware 0xFFFF, no flags.
    pub fn core() -> Self {
        Self {
            product_id: 0xffff,
            firmware_version: 0xffff,
            flags: 0,
            platform: None,
        }
    }

    /// A Photon-style Hello with platform id and device id.
    pub fn photon(device_id: &[u8]) -> Self {
        Self {
            platform: Some(HelloPlatform {
                platform_id: platform::PHOTON,
                device_id: Some(device_id.to_vec()),
                max_content_length: None,
            }),
            ..Self::core()
        }
    }

    /// The payload bytes. Layout: product u16, firmware u16, reserved 0,
    /// flags; then platform u16, reserved 0, id length, id, max length u16.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(24);
        out.extend_from_slice(&self.product_id.to_be_bytes());
        out.extend_from_slice(&self.firmware_version.to_be_bytes());
        out.push(0);
        out.push(self.flags);
        if let Some(p) = &self.platform {
            out.extend_from_slice(&p.platform_id.to_be_bytes());
            if let Some(id) = &p.device_id {
                let id = &id[..id.len().min(255)];
                out.push(0);
                out.push(id.len() as u8);
                out.extend_from_slice(id);
                if let Some(max) = p.max_content_length {
                    out.extend_from_slice(&max.to_be_bytes());
                }
            }
        }
        out
    }

    /// Parses a payload. spark-protocol reads only the first 4 bytes, so 4 is
    /// the minimum (missing flags read as 0); extension fields are taken only
    /// when complete.
    pub fn decode(p: &[u8]) -> Result<Self, MessageError> {
        let be16 = |i: usize| p.get(i..i + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
        let (Some(product_id), Some(firmware_version)) = (be16(0), be16(2)) else {
            return Err(MessageError::BadPayload {
                what: "hello",
                len: p.len(),
            });
        };
        let flags = p.get(5).copied().unwrap_or(0);
        let platform = be16(6).map(|platform_id| {
            let id_len = p.get(9).map(|l| usize::from(*l));
            let device_id = id_len.and_then(|l| p.get(10..10 + l)).map(<[u8]>::to_vec);
            let max_content_length = match (&device_id, id_len) {
                (Some(_), Some(l)) => be16(10 + l),
                _ => None,
            };
            HelloPlatform {
                platform_id,
                device_id,
                max_content_length,
            }
        });
        Ok(Self {
            product_id,
            firmware_version,
            flags,
            platform,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_and_photon_forms() {
        assert_eq!(Hello::core().encode(), hex::decode("ffffffff0000").unwrap());
        assert_eq!(
            Hello::decode(&Hello::core().encode()).unwrap(),
            Hello::core()
        );
        let mut h = Hello::photon(&[1; 12]);
        h.flags = flags::OTA_SUCCEEDED;
        if let Some(p) = h.platform.as_mut() {
            p.max_content_length = Some(622);
        }
        let bytes = h.encode();
        assert_eq!(&bytes[6..10], &[0, 6, 0, 12]);
        assert_eq!(bytes.len(), 24);
        assert_eq!(Hello::decode(&bytes).unwrap(), h);
        let short = Hello::decode(&bytes[..8]).unwrap();
        assert_eq!(
            short.platform.map(|p| (p.platform_id, p.device_id)),
            Some((6, None))
        );
        assert!(Hello::decode(&[1, 2, 3]).is_err());
    }
}
