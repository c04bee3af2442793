//! Folding the journal into the snapshot. Both start-up and the background compaction read
//! the snapshot and the segments, replay the records it does not hold yet, and (compaction)
//! write the result as the new snapshot before removing the segments it folded in.
//!
//! A crash at any step is safe: before the rename, the old snapshot and every segment are
//! still there; after it, the new snapshot's `journal_seq` makes replay skip the records of
//! segments not yet removed, so nothing is lost and nothing is applied twice.

use std::path::Path;

use super::files;
use super::snapshot::{Replay, Snapshot};
use super::wal;
use super::PersistError;

/// The state a directory holds: its snapshot with every intact journal record folded in.
pub struct Folded {
    pub snapshot: Option<Snapshot>,
    /// The segments read, oldest first.
    pub segments: Vec<u64>,
    /// The last record folded in.
    pub last_seq: u64,
}

/// Reads the snapshot and every segment. A torn tail is accepted at the end of the last
/// segment only (the one being written when the process died); anywhere else it is an
/// error, as is a journal without a snapshot.
pub fn fold(dir: &Path) -> Result<Folded, PersistError> {
    let segments = files::list_segments(dir)?;
    let snapshot = files::read_snapshot(dir)?;
    let Some(snapshot) = snapshot else {
        if let Some(first) = segments.first() {
            return Err(PersistError::Corrupt {
                path: files::segment_path(dir, *first).display().to_string(),
                message: format!(
                    "a journal without its snapshot ({} is missing)",
                    files::SNAPSHOT_FILE
                ),
            });
        }
        return Ok(Folded {
            snapshot: None,
            segments,
            last_seq: 0,
        });
    };
    let mut replay = Replay::new(snapshot);
    for (i, &gen) in segments.iter().enumerate() {
        let path = files::segment_path(dir, gen);
        let source = path.display().to_string();
        let seg = wal::read(&path)?;
        if let Some(at) = seg.torn_at {
            if i + 1 < segments.len() {
                return Err(PersistError::Corrupt {
                    path: source,
                    message: format!("damaged journal record at byte {at}, before later segments"),
                });
            }
            tracing::warn!(
                "{source}: ignoring a torn last record at byte {at} (never acknowledged)"
            );
        }
        for r in seg.records {
            replay.apply(r, &source)?;
        }
    }
    let last_seq = replay.seq();
    Ok(Folded {
        snapshot: Some(replay.finish()),
        segments,
        last_seq,
    })
}

/// Folds the sealed segments `gens` into the snapshot, writes it, and removes them.
/// Returns the new snapshot's size.
pub fn compact(dir: &Path, gens: &[u64]) -> Result<u64, PersistError> {
    let snap = files::read_snapshot(dir)?.ok_or_else(|| PersistError::Corrupt {
        path: dir.join(files::SNAPSHOT_FILE).display().to_string(),
        message: "missing while the journal is being compacted".to_string(),
    })?;
    let mut replay = Replay::new(snap);
    for &gen in gens {
        let path = files::segment_path(dir, gen);
        let source = path.display().to_string();
        let seg = wal::read(&path)?;
        if let Some(at) = seg.torn_at {
            return Err(PersistError::Corrupt {
                path: source,
                message: format!("damaged journal record at byte {at} in a sealed segment"),
            });
        }
        for r in seg.records {
            replay.apply(r, &source)?;
        }
    }
    let size = files::write_snapshot(dir, &replay.finish())?;
    files::remove_segments(dir, gens)?;
    Ok(size)
}
