//! The event bus: every published event (from devices, from the API, and the cloud's own
//! `spark/status`) goes through one broadcast channel; each SSE stream and each device
//! connection filters it for itself.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::broadcast;

/// Events a slow subscriber may fall behind by before it skips ahead.
const CAPACITY: usize = 4096;

/// One published event.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub name: String,
    /// `None` when published without data (SSE shows `null`).
    pub data: Option<String>,
    pub ttl: u32,
    pub published_at: DateTime<Utc>,
    /// The publishing device's id, or `"api"` for events published through the API.
    pub coreid: String,
    pub public: bool,
    /// The user who owns the source: the device's owner, or the API publisher.
    pub owner: Option<String>,
}

/// Which events a subscriber sees.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// `/v1/events`: every public event, plus the caller's own private ones.
    Firehose { user: String },
    /// `/v1/devices/events`: every event, public or private, from the caller's devices and
    /// the caller's API publishes.
    Mine { user: String },
    /// `/v1/devices/:id/events`: one device; its private events only for its owner.
    Device { device_id: String, user: String },
    /// Everything (the admin dashboard).
    All,
}

/// A subscription: a scope and an optional name prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    pub scope: Scope,
    pub prefix: Option<String>,
}

impl Filter {
    pub fn matches(&self, e: &Event) -> bool {
        if let Some(p) = &self.prefix {
            if !e.name.starts_with(p.as_str()) {
                return false;
            }
        }
        let own = |user: &str| e.owner.as_deref() == Some(user);
        match &self.scope {
            Scope::All => true,
            Scope::Firehose { user } => e.public || own(user),
            Scope::Mine { user } => own(user),
            Scope::Device { device_id, user } => e.coreid == *device_id && (e.public || own(user)),
        }
    }
}

/// An open event stream, as `/__mock/state` lists it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Subscription {
    pub id: u64,
    pub user: Option<String>,
    pub route: String,
    pub prefix: Option<String>,
    pub remote_addr: Option<String>,
    pub opened_at: DateTime<Utc>,
}

type Table = Arc<parking_lot::Mutex<(u64, std::collections::BTreeMap<u64, Subscription>)>>;

/// Keeps a subscription listed while it lives.
pub struct Tracked {
    table: Table,
    id: u64,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.table.lock().1.remove(&self.id);
    }
}

/// Events an event stream may fall behind by before it skips ahead.
const STREAM_CAPACITY: usize = 1024;

/// A filtered subscriber with its own channel.
struct Stream {
    id: u64,
    filter: Filter,
    tx: tokio::sync::mpsc::Sender<Arc<Event>>,
}

type Streams = Arc<parking_lot::Mutex<(u64, Vec<Stream>)>>;

/// A filtered subscription: its events, and its place in the bus until dropped.
pub struct FilteredEvents {
    pub rx: tokio::sync::mpsc::Receiver<Arc<Event>>,
    streams: Streams,
    id: u64,
}

impl Drop for FilteredEvents {
    fn drop(&mut self) {
        self.streams.lock().1.retain(|s| s.id != self.id);
    }
}

#[derive(Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Arc<Event>>,
    table: Table,
    /// SSE streams: filtered when an event is published, each woken through its own channel,
    /// so a thousand streams neither contend for one waiter list nor wake for events they
    /// would drop.
    streams: Streams,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus {
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(CAPACITY);
        EventBus {
            tx,
            table: Table::default(),
            streams: Streams::default(),
        }
    }

    /// Publishes to every current subscriber; with none, the event is simply gone, as in
    /// the cloud.
    pub fn publish(&self, event: Event) {
        let event = Arc::new(event);
        for s in self.streams.lock().1.iter() {
            if s.filter.matches(&event) {
                // A stream that fell this far behind skips the event, as a lagging
                // broadcast receiver would.
                let _ = s.tx.try_send(event.clone());
            }
        }
        let _ = self.tx.send(event);
    }

    /// Events that match `filter`, from now on, until the returned value is dropped.
    pub fn subscribe_filtered(&self, filter: Filter) -> FilteredEvents {
        let (tx, rx) = tokio::sync::mpsc::channel(STREAM_CAPACITY);
        let mut streams = self.streams.lock();
        streams.0 += 1;
        let id = streams.0;
        streams.1.push(Stream { id, filter, tx });
        FilteredEvents {
            rx,
            streams: self.streams.clone(),
            id,
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }

    /// Lists an open stream until the returned guard is dropped.
    pub fn track(&self, mut sub: Subscription) -> Tracked {
        let mut t = self.table.lock();
        t.0 += 1;
        sub.id = t.0;
        let id = sub.id;
        t.1.insert(id, sub);
        Tracked {
            table: self.table.clone(),
            id,
        }
    }

    /// The open streams.
    pub fn subscriptions(&self) -> Vec<Subscription> {
        self.table.lock().1.values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(name: &str, coreid: &str, public: bool, owner: &str) -> Event {
        Event {
            name: name.into(),
            data: None,
            ttl: 60,
            published_at: Utc::now(),
            coreid: coreid.into(),
            public,
            owner: Some(owner.into()),
        }
    }

    #[test]
    fn prefix_and_visibility_rules() {
        let a_private = ev("temperature", "dev-a", false, "a");
        let b_public = ev("temp", "dev-b", true, "b");
        let fire_a = Filter {
            scope: Scope::Firehose { user: "a".into() },
            prefix: Some("temp".into()),
        };
        assert!(fire_a.matches(&a_private));
        assert!(fire_a.matches(&b_public));
        let fire_b = Filter {
            scope: Scope::Firehose { user: "b".into() },
            prefix: None,
        };
        assert!(
            !fire_b.matches(&a_private),
            "someone else's private event leaked"
        );
        let mine_a = Filter {
            scope: Scope::Mine { user: "a".into() },
            prefix: None,
        };
        assert!(mine_a.matches(&a_private));
        assert!(!mine_a.matches(&b_public));
        let dev_b_as_a = Filter {
            scope: Scope::Device {
                device_id: "dev-b".into(),
                user: "a".into(),
            },
            prefix: Some("tempe".into()),
        };
        assert!(!dev_b_as_a.matches(&b_public), "prefix must filter");
    }

    #[tokio::test]
    async fn subscribers_receive_published_events() {
        let bus = EventBus::new();
        let mut rx = bus.subscribe();
        bus.publish(ev("x", "api", true, "a"));
        assert_eq!(rx.recv().await.unwrap().name, "x");
    }

    #[tokio::test]
    async fn filtered_subscribers_get_only_their_events_until_dropped() {
        let bus = EventBus::new();
        let mut mine = bus.subscribe_filtered(Filter {
            scope: Scope::Mine { user: "a".into() },
            prefix: Some("temp".into()),
        });
        bus.publish(ev("humidity", "d", false, "a"));
        bus.publish(ev("temp", "d", true, "b"));
        bus.publish(ev("temperature", "d", false, "a"));
        assert_eq!(mine.rx.recv().await.unwrap().name, "temperature");
        assert!(mine.rx.try_recv().is_err(), "nothing else matched");
        assert_eq!(bus.streams.lock().1.len(), 1);
        drop(mine);
        assert!(
            bus.streams.lock().1.is_empty(),
            "a dropped stream leaves the bus"
        );
    }
}
