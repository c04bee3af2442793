//! A device's event subscriptions and which bus events they let through.
//!
//! The Core's subscribe forms: a name prefix (none = every name), Uri-Query `u` (only
//! events from the owner's devices and API publishes), and a device-id payload (only that
//! device's events). On top of its filters, a device only ever receives what its owner may
//! see: public events, and private events of the same owner. Each event is delivered once,
//! however many subscriptions match it.

use spark_mock_protocol::messages::{Event as WireEvent, Subscribe};

use crate::events::Event;

/// At most this many distinct subscriptions per connection (a Core has 4 handlers); more
/// are refused so a device cannot grow the server's memory without bound.
pub const MAX_SUBSCRIPTIONS: usize = 32;

/// One subscription, normalised.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Sub {
    prefix: Option<String>,
    my_devices: bool,
    device_id: Option<String>,
}

impl Sub {
    fn matches(&self, e: &Event, owner: Option<&str>) -> bool {
        if let Some(p) = &self.prefix {
            if !e.name.starts_with(p.as_str()) {
                return false;
            }
        }
        if let Some(d) = &self.device_id {
            if !e.coreid.eq_ignore_ascii_case(d) {
                return false;
            }
        }
        !self.my_devices || (owner.is_some() && e.owner.as_deref() == owner)
    }
}

/// A subscription as `/__mock/state` lists it: the Core's three filters.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SubscriptionView {
    /// The name prefix; `None` matches every name.
    pub prefix: Option<String>,
    /// Uri-Query `u`: only events of the device's owner.
    pub my_devices: bool,
    /// Only this device's events.
    pub device_id: Option<String>,
}

/// The subscriptions of one connection.
#[derive(Debug, Default)]
pub struct Subscriptions {
    subs: Vec<Sub>,
}

/// Why a subscription was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many subscriptions (at most {MAX_SUBSCRIPTIONS})")]
pub struct TooMany;

impl Subscriptions {
    /// Adds a subscription; an identical one is kept once.
    pub fn add(&mut self, s: &Subscribe) -> Result<(), TooMany> {
        let sub = Sub {
            prefix: s.filter.clone().filter(|p| !p.is_empty()),
            my_devices: s.my_devices,
            device_id: s
                .device_id
                .as_ref()
                .map(|d| d.trim().to_ascii_lowercase())
                .filter(|d| !d.is_empty()),
        };
        if self.subs.contains(&sub) {
            return Ok(());
        }
        if self.subs.len() >= MAX_SUBSCRIPTIONS {
            return Err(TooMany);
        }
        self.subs.push(sub);
        Ok(())
    }

    /// The subscriptions, in the order the device sent them.
    pub fn views(&self) -> Vec<SubscriptionView> {
        self.subs
            .iter()
            .map(|s| SubscriptionView {
                prefix: s.prefix.clone(),
                my_devices: s.my_devices,
                device_id: s.device_id.clone(),
            })
            .collect()
    }

    /// Whether any subscription could match by name alone (a cheap first check before the
    /// owner is looked up).
    pub fn wants_name(&self, name: &str) -> bool {
        self.subs
            .iter()
            .any(|s| s.prefix.as_deref().is_none_or(|p| name.starts_with(p)))
    }

    /// The event as the device should receive it, if its owner may see it and a
    /// subscription matches.
    pub fn deliver(&self, e: &Event, owner: Option<&str>) -> Option<WireEvent> {
        let visible = e.public || (owner.is_some() && e.owner.as_deref() == owner);
        if !visible || !self.subs.iter().any(|s| s.matches(e, owner)) {
            return None;
        }
        Some(WireEvent {
            name: e.name.clone(),
            private: !e.public,
            ttl: e.ttl,
            data: e.data.clone().unwrap_or_default().into_bytes(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(name: &str, coreid: &str, public: bool, owner: &str) -> Event {
        Event {
            name: name.into(),
            data: Some("d".into()),
            ttl: 60,
            published_at: chrono::Utc::now(),
            coreid: coreid.into(),
            public,
            owner: Some(owner.into()),
        }
    }

    #[test]
    fn forms_and_visibility() {
        let mut all = Subscriptions::default();
        all.add(&Subscribe::all("temp")).unwrap();
        all.add(&Subscribe::all("temp")).unwrap();
        assert_eq!(all.subs.len(), 1, "duplicates are kept once");
        assert!(all
            .deliver(&ev("temperature", "x", true, "b"), Some("a"))
            .is_some());
        assert!(all
            .deliver(&ev("temperature", "x", false, "b"), Some("a"))
            .is_none());
        let own = all
            .deliver(&ev("temp", "x", false, "a"), Some("a"))
            .unwrap();
        assert!(own.private);
        assert!(all
            .deliver(&ev("humidity", "x", true, "b"), Some("a"))
            .is_none());

        let mut mine = Subscriptions::default();
        mine.add(&Subscribe::my_devices("temp")).unwrap();
        assert!(mine
            .deliver(&ev("temp", "x", true, "b"), Some("a"))
            .is_none());
        assert!(mine
            .deliver(&ev("temp", "x", true, "a"), Some("a"))
            .is_some());
        assert!(mine.deliver(&ev("temp", "x", true, "a"), None).is_none());

        let mut one = Subscriptions::default();
        one.add(&Subscribe::device("ABC")).unwrap();
        assert!(one.wants_name("anything"));
        assert!(one.deliver(&ev("t", "abc", true, "b"), None).is_some());
        assert!(one.deliver(&ev("t", "abd", true, "b"), None).is_none());

        let mut many = Subscriptions::default();
        for i in 0..MAX_SUBSCRIPTIONS {
            many.add(&Subscribe::all(format!("e{i}"))).unwrap();
        }
        assert_eq!(many.add(&Subscribe::all("one-more")), Err(TooMany));
    }
}
