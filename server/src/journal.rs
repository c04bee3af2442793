//! The request journal: the last N API requests with who made them and how they ended, so a
//! test or a person can see what a client actually sent (`GET /__mock/requests`); and the
//! requests the mock itself sent to webhook targets.

use std::collections::VecDeque;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use serde::Serialize;

/// How many requests the journal keeps by default.
pub const DEFAULT_CAPACITY: usize = 1000;

/// Which way a journaled request went.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// A request to the API.
    #[default]
    Api,
    /// A request the mock sent for a webhook; `path` is the target URL.
    Webhook,
    /// An OTA update the mock sent to a device; `path` is the device's API path.
    Flash,
}

/// What an OTA update sent, for its journal entry.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FlashNote {
    pub device: String,
    pub firmware_binary_id: String,
    pub bytes: usize,
    pub chunks: usize,
    /// Chunks sent again after a failed CRC or a ChunkMissed.
    pub resent: usize,
}

/// One journaled request.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Entry {
    pub id: u64,
    pub kind: EntryKind,
    pub at: DateTime<Utc>,
    pub method: String,
    pub path: String,
    /// The presented token, shortened (`1a2b3c4d…`).
    pub token: Option<String>,
    pub user: Option<String>,
    /// The OAuth client the token was issued to (or the client of a token request).
    pub client: Option<String>,
    pub status: u16,
    pub duration_ms: f64,
    /// Why a presented token was refused.
    pub rejected: Option<String>,
    /// A fault that shaped this response.
    pub fault: Option<String>,
    pub remote_addr: Option<String>,
    pub user_agent: Option<String>,
    /// A webhook delivery's webhook id, triggering event and failure (a transport error,
    /// or the error status text); absent on API requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// An OTA update's figures; absent on other entries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flash: Option<FlashNote>,
}

/// What the handlers learn about a request, filled in while it runs.
#[derive(Clone, Debug, Default)]
pub struct Note {
    pub token: Option<String>,
    pub user: Option<String>,
    pub client: Option<String>,
    pub rejected: Option<String>,
    pub fault: Option<String>,
}

/// A per-request slot the handlers write into and the journal middleware reads.
#[derive(Clone, Debug, Default)]
pub struct NoteSlot(pub Arc<Mutex<Note>>);

impl NoteSlot {
    pub fn update(&self, f: impl FnOnce(&mut Note)) {
        f(&mut self.0.lock());
    }
}

struct Inner {
    entries: VecDeque<Entry>,
    next_id: u64,
    capacity: usize,
}

#[derive(Clone)]
pub struct Journal {
    inner: Arc<Mutex<Inner>>,
}

impl Default for Journal {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }
}

impl Journal {
    pub fn with_capacity(capacity: usize) -> Self {
        Journal {
            inner: Arc::new(Mutex::new(Inner {
                entries: VecDeque::new(),
                next_id: 1,
                capacity: capacity.max(1),
            })),
        }
    }

    /// Adds an entry, assigning its id and dropping the oldest past capacity.
    pub fn push(&self, mut entry: Entry) {
        let mut inner = self.inner.lock();
        entry.id = inner.next_id;
        inner.next_id += 1;
        if inner.entries.len() >= inner.capacity {
            inner.entries.pop_front();
        }
        inner.entries.push_back(entry);
    }

    /// Entries oldest first.
    pub fn entries(&self) -> Vec<Entry> {
        self.inner.lock().entries.iter().cloned().collect()
    }

    pub fn clear(&self) {
        self.inner.lock().entries.clear();
    }

    /// The next id and the number of entries: changes whenever the journal does, so a
    /// watcher can tell without copying it.
    pub fn version(&self) -> (u64, usize) {
        let inner = self.inner.lock();
        (inner.next_id, inner.entries.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str) -> Entry {
        Entry {
            id: 0,
            at: Utc::now(),
            method: "GET".into(),
            path: path.into(),
            token: None,
            user: None,
            client: None,
            status: 200,
            duration_ms: 0.1,
            rejected: None,
            fault: None,
            ..Entry::default()
        }
    }

    #[test]
    fn keeps_the_last_n_with_increasing_ids() {
        let j = Journal::with_capacity(2);
        for p in ["/a", "/b", "/c"] {
            j.push(entry(p));
        }
        let e = j.entries();
        assert_eq!(
            e.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(),
            ["/b", "/c"]
        );
        assert_eq!((e[0].id, e[1].id), (2, 3));
        j.clear();
        assert!(j.entries().is_empty());
    }
}
