//! Events and subscriptions.
//!
//! A published event's name is one Uri-Path option (slashes stay inside it);
//! an event sent to a device is split on `/` into several options. Max-Age
//! (the TTL) is sent only when it is not the default 60, as 3 bytes.

use crate::coap::{decode_uint, option, CoapOption};

use super::MessageError;

/// TTL assumed when Max-Age is absent.
pub const DEFAULT_TTL: u32 = 60;

/// An event, published by a device or delivered to one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Event name (up to 63 bytes on a Core).
    pub name: String,
    /// `E` (private) rather than `e` (public).
    pub private: bool,
    /// Time to live in seconds (0…16 777 215).
    pub ttl: u32,
    /// Event data; empty means no payload.
    pub data: Vec<u8>,
}

impl Event {
    /// A public event with the default TTL.
    pub fn public(name: impl Into<String>, data: impl Into<Vec<u8>>) -> Self {
        Self {
            name: name.into(),
            private: false,
            ttl: DEFAULT_TTL,
            data: data.into(),
        }
    }

    /// A private event with the default TTL.
    pub fn private(name: impl Into<String>, data: impl Into<Vec<u8>>) -> Self {
        Self {
            private: true,
            ..Self::public(name, data)
        }
    }

    /// Sets the TTL (builder style).
    pub fn with_ttl(mut self, ttl: u32) -> Self {
        self.ttl = ttl;
        self
    }

    pub(super) fn options(&self, split_name: bool) -> Vec<CoapOption> {
        let kind = if self.private { b"E" } else { b"e" };
        let mut opts = vec![path(kind)];
        if split_name {
            opts.extend(self.name.split('/').map(|s| path(s.as_bytes())));
        } else {
            opts.push(path(self.name.as_bytes()));
        }
        if self.ttl != DEFAULT_TTL {
            let be = self.ttl.to_be_bytes();
            let value = if self.ttl <= 0x00ff_ffff {
                be[1..].to_vec()
            } else {
                be.to_vec()
            };
            opts.push(CoapOption {
                number: option::MAX_AGE,
                value,
            });
        }
        opts
    }

    pub(super) fn parse(
        private: bool,
        rest: &[&[u8]],
        max_age: Option<&[u8]>,
        payload: &[u8],
    ) -> Result<Self, MessageError> {
        let ttl = match max_age {
            None => DEFAULT_TTL,
            Some(v) => decode_uint(v).ok_or(MessageError::BadOption("Max-Age"))?,
        };
        Ok(Self {
            name: join(rest),
            private,
            ttl,
            data: payload.to_vec(),
        })
    }
}

/// A subscription. The Core's forms: a name filter (one Uri-Path option),
/// optionally with Uri-Query `u` (only the owner's devices), or a device-id
/// payload (only that device's events).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Subscribe {
    /// Event name prefix; `None` subscribes without a filter.
    pub filter: Option<String>,
    /// Uri-Query `u`: restrict to the owner's own devices.
    pub my_devices: bool,
    /// Payload: restrict to one device (24-hex id).
    pub device_id: Option<String>,
}

impl Subscribe {
    /// Subscribe to names starting with `prefix` from anyone (the firehose).
    pub fn all(prefix: impl Into<String>) -> Self {
        Self {
            filter: Some(prefix.into()),
            ..Self::default()
        }
    }

    /// Subscribe to names starting with `prefix` from the owner's devices.
    pub fn my_devices(prefix: impl Into<String>) -> Self {
        Self {
            my_devices: true,
            ..Self::all(prefix)
        }
    }

    /// Subscribe to one device's events.
    pub fn device(device_id: impl Into<String>) -> Self {
        Self {
            device_id: Some(device_id.into()),
            ..Self::default()
        }
    }

    pub(super) fn options(&self) -> Vec<CoapOption> {
        let mut opts = vec![path(b"e")];
        if let Some(f) = &self.filter {
            opts.push(path(f.as_bytes()));
        }
        if self.my_devices {
            opts.push(CoapOption {
                number: option::URI_QUERY,
                value: b"u".to_vec(),
            });
        }
        opts
    }

    pub(super) fn payload(&self) -> Vec<u8> {
        self.device_id
            .as_ref()
            .map(|d| d.as_bytes().to_vec())
            .unwrap_or_default()
    }

    pub(super) fn parse<'a>(
        rest: &[&[u8]],
        mut queries: impl Iterator<Item = &'a [u8]>,
        payload: &[u8],
    ) -> Self {
        Self {
            filter: (!rest.is_empty()).then(|| join(rest)),
            my_devices: queries.any(|q| q == b"u"),
            device_id: (!payload.is_empty()).then(|| String::from_utf8_lossy(payload).into_owned()),
        }
    }
}

pub(super) fn path(v: &[u8]) -> CoapOption {
    CoapOption {
        number: option::URI_PATH,
        value: v.to_vec(),
    }
}

/// Joins path segments with `/` (the Core and spark-protocol both do this).
pub(super) fn join(segments: &[&[u8]]) -> String {
    segments
        .iter()
        .map(|s| String::from_utf8_lossy(s))
        .collect::<Vec<_>>()
        .join("/")
}
