//! Webhooks (particle profile): an event that matches a user's webhook makes the mock send
//! an HTTP request, and the target's answer comes back as `hook-response/…` events (errors
//! as `hook-error/…`), as in the cloud's webhook reference.
//!
//! Layout:
//! - [`hook`]: the stored webhook, read from a create request and checked; which events
//!   trigger it; its API view.
//! - [`mustache`]: the templates (hogan.js's rules, no partials).
//! - [`render`]: the request to send for an event, and the events an answer publishes.
//! - [`delivery`]: the task that watches the event bus and sends the requests.
//! - [`Webhooks`]: the registry; with `--state-dir` the journal saves it whole after each
//!   change (webhooks are few).
//!
//! The HTTP routes are in `api::webhooks`.

pub mod delivery;
pub mod hook;
pub mod mustache;
pub mod render;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;

pub use hook::{Hook, HookConfig, HookError};

use crate::events::Event;

/// How long a delivery waits for the target (the reference: "Servers must return a
/// response within the timeout period of 20 seconds").
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(20);

/// Every user's webhooks. Cheap to clone; the lock is held only to copy or change the list.
#[derive(Clone)]
pub struct Webhooks {
    inner: Arc<Inner>,
}

struct Inner {
    hooks: Mutex<Vec<Arc<Hook>>>,
    /// Bumped by every change, so the journal knows to save the list.
    generation: AtomicU64,
    timeout: Mutex<Duration>,
    /// Whether the delivery task runs (it starts with the first webhook).
    started: AtomicBool,
    /// Built on first use, inside this server's runtime (a client's pooled connections
    /// belong to the runtime that made them).
    clients: OnceLock<Result<delivery::Clients, String>>,
}

impl Default for Webhooks {
    fn default() -> Self {
        Webhooks {
            inner: Arc::new(Inner {
                hooks: Mutex::new(Vec::new()),
                generation: AtomicU64::new(0),
                timeout: Mutex::new(DELIVERY_TIMEOUT),
                started: AtomicBool::new(false),
                clients: OnceLock::new(),
            }),
        }
    }
}

/// A new webhook id: 24 hex characters, like the cloud's.
fn new_id() -> String {
    hex::encode(rand::random::<[u8; 12]>())
}

impl Webhooks {
    /// Adds a webhook for `owner`.
    pub fn create(&self, owner: &str, config: HookConfig, now: DateTime<Utc>) -> Hook {
        let hook = Hook {
            id: new_id(),
            owner: owner.to_string(),
            created_at: now,
            config,
        };
        self.inner.hooks.lock().push(Arc::new(hook.clone()));
        self.changed();
        hook
    }

    fn changed(&self) {
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// Changes so far (the journal compares it with what it last saved).
    pub fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::Acquire)
    }

    /// Every user's webhooks, oldest first: what the journal saves.
    pub fn all(&self) -> Vec<Hook> {
        self.inner
            .hooks
            .lock()
            .iter()
            .map(|h| Hook::clone(h))
            .collect()
    }

    /// Puts back the webhooks a state directory held (at start-up).
    pub fn restore(&self, hooks: Vec<Hook>) {
        *self.inner.hooks.lock() = hooks.into_iter().map(Arc::new).collect();
    }

    /// Whether there are no webhooks at all.
    pub fn is_empty(&self) -> bool {
        self.inner.hooks.lock().is_empty()
    }

    /// `owner`'s webhooks, oldest first.
    pub fn list(&self, owner: &str) -> Vec<Hook> {
        self.inner
            .hooks
            .lock()
            .iter()
            .filter(|h| h.owner == owner)
            .map(|h| Hook::clone(h))
            .collect()
    }

    /// One of `owner`'s webhooks; another user's is as unknown as a missing one.
    pub fn get(&self, owner: &str, id: &str) -> Option<Hook> {
        self.inner
            .hooks
            .lock()
            .iter()
            .find(|h| h.id == id && h.owner == owner)
            .map(|h| Hook::clone(h))
    }

    /// Replaces the settings of one of `owner`'s webhooks (an edit replaces the whole
    /// configuration, as the reference says); its id and creation time stay.
    pub fn replace(&self, owner: &str, id: &str, config: HookConfig) -> Option<Hook> {
        let mut hooks = self.inner.hooks.lock();
        let slot = hooks.iter_mut().find(|h| h.id == id && h.owner == owner)?;
        let hook = Hook {
            config,
            ..Hook::clone(slot)
        };
        *slot = Arc::new(hook.clone());
        drop(hooks);
        self.changed();
        Some(hook)
    }

    /// Deletes one of `owner`'s webhooks; `false` if there was none.
    pub fn remove(&self, owner: &str, id: &str) -> bool {
        let mut hooks = self.inner.hooks.lock();
        let before = hooks.len();
        hooks.retain(|h| !(h.id == id && h.owner == owner));
        let removed = hooks.len() < before;
        drop(hooks);
        if removed {
            self.changed();
        }
        removed
    }

    /// Deletes a user's webhooks (the account was deleted).
    pub fn remove_owner(&self, owner: &str) {
        self.inner.hooks.lock().retain(|h| h.owner != owner);
        self.changed();
    }

    /// Deletes every webhook (`/__mock/reset`).
    pub fn clear(&self) {
        self.inner.hooks.lock().clear();
        self.changed();
    }

    /// The webhooks `e` triggers.
    pub fn matching(&self, e: &Event) -> Vec<Arc<Hook>> {
        self.inner
            .hooks
            .lock()
            .iter()
            .filter(|h| h.matches(e))
            .cloned()
            .collect()
    }

    /// How long a delivery waits for its target.
    pub fn timeout(&self) -> Duration {
        *self.inner.timeout.lock()
    }

    /// Changes the delivery timeout (tests use a short one to see a timeout happen).
    pub fn set_timeout(&self, timeout: Duration) {
        *self.inner.timeout.lock() = timeout;
    }

    /// `true` the first time only: the caller starts the delivery task.
    pub(crate) fn claim_start(&self) -> bool {
        !self.inner.started.swap(true, Ordering::AcqRel)
    }

    /// The HTTP clients deliveries use.
    pub(crate) fn clients(&self) -> Result<&delivery::Clients, String> {
        self.inner
            .clients
            .get_or_init(delivery::Clients::new)
            .as_ref()
            .map_err(Clone::clone)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(event: &str) -> HookConfig {
        let fields = json!({"event": event, "url": "http://127.0.0.1:9/"});
        HookConfig::from_fields(|k| fields.get(k)).expect("valid")
    }

    #[test]
    fn each_user_sees_and_changes_only_their_own() {
        let w = Webhooks::default();
        let now = Utc::now();
        let a = w.create("a", config("x"), now);
        let b = w.create("b", config("y"), now);
        assert_eq!(a.id.len(), 24);
        assert_ne!(a.id, b.id);
        assert_eq!(w.list("a"), vec![a.clone()]);
        assert_eq!(w.get("b", &a.id), None);
        assert!(!w.remove("b", &a.id));
        assert!(w.replace("b", &a.id, config("z")).is_none());
        let edited = w.replace("a", &a.id, config("z")).expect("edited");
        assert_eq!(
            (edited.id.as_str(), edited.config.event.as_str()),
            (a.id.as_str(), "z")
        );
        assert!(w.remove("a", &a.id));
        assert!(w.list("a").is_empty());
        w.remove_owner("b");
        assert!(w.list("b").is_empty());
        assert!(w.claim_start());
        assert!(!w.claim_start());
    }
}
