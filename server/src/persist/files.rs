//! The files of a state directory: the snapshot (written whole through a temporary file),
//! the journal's segments (`journal-00000001.log`, …), and the calls that make each step
//! durable. Every file is created 0600: they hold live bearer tokens and password hashes.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::snapshot::{Snapshot, FORMAT_VERSION, OLDEST_READABLE_VERSION};
use super::PersistError;

pub const SNAPSHOT_FILE: &str = "state.json";
const SNAPSHOT_TMP: &str = "state.json.tmp";
const SEGMENT_PREFIX: &str = "journal-";
const SEGMENT_SUFFIX: &str = ".log";

pub fn write_err(path: &Path) -> impl Fn(std::io::Error) -> PersistError + '_ {
    move |source| PersistError::Write {
        path: path.display().to_string(),
        source,
    }
}

fn read_err(path: &Path) -> impl Fn(std::io::Error) -> PersistError + '_ {
    move |source| PersistError::Read {
        path: path.display().to_string(),
        source,
    }
}

/// Creates a new file readable by its owner only; fails if it exists.
pub fn create_private(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Makes renames and new or removed files in `dir` durable.
pub fn sync_dir(dir: &Path) -> Result<(), PersistError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(write_err(dir))
}

pub fn segment_path(dir: &Path, generation: u64) -> PathBuf {
    dir.join(format!("{SEGMENT_PREFIX}{generation:08}{SEGMENT_SUFFIX}"))
}

/// The generations of the journal segments in `dir`, oldest first.
pub fn list_segments(dir: &Path) -> Result<Vec<u64>, PersistError> {
    let mut gens = Vec::new();
    for entry in fs::read_dir(dir).map_err(read_err(dir))? {
        let entry = entry.map_err(read_err(dir))?;
        let name = entry.file_name();
        let gen = name
            .to_str()
            .and_then(|n| n.strip_prefix(SEGMENT_PREFIX))
            .and_then(|n| n.strip_suffix(SEGMENT_SUFFIX))
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse::<u64>().ok());
        if let Some(gen) = gen {
            gens.push(gen);
        }
    }
    gens.sort_unstable();
    Ok(gens)
}

/// Removes segments (already folded into the snapshot), then syncs the directory.
pub fn remove_segments(dir: &Path, gens: &[u64]) -> Result<(), PersistError> {
    for &gen in gens {
        let path = segment_path(dir, gen);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(write_err(&path)(e)),
        }
    }
    sync_dir(dir)
}

/// Reads the snapshot, or `None` if there is none yet.
pub fn read_snapshot(dir: &Path) -> Result<Option<Snapshot>, PersistError> {
    let path = dir.join(SNAPSHOT_FILE);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(read_err(&path)(e)),
    };
    let corrupt = |message: String| PersistError::Corrupt {
        path: path.display().to_string(),
        message,
    };
    let snap: Snapshot = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
    if !(OLDEST_READABLE_VERSION..=FORMAT_VERSION).contains(&snap.version) {
        return Err(corrupt(format!(
            "format version {} (expected {OLDEST_READABLE_VERSION} to {FORMAT_VERSION})",
            snap.version
        )));
    }
    Ok(Some(snap))
}

/// Writes the snapshot durably: a fresh 0600 temporary file, fsync, rename over the old
/// one, fsync the directory. A crash at any point leaves the old snapshot or the new one.
/// Returns its size in bytes.
pub fn write_snapshot(dir: &Path, snap: &Snapshot) -> Result<u64, PersistError> {
    let bytes = serde_json::to_vec(snap)?;
    let path = dir.join(SNAPSHOT_FILE);
    let tmp = dir.join(SNAPSHOT_TMP);
    let err = write_err(&path);
    remove_tmp(dir)?;
    let mut f = create_private(&tmp).map_err(&err)?;
    f.write_all(&bytes).map_err(&err)?;
    f.sync_all().map_err(&err)?;
    drop(f);
    fs::rename(&tmp, &path).map_err(&err)?;
    sync_dir(dir)?;
    Ok(bytes.len() as u64)
}

/// Removes a temporary snapshot left by a crash (it was never renamed, so never counted).
pub fn remove_tmp(dir: &Path) -> Result<(), PersistError> {
    let tmp = dir.join(SNAPSHOT_TMP);
    match fs::remove_file(&tmp) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(write_err(&tmp)(e)),
    }
}
