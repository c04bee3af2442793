//! Fault injection: per-device faults (offline, latency, no answer, dropped connection,
//! refused reconnects) and per-route faults (delay, an error status with probability p from
//! a seeded generator, SSE streams cut short, keep-alives stopped). Plain data; the device
//! port, device calls (`devices::call`) and the HTTP middleware consult it.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use parking_lot::{Mutex, RwLock};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::clock::deadline;

/// What goes wrong with a device.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "snake_case")]
pub enum DeviceFault {
    /// Disconnected and refused until the fault is removed.
    Offline,
    /// Function calls and variable reads wait `ms` before reaching the device.
    Latency { ms: u64 },
    /// Calls and reads never get an answer (they time out).
    NoAnswer,
    /// The connection is dropped once; the device may reconnect.
    Drop,
    /// The connection is dropped and reconnects are refused for `secs` seconds.
    RefuseReconnect { secs: u64 },
}

/// What goes wrong with an API route.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "snake_case")]
pub enum RouteFault {
    /// Every matching request waits `ms` first.
    Delay { ms: u64 },
    /// Matching requests fail with `status`, each with probability `probability` (default 1).
    Error {
        status: u16,
        #[serde(default = "one")]
        probability: f64,
    },
    /// Event streams end after `after_events` events or `after_secs` seconds.
    CutSse {
        after_events: Option<u64>,
        after_secs: Option<u64>,
    },
    /// Event streams send no keep-alives.
    NoKeepalive,
}

fn one() -> f64 {
    1.0
}

/// An active fault and what it applies to.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Active {
    pub id: u64,
    /// A device id, for device faults.
    pub device: Option<String>,
    /// A path prefix (and optional method), for route faults.
    pub route: Option<String>,
    pub method: Option<String>,
    #[serde(flatten)]
    pub kind: FaultKind,
    pub created_at: DateTime<Utc>,
    /// When a time-limited fault ends by itself.
    pub until: Option<DateTime<Utc>>,
    /// How many requests or calls it has shaped.
    pub hits: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum FaultKind {
    Device(DeviceFault),
    Route(RouteFault),
}

#[derive(Default)]
struct Set {
    active: Vec<Active>,
    next_id: u64,
}

#[derive(Clone)]
pub struct Faults {
    set: Arc<RwLock<Set>>,
    rng: Arc<Mutex<StdRng>>,
}

impl Faults {
    /// `seed` makes "error with probability p" reproducible.
    pub fn new(seed: u64) -> Self {
        Faults {
            set: Arc::default(),
            rng: Arc::new(Mutex::new(StdRng::seed_from_u64(seed))),
        }
    }

    fn add(&self, mut a: Active) -> Active {
        let mut set = self.set.write();
        set.next_id += 1;
        a.id = set.next_id;
        set.active.push(a.clone());
        a
    }

    pub fn add_device(&self, device: &str, fault: DeviceFault, now: DateTime<Utc>) -> Active {
        let until = match &fault {
            DeviceFault::RefuseReconnect { secs } => Some(
                // Longer than a duration can hold: refused for good.
                i64::try_from(*secs)
                    .ok()
                    .and_then(Duration::try_seconds)
                    .map_or(DateTime::<Utc>::MAX_UTC, |d| deadline(now, d)),
            ),
            // A drop happens once, when the fault is added; nothing stays in force.
            DeviceFault::Drop => Some(now),
            _ => None,
        };
        self.add(Active {
            id: 0,
            device: Some(device.to_string()),
            route: None,
            method: None,
            kind: FaultKind::Device(fault),
            created_at: now,
            until,
            hits: 0,
        })
    }

    pub fn add_route(
        &self,
        route: &str,
        method: Option<String>,
        fault: RouteFault,
        now: DateTime<Utc>,
    ) -> Active {
        self.add(Active {
            id: 0,
            device: None,
            route: Some(route.to_string()),
            method: method.map(|m| m.to_ascii_uppercase()),
            kind: FaultKind::Route(fault),
            created_at: now,
            until: None,
            hits: 0,
        })
    }

    /// Removes one fault; false if there was none with that id.
    pub fn remove(&self, id: u64) -> bool {
        let mut set = self.set.write();
        let before = set.active.len();
        set.active.retain(|a| a.id != id);
        set.active.len() != before
    }

    pub fn clear(&self) {
        self.set.write().active.clear();
    }

    /// The faults in force at `now` (expired ones are dropped).
    pub fn list(&self, now: DateTime<Utc>) -> Vec<Active> {
        let mut set = self.set.write();
        set.active.retain(|a| a.until.is_none_or(|u| u > now));
        set.active.clone()
    }

    /// The device faults in force for `device`, counting a hit on each.
    pub fn for_device(&self, device: &str, now: DateTime<Utc>) -> Vec<DeviceFault> {
        // Most requests run with no fault at all: answer them under the shared lock.
        if self.set.read().active.is_empty() {
            return Vec::new();
        }
        let mut set = self.set.write();
        set.active.retain(|a| a.until.is_none_or(|u| u > now));
        set.active
            .iter_mut()
            .filter(|a| a.device.as_deref() == Some(device))
            .filter_map(|a| match &a.kind {
                FaultKind::Device(f) => {
                    a.hits += 1;
                    Some(f.clone())
                }
                FaultKind::Route(_) => None,
            })
            .collect()
    }

    /// Whether a device may connect now (no `offline` or `refuse_reconnect` in force).
    pub fn refuses(&self, device: &str, now: DateTime<Utc>) -> bool {
        self.list(now).iter().any(|a| {
            a.device.as_deref() == Some(device)
                && matches!(
                    a.kind,
                    FaultKind::Device(DeviceFault::Offline | DeviceFault::RefuseReconnect { .. })
                )
        })
    }

    /// The route faults matching a request, counting a hit on each. For `Error` faults the
    /// seeded generator decides, per request, whether it fires; ones that don't are left out.
    pub fn for_route(&self, method: &str, path: &str) -> Vec<(u64, RouteFault)> {
        if self.set.read().active.is_empty() {
            return Vec::new();
        }
        let mut set = self.set.write();
        let mut rng = self.rng.lock();
        let mut out = Vec::new();
        for a in set.active.iter_mut() {
            let (Some(route), FaultKind::Route(f)) = (&a.route, &a.kind) else {
                continue;
            };
            if !path.starts_with(route.as_str()) || a.method.as_deref().is_some_and(|m| m != method)
            {
                continue;
            }
            if let RouteFault::Error { probability, .. } = f {
                if rng.gen::<f64>() >= *probability {
                    continue;
                }
            }
            a.hits += 1;
            out.push((a.id, f.clone()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_with_probability_are_reproducible_from_the_seed() {
        let run = |seed| {
            let f = Faults::new(seed);
            f.add_route(
                "/v1/devices",
                None,
                RouteFault::Error {
                    status: 500,
                    probability: 0.5,
                },
                Utc::now(),
            );
            (0..64)
                .map(|_| !f.for_route("GET", "/v1/devices").is_empty())
                .collect::<Vec<_>>()
        };
        let a = run(7);
        assert_eq!(a, run(7));
        let fired = a.iter().filter(|x| **x).count();
        assert!((10..54).contains(&fired), "p=0.5 fired {fired}/64");
        assert_ne!(a, run(8));
    }

    #[test]
    fn routes_match_by_prefix_and_method() {
        let f = Faults::new(1);
        f.add_route(
            "/v1/devices",
            Some("post".into()),
            RouteFault::Delay { ms: 5 },
            Utc::now(),
        );
        assert!(f.for_route("GET", "/v1/devices/x").is_empty());
        assert_eq!(f.for_route("POST", "/v1/devices/x/led").len(), 1);
        assert!(f.for_route("POST", "/v1/events").is_empty());
    }

    #[test]
    fn refuse_reconnect_expires_by_the_clock() {
        let f = Faults::new(1);
        let now = Utc::now();
        f.add_device("d", DeviceFault::RefuseReconnect { secs: 10 }, now);
        assert!(f.refuses("d", now));
        assert!(!f.refuses("d", now + Duration::seconds(11)));
        assert!(f.list(now + Duration::seconds(11)).is_empty());
        let off = f.add_device("d", DeviceFault::Offline, now);
        assert!(f.refuses("d", now + Duration::days(1)));
        assert!(f.remove(off.id));
        assert!(!f.refuses("d", now));
        // Longer than time can hold: refused for good, without a panic.
        for secs in [u64::MAX, i64::MAX as u64, 1 << 62] {
            let a = f.add_device("e", DeviceFault::RefuseReconnect { secs }, now);
            assert!(f.refuses("e", now + Duration::days(365 * 1000)), "{secs}");
            assert!(f.remove(a.id));
        }
    }
}
