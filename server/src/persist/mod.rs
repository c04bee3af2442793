//! Durable state for `--state-dir`: a snapshot of everything (`state.json`) plus an
//! append-only journal of changes (`journal-NNNNNNNN.log`), so an acknowledged write costs
//! one small append and fsync, however much history there is.
//!
//! - [`snapshot`]: what is saved: the snapshot, the journal's records (the changed users,
//!   clients, tokens and devices of one commit, as whole records; the webhooks as a whole list
//!   when they changed), and their replay.
//! - [`wal`]: the journal's line format, with a CRC per line so a torn tail is detected.
//! - [`store`]: the running journal: a writer thread with group commit, segment rotation,
//!   and compaction into the snapshot in the background.
//! - [`compact`]: folding segments into the snapshot, at start-up and in the background.
//! - [`files`]: the directory's files (all 0600) and the fsyncs that make each step durable.
//!
//! Start-up ([`recover`]) reads the snapshot and replays the journal records newer than it,
//! ignoring a torn last record; then [`Store::start`] writes the result as the new snapshot
//! and starts an empty journal. The server key lives beside them as PEM.

pub mod compact;
pub mod files;
pub mod snapshot;
pub mod store;
pub mod wal;

#[cfg(test)]
mod tests;

use std::path::Path;

pub use compact::Folded;
pub use files::SNAPSHOT_FILE;
pub use snapshot::{Record, Snapshot};
pub use store::Store;

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
    #[error("the journal is not being written: {0}")]
    Failed(String),
}

/// Opens a state directory (creating it if needed) and reads what it holds: the snapshot
/// with the journal replayed over it. Blocking.
pub fn recover(dir: &Path) -> Result<Folded, PersistError> {
    std::fs::create_dir_all(dir).map_err(files::write_err(dir))?;
    files::remove_tmp(dir)?;
    compact::fold(dir)
}
