//! Durable state for `--state-dir`: users, tokens with their history, clients, device
//! registrations and keys go into one JSON snapshot, written to a temporary file, fsynced
//! and renamed over the old one, so a crash at any instant leaves either the old or the new
//! snapshot, never a torn one. The server key lives beside it as PEM.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::config::PolicyKind;
use crate::devices::DeviceInfo;
use crate::domain::db::Db;

pub const SNAPSHOT_FILE: &str = "state.json";
const FORMAT_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a spark-mock state file: {message}")]
    Corrupt { path: String, message: String },
    #[error("cannot encode the state: {0}")]
    Encode(#[from] serde_json::Error),
}

/// Everything that survives a restart.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Snapshot {
    pub version: u32,
    pub saved_at: DateTime<Utc>,
    pub policy: PolicyKind,
    /// How far the mock's clock was moved, so expiry stories survive a restart.
    pub clock_offset_secs: i64,
    pub db: Db,
    pub devices: Vec<DeviceInfo>,
}

impl Snapshot {
    pub fn new(
        saved_at: DateTime<Utc>,
        policy: PolicyKind,
        clock_offset_secs: i64,
        db: Db,
        mut devices: Vec<DeviceInfo>,
    ) -> Self {
        // Connections do not survive a restart.
        for d in &mut devices {
            d.online = false;
            d.signaling = false;
        }
        Snapshot {
            version: FORMAT_VERSION,
            saved_at,
            policy,
            clock_offset_secs,
            db,
            devices,
        }
    }
}

/// Writes snapshots into a directory, one at a time.
pub struct Store {
    dir: PathBuf,
    /// Serialises writers; held only inside blocking code, never across an await.
    write_lock: Mutex<()>,
}

impl Store {
    pub fn new(dir: &Path) -> Result<Self, PersistError> {
        fs::create_dir_all(dir).map_err(|source| PersistError::Write {
            path: dir.display().to_string(),
            source,
        })?;
        Ok(Store {
            dir: dir.to_path_buf(),
            write_lock: Mutex::new(()),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self) -> PathBuf {
        self.dir.join(SNAPSHOT_FILE)
    }

    /// Loads the last snapshot, or `None` if there is none yet.
    pub fn load(&self) -> Result<Option<Snapshot>, PersistError> {
        let path = self.path();
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(PersistError::Read {
                    path: path.display().to_string(),
                    source,
                })
            }
        };
        let snap: Snapshot = serde_json::from_slice(&bytes).map_err(|e| PersistError::Corrupt {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        if snap.version != FORMAT_VERSION {
            return Err(PersistError::Corrupt {
                path: path.display().to_string(),
                message: format!(
                    "format version {} (expected {FORMAT_VERSION})",
                    snap.version
                ),
            });
        }
        Ok(Some(snap))
    }

    /// Writes a snapshot durably: temp file, fsync, rename, fsync the directory. Blocking.
    pub fn save(&self, snap: &Snapshot) -> Result<(), PersistError> {
        let bytes = serde_json::to_vec(snap)?;
        let _guard = self.write_lock.lock();
        let path = self.path();
        let tmp = self.dir.join(format!("{SNAPSHOT_FILE}.tmp"));
        let err = |source| PersistError::Write {
            path: path.display().to_string(),
            source,
        };
        let mut f = File::create(&tmp).map_err(err)?;
        f.write_all(&bytes).map_err(err)?;
        f.sync_all().map_err(err)?;
        drop(f);
        fs::rename(&tmp, &path).map_err(err)?;
        if let Ok(d) = File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::password::PasswordHash;
    use crate::domain::users::User;

    #[test]
    fn snapshot_round_trips_and_marks_devices_offline() {
        let dir = std::env::temp_dir().join(format!("spark-mock-persist-{}", std::process::id()));
        let store = Store::new(&dir).unwrap();
        assert!(store.load().unwrap().is_none());
        let mut db = Db::default();
        db.add_user(User::new(
            "a@example.com",
            PasswordHash::new("pw", 1),
            Utc::now(),
        ));
        let mut dev = DeviceInfo::new("0123456789abcdef01234567");
        dev.online = true;
        store
            .save(&Snapshot::new(
                Utc::now(),
                PolicyKind::PerClient,
                0,
                db,
                vec![dev],
            ))
            .unwrap();
        let back = store.load().unwrap().unwrap();
        assert!(back.db.user("a@example.com").unwrap().password.verify("pw"));
        assert_eq!(back.policy, PolicyKind::PerClient);
        assert!(!back.devices[0].online);
        fs::write(dir.join(SNAPSHOT_FILE), b"{not json").unwrap();
        assert!(matches!(store.load(), Err(PersistError::Corrupt { .. })));
        let _ = fs::remove_dir_all(&dir);
    }
}
