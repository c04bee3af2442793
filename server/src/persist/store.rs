//! The running journal: [`Store::append`] hands a record to a dedicated writer thread and
//! returns its sequence number; [`Store::wait`] resolves once it is on disk. The writer
//! takes every record that queued up while it was busy, writes them with one `write` and one
//! fsync (group commit), and publishes how far the journal is durable.
//!
//! When the active segment outgrows the snapshot (and at least [`MIN_SEGMENT_BYTES`]), the
//! writer starts a new segment and folds the sealed ones into the snapshot on another
//! thread, so the cost of a write never depends on how much history there is.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::Mutex;
use tokio::sync::watch;

use super::compact::{compact, Folded};
use super::snapshot::{Record, Snapshot};
use super::{files, wal, PersistError};

/// A segment is compacted once it holds this much and more than the snapshot's size.
pub const MIN_SEGMENT_BYTES: u64 = 1 << 20;
/// At most this many records go into one write and fsync.
const MAX_BATCH: usize = 4096;

/// How far the journal is on disk; `failed` once a write or fsync failed (nothing after
/// it can be acknowledged: the kernel may have dropped the unwritten pages).
#[derive(Clone, Debug, Default)]
struct Durable {
    seq: u64,
    failed: Option<Arc<str>>,
}

struct Queue {
    next_seq: u64,
    tx: Option<mpsc::Sender<Record>>,
}

pub struct Store {
    dir: PathBuf,
    queue: Mutex<Queue>,
    durable: Arc<watch::Sender<Durable>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl Store {
    /// Writes `current` as the snapshot (folding everything `folded` read), removes the old
    /// segments, opens a new one and starts the writer. `current.journal_seq` is set here.
    pub fn start(
        dir: &Path,
        folded: Folded,
        current: &mut Snapshot,
    ) -> Result<Store, PersistError> {
        Self::start_with(dir, folded, current, MIN_SEGMENT_BYTES)
    }

    /// [`Store::start`] with a chosen compaction threshold (tests use a small one).
    pub fn start_with(
        dir: &Path,
        folded: Folded,
        current: &mut Snapshot,
        min_segment_bytes: u64,
    ) -> Result<Store, PersistError> {
        current.journal_seq = folded.last_seq;
        let size = files::write_snapshot(dir, current)?;
        files::remove_segments(dir, &folded.segments)?;
        let gen = folded.segments.last().map_or(1, |g| g + 1);
        let file = open_segment(dir, gen)?;
        let durable = Arc::new(watch::Sender::new(Durable {
            seq: folded.last_seq,
            failed: None,
        }));
        let (tx, rx) = mpsc::channel();
        let mut writer = Writer {
            dir: dir.to_path_buf(),
            file,
            gen,
            bytes: 0,
            min_segment_bytes,
            snapshot_bytes: Arc::new(AtomicU64::new(size)),
            compaction: None,
            durable: durable.clone(),
        };
        let handle = std::thread::Builder::new()
            .name("spark-mock-journal".into())
            .spawn(move || writer.run(rx))
            .map_err(files::write_err(dir))?;
        Ok(Store {
            dir: dir.to_path_buf(),
            queue: Mutex::new(Queue {
                next_seq: folded.last_seq + 1,
                tx: Some(tx),
            }),
            durable,
            writer: Mutex::new(Some(handle)),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Queues a record for the writer; its sequence number, for [`Store::wait`]. Records
    /// are written in the order they are appended.
    pub fn append(&self, mut record: Record) -> u64 {
        let mut q = self.queue.lock();
        record.seq = q.next_seq;
        q.next_seq += 1;
        let sent = q.tx.as_ref().is_some_and(|tx| tx.send(record).is_ok());
        if !sent {
            self.durable.send_modify(|d| {
                d.failed
                    .get_or_insert_with(|| Arc::from("the journal writer has stopped"));
            });
        }
        q.next_seq - 1
    }

    /// The last sequence number appended.
    pub fn appended(&self) -> u64 {
        self.queue.lock().next_seq - 1
    }

    /// Resolves once record `seq` and all before it are on disk.
    pub async fn wait(&self, seq: u64) -> Result<(), PersistError> {
        let mut rx = self.durable.subscribe();
        let durable = rx
            .wait_for(|d| d.seq >= seq || d.failed.is_some())
            .await
            .map(|d| d.clone())
            .unwrap_or_default();
        if durable.seq >= seq {
            return Ok(());
        }
        Err(PersistError::Failed(
            durable.failed.as_deref().unwrap_or("stopped").to_string(),
        ))
    }

    /// Stops the writer once everything appended is written, and waits for it and for a
    /// compaction in progress. Appends after this fail.
    pub fn close(&self) {
        self.queue.lock().tx = None;
        if let Some(handle) = self.writer.lock().take() {
            let _ = handle.join();
        }
    }
}

fn open_segment(dir: &Path, gen: u64) -> Result<File, PersistError> {
    let path = files::segment_path(dir, gen);
    let file = files::create_private(&path).map_err(files::write_err(&path))?;
    // The new name must be durable before any record in it is acknowledged.
    files::sync_dir(dir)?;
    Ok(file)
}

struct Writer {
    dir: PathBuf,
    file: File,
    gen: u64,
    bytes: u64,
    min_segment_bytes: u64,
    snapshot_bytes: Arc<AtomicU64>,
    compaction: Option<JoinHandle<()>>,
    durable: Arc<watch::Sender<Durable>>,
}

impl Writer {
    fn run(&mut self, rx: mpsc::Receiver<Record>) {
        let mut buf = Vec::new();
        while let Ok(first) = rx.recv() {
            buf.clear();
            let mut last = first.seq;
            let mut result = wal::encode(&first, &mut buf);
            for r in rx.try_iter().take(MAX_BATCH) {
                last = r.seq;
                result = result.and_then(|()| wal::encode(&r, &mut buf));
            }
            if self.durable.borrow().failed.is_some() {
                continue;
            }
            let written = result.and_then(|()| {
                let path = files::segment_path(&self.dir, self.gen);
                let err = files::write_err(&path);
                self.file.write_all(&buf).map_err(&err)?;
                self.file.sync_data().map_err(&err)
            });
            match written {
                Ok(()) => {
                    self.bytes += buf.len() as u64;
                    self.durable.send_modify(|d| d.seq = last);
                    self.maybe_compact();
                }
                Err(e) => {
                    tracing::error!("journal write failed; nothing more is acknowledged: {e}");
                    let message: Arc<str> = Arc::from(e.to_string());
                    self.durable.send_modify(|d| d.failed = Some(message));
                }
            }
        }
        if let Some(c) = self.compaction.take() {
            let _ = c.join();
        }
    }

    /// Starts a new segment and compacts the sealed ones in the background, once the
    /// active segment is big enough and no compaction is running.
    fn maybe_compact(&mut self) {
        let threshold = self
            .min_segment_bytes
            .max(self.snapshot_bytes.load(Ordering::Relaxed));
        if self.bytes < threshold || self.compaction.as_ref().is_some_and(|c| !c.is_finished()) {
            return;
        }
        if let Some(c) = self.compaction.take() {
            let _ = c.join();
        }
        let sealed = match files::list_segments(&self.dir) {
            Ok(gens) => gens,
            Err(e) => {
                tracing::error!("journal compaction postponed: {e}");
                return;
            }
        };
        match open_segment(&self.dir, self.gen + 1) {
            Ok(file) => {
                self.file = file;
                self.gen += 1;
                self.bytes = 0;
            }
            Err(e) => {
                tracing::error!("cannot start a new journal segment (compaction postponed): {e}");
                return;
            }
        }
        let sealed: Vec<u64> = sealed.into_iter().filter(|g| *g < self.gen).collect();
        let (dir, size) = (self.dir.clone(), self.snapshot_bytes.clone());
        let spawned = std::thread::Builder::new()
            .name("spark-mock-compact".into())
            .spawn(move || match compact(&dir, &sealed) {
                Ok(bytes) => size.store(bytes, Ordering::Relaxed),
                Err(e) => tracing::error!("journal compaction failed (retried later): {e}"),
            });
        match spawned {
            Ok(handle) => self.compaction = Some(handle),
            Err(e) => tracing::error!("cannot start the journal compaction: {e}"),
        }
    }
}
