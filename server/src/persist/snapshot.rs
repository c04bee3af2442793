//! What is saved: the [`Snapshot`] (everything, as of one journal record) and the journal's
//! [`Record`]s (the changes of one commit, as whole records; webhooks as the whole list), and [`Replay`], which folds
//! records into a snapshot in order, at start-up and in compaction alike.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::PersistError;
use crate::config::PolicyKind;
use crate::devices::registry::DeviceChanges;
use crate::devices::DeviceInfo;
use crate::domain::db::{Db, DbDelta};
use crate::webhooks::Hook;

/// 2 added the journal (`journal_seq`); 1 is read as a snapshot with no journal.
pub const FORMAT_VERSION: u32 = 2;
pub const OLDEST_READABLE_VERSION: u32 = 1;

/// Everything that survives a restart.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Snapshot {
    pub version: u32,
    pub saved_at: DateTime<Utc>,
    pub policy: PolicyKind,
    /// How far the mock's clock was moved, so expiry stories survive a restart.
    pub clock_offset_secs: i64,
    /// The last journal record folded in; replay skips records up to it.
    #[serde(default)]
    pub journal_seq: u64,
    pub db: Db,
    pub devices: Vec<DeviceInfo>,
    /// Every user's webhooks (particle); absent in state saved before they were kept.
    #[serde(default)]
    pub webhooks: Vec<Hook>,
}

impl Snapshot {
    pub fn new(
        saved_at: DateTime<Utc>,
        policy: PolicyKind,
        clock_offset_secs: i64,
        db: Db,
        mut devices: Vec<DeviceInfo>,
    ) -> Self {
        devices.iter_mut().for_each(offline);
        Snapshot {
            version: FORMAT_VERSION,
            saved_at,
            policy,
            clock_offset_secs,
            journal_seq: 0,
            db,
            devices,
            webhooks: Vec::new(),
        }
    }
}

/// Connections do not survive a restart.
fn offline(d: &mut DeviceInfo) {
    d.online = false;
    d.signaling = false;
}

/// One line of the journal: what one commit changed. Policy and clock are always carried
/// (a few bytes), so the last record read has them as they were.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Record {
    pub seq: u64,
    /// The mock's clock at the commit; the snapshot's `saved_at` once folded in.
    pub at: DateTime<Utc>,
    pub policy: PolicyKind,
    pub clock_offset_secs: i64,
    #[serde(default, skip_serializing_if = "DbDelta::is_empty")]
    pub db: DbDelta,
    /// The registry was cleared before the device changes below.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub devices_cleared: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<(String, Option<DeviceInfo>)>,
    /// Every webhook, when they changed in this commit (the whole list: they are few).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhooks: Option<Vec<Hook>>,
}

impl Record {
    /// A record to append; the store gives it its sequence number.
    pub fn new(
        at: DateTime<Utc>,
        policy: PolicyKind,
        clock_offset_secs: i64,
        db: DbDelta,
        mut devices: DeviceChanges,
    ) -> Self {
        devices
            .devices
            .iter_mut()
            .filter_map(|(_, d)| d.as_mut())
            .for_each(offline);
        Record {
            seq: 0,
            at,
            policy,
            clock_offset_secs,
            db,
            devices_cleared: devices.cleared,
            devices: devices.devices,
            webhooks: None,
        }
    }
}

/// A snapshot with records being folded into it.
pub struct Replay {
    snap: Snapshot,
    devices: BTreeMap<String, DeviceInfo>,
}

impl Replay {
    pub fn new(mut snap: Snapshot) -> Self {
        let devices = std::mem::take(&mut snap.devices)
            .into_iter()
            .map(|d| (d.id.clone(), d))
            .collect();
        Replay { snap, devices }
    }

    /// The last record folded in.
    pub fn seq(&self) -> u64 {
        self.snap.journal_seq
    }

    /// Folds in the next record. Records the snapshot already holds are skipped; a gap
    /// means records were lost, and is an error.
    pub fn apply(&mut self, r: Record, source: &str) -> Result<(), PersistError> {
        if r.seq <= self.snap.journal_seq {
            return Ok(());
        }
        if r.seq != self.snap.journal_seq + 1 {
            return Err(PersistError::Corrupt {
                path: source.to_string(),
                message: format!(
                    "journal record {} follows record {}: records are missing",
                    r.seq, self.snap.journal_seq
                ),
            });
        }
        self.snap.journal_seq = r.seq;
        self.snap.saved_at = r.at;
        self.snap.policy = r.policy;
        self.snap.clock_offset_secs = r.clock_offset_secs;
        self.snap.db.apply(r.db);
        if r.devices_cleared {
            self.devices.clear();
        }
        for (id, info) in r.devices {
            match info {
                Some(d) => self.devices.insert(id, d),
                None => self.devices.remove(&id),
            };
        }
        if let Some(hooks) = r.webhooks {
            self.snap.webhooks = hooks;
        }
        Ok(())
    }

    pub fn finish(mut self) -> Snapshot {
        self.snap.devices = self.devices.into_values().collect();
        self.snap.version = FORMAT_VERSION;
        self.snap
    }
}
