//! The state directory across crashes: every point of a compaction, torn tails, records
//! the snapshot already holds, and the running store end to end.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{Duration, Utc};
use serde_json::Value;

use super::*;
use crate::config::PolicyKind;
use crate::devices::registry::DeviceChanges;
use crate::devices::DeviceInfo;
use crate::domain::db::{Db, IssueRequest};
use crate::domain::password::PasswordHash;
use crate::domain::token::{GrantKind, Origin};
use crate::domain::users::User;

const U: &str = "u@example.com";

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("spark-mock-persist-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

fn snapshot(db: Db, seq: u64) -> Snapshot {
    let mut s = Snapshot::new(Utc::now(), PolicyKind::Single, 0, db, vec![]);
    s.journal_seq = seq;
    s
}

/// A database with one user, tracking changes.
fn live_db() -> Db {
    let mut db = Db::default();
    db.add_user(User::new(U, PasswordHash::new("pw", 1), Utc::now()));
    db.track_changes();
    db
}

/// A password grant under `single`, taken as the next record.
fn grant_record(db: &mut Db, seq: u64) -> Record {
    let now = Utc::now();
    let req = IssueRequest {
        username: U.into(),
        client_id: "cli".into(),
        grant: GrantKind::Password,
        scope: None,
        expires_at: Some(now + Duration::days(90)),
        refresh_lifetime: None,
        origin: Origin::default(),
    };
    db.grant(req, PolicyKind::Single, "spark-build", now);
    let mut r = Record::new(
        now,
        PolicyKind::Single,
        0,
        db.take_changes(true),
        DeviceChanges::default(),
    );
    r.seq = seq;
    r
}

fn write_segment(dir: &Path, gen: u64, records: &[Record]) {
    let mut bytes = Vec::new();
    for r in records {
        wal::encode(r, &mut bytes).unwrap();
    }
    fs::write(files::segment_path(dir, gen), bytes).unwrap();
}

fn db_json(db: &Db) -> Value {
    serde_json::to_value(db).unwrap()
}

fn recovered_db(dir: &Path) -> (Value, u64) {
    let f = recover(dir).unwrap();
    (db_json(&f.snapshot.unwrap().db), f.last_seq)
}

#[test]
fn snapshot_round_trips_privately_and_marks_devices_offline() {
    let dir = dir("snapshot");
    assert!(files::read_snapshot(&dir).unwrap().is_none());
    let mut dev = DeviceInfo::new("0123456789abcdef01234567");
    dev.online = true;
    let snap = Snapshot::new(Utc::now(), PolicyKind::PerClient, 0, live_db(), vec![dev]);
    files::write_snapshot(&dir, &snap).unwrap();
    let back = files::read_snapshot(&dir).unwrap().unwrap();
    assert!(back.db.user(U).unwrap().password.verify("pw"));
    assert_eq!(back.policy, PolicyKind::PerClient);
    assert!(!back.devices[0].online);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(dir.join(SNAPSHOT_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "it holds tokens and password hashes");
    }
    fs::write(dir.join(SNAPSHOT_FILE), b"{not json").unwrap();
    assert!(matches!(
        files::read_snapshot(&dir),
        Err(PersistError::Corrupt { .. })
    ));
    let _ = fs::remove_dir_all(&dir);
}

/// Writes a directory's files from the empty snapshot, the snapshot holding records 1-3,
/// and the six records.
type LayOut = fn(&Path, &Db, &Db, &[Record]);

/// Six grants in two segments over an empty snapshot, laid out as a compaction leaves them
/// at each point where it can die: every layout recovers the same state.
#[test]
fn every_compaction_crash_point_recovers_the_same_state() {
    let mut db = live_db();
    let base = db.clone();
    db.take_changes(true);
    let records: Vec<Record> = (1..=6).map(|seq| grant_record(&mut db, seq)).collect();
    let expected = db_json(&db);
    let mut folded3 = base.clone();
    for r in &records[..3] {
        folded3.apply(r.db.clone());
    }
    let layouts: [(&str, LayOut); 6] = [
        ("before compaction", |d, base, _, rs| {
            files::write_snapshot(d, &snapshot(base.clone(), 0)).unwrap();
            write_segment(d, 1, &rs[..3]);
            write_segment(d, 2, &rs[3..]);
        }),
        (
            "temporary snapshot written, not renamed",
            |d, base, _, rs| {
                files::write_snapshot(d, &snapshot(base.clone(), 0)).unwrap();
                write_segment(d, 1, &rs[..3]);
                write_segment(d, 2, &rs[3..]);
                fs::write(d.join("state.json.tmp"), b"{\"half\": ").unwrap();
            },
        ),
        ("renamed, folded segment not yet removed", |d, _, f3, rs| {
            files::write_snapshot(d, &snapshot(f3.clone(), 3)).unwrap();
            write_segment(d, 1, &rs[..3]);
            write_segment(d, 2, &rs[3..]);
        }),
        ("folded segment removed", |d, _, f3, rs| {
            files::write_snapshot(d, &snapshot(f3.clone(), 3)).unwrap();
            write_segment(d, 2, &rs[3..]);
        }),
        (
            "a new segment created, nothing in it yet",
            |d, _, f3, rs| {
                files::write_snapshot(d, &snapshot(f3.clone(), 3)).unwrap();
                write_segment(d, 2, &rs[3..]);
                write_segment(d, 3, &[]);
            },
        ),
        ("the last record torn", |d, base, _, rs| {
            files::write_snapshot(d, &snapshot(base.clone(), 0)).unwrap();
            write_segment(d, 1, &rs[..3]);
            write_segment(d, 2, &rs[3..]);
            let mut extra = Vec::new();
            wal::encode(&rs[0], &mut extra).unwrap();
            let mut f = fs::OpenOptions::new()
                .append(true)
                .open(files::segment_path(d, 2))
                .unwrap();
            std::io::Write::write_all(&mut f, &extra[..extra.len() / 2]).unwrap();
        }),
    ];
    for (name, lay_out) in layouts {
        let d = dir("crash");
        lay_out(&d, &base, &folded3, &records);
        let (got, last) = recovered_db(&d);
        assert_eq!(last, 6, "{name}");
        assert!(got == expected, "{name}: recovered a different state");
        assert!(!d.join("state.json.tmp").exists(), "{name}: tmp left");
        let _ = fs::remove_dir_all(&d);
    }
}

#[test]
fn records_the_snapshot_holds_are_skipped_and_a_gap_is_an_error() {
    let d = dir("skip");
    let mut db = live_db();
    let mut stale = grant_record(&mut db, 3);
    stale.policy = PolicyKind::Multi;
    files::write_snapshot(&d, &snapshot(Db::default(), 3)).unwrap();
    write_segment(&d, 1, &[stale.clone()]);
    let f = recover(&d).unwrap();
    let snap = f.snapshot.unwrap();
    assert_eq!(snap.policy, PolicyKind::Single, "record 3 is already in");
    assert!(
        snap.db.all_tokens().is_empty(),
        "record 3 was not applied again"
    );
    stale.seq = 5;
    write_segment(&d, 1, &[stale]);
    let err = recover(&d).err().expect("record 4 is missing");
    assert!(err.to_string().contains("records are missing"), "{err}");
    let _ = fs::remove_dir_all(&d);
}

#[test]
fn damage_before_later_segments_or_a_journal_without_snapshot_is_an_error() {
    let d = dir("damage");
    let mut db = live_db();
    let rs: Vec<Record> = (1..=2).map(|s| grant_record(&mut db, s)).collect();
    write_segment(&d, 1, &rs[..1]);
    let err = recover(&d).err().expect("no snapshot");
    assert!(err.to_string().contains("without its snapshot"), "{err}");
    files::write_snapshot(&d, &snapshot(Db::default(), 0)).unwrap();
    fs::write(files::segment_path(&d, 1), b"deadbeef {\"torn\"").unwrap();
    write_segment(&d, 2, &rs[1..]);
    let err = recover(&d).err().expect("damage in a sealed segment");
    assert!(err.to_string().contains("before later segments"), "{err}");
    let _ = fs::remove_dir_all(&d);
}

async fn append_grants(store: &Store, db: &mut Db, n: usize) {
    let mut last = 0;
    for _ in 0..n {
        let r = grant_record(db, 0);
        last = store.append(r);
    }
    store.wait(last).await.unwrap();
}

/// The running store: group-committed appends, rotation and background compaction with a
/// small threshold, a restart, then a torn tail and another restart. Each recovery equals
/// the live database, and the files stay private.
#[tokio::test]
async fn the_store_compacts_in_the_background_and_every_restart_recovers_the_same_state() {
    let d = dir("store");
    let mut db = live_db();
    let mut snap = snapshot(db.clone(), 0);
    let store = Store::start_with(&d, recover(&d).unwrap(), &mut snap, 4096).unwrap();
    db.take_changes(true);
    append_grants(&store, &mut db, 200).await;
    store.close();
    let segments = files::list_segments(&d).unwrap();
    assert!(segments.len() <= 2, "compacted: {segments:?}");
    let on_disk = files::read_snapshot(&d).unwrap().unwrap();
    assert!(on_disk.journal_seq > 0, "the snapshot holds folded records");
    let (got, last) = recovered_db(&d);
    assert_eq!(last, 200);
    assert!(got == db_json(&db), "after compaction");
    #[cfg(unix)]
    for path in [
        d.join(SNAPSHOT_FILE),
        files::segment_path(&d, segments[segments.len() - 1]),
    ] {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", path.display());
    }

    // A restart folds everything into the snapshot and numbering goes on from there.
    let mut folded = recover(&d).unwrap();
    let mut snap = folded.snapshot.take().unwrap();
    let store = Store::start(&d, folded, &mut snap).unwrap();
    append_grants(&store, &mut db, 3).await;
    store.close();
    let active = *files::list_segments(&d).unwrap().last().unwrap();
    let mut f = fs::OpenOptions::new()
        .append(true)
        .open(files::segment_path(&d, active))
        .unwrap();
    std::io::Write::write_all(&mut f, b"0badc0de {\"seq\":204,").unwrap();
    let (got, last) = recovered_db(&d);
    assert_eq!(last, 203, "the torn record is ignored");
    assert!(got == db_json(&db));

    let mut folded = recover(&d).unwrap();
    let mut snap = folded.snapshot.take().unwrap();
    let store = Store::start(&d, folded, &mut snap).unwrap();
    append_grants(&store, &mut db, 2).await;
    store.close();
    let (got, last) = recovered_db(&d);
    assert_eq!(last, 205, "no gap where the torn record was");
    assert!(got == db_json(&db));
    let _ = fs::remove_dir_all(&d);
}

/// Webhooks: a record carries the whole list when it changed (absent otherwise), the
/// replay keeps the last list, and the snapshot keeps it; a snapshot from before webhooks
/// were saved reads as none.
#[test]
fn webhooks_fold_into_the_snapshot_as_the_last_list() {
    use crate::webhooks::{Hook, HookConfig};
    let fields = serde_json::json!({"event": "temp", "url": "http://127.0.0.1:9/in"});
    let config = HookConfig::from_fields(|k| fields.get(k)).unwrap();
    let now = Utc::now();
    let hook = |id: &str| Hook {
        id: id.to_string(),
        owner: U.to_string(),
        created_at: now,
        config: config.clone(),
    };
    let mut replay = snapshot::Replay::new(snapshot(live_db(), 0));
    let with = |seq: u64, hooks: Option<Vec<Hook>>| {
        let mut r = grant_record(&mut live_db(), seq);
        r.webhooks = hooks;
        let line = serde_json::to_string(&r).unwrap();
        serde_json::from_str::<Record>(&line).unwrap()
    };
    replay
        .apply(with(1, Some(vec![hook("a"), hook("b")])), "t")
        .unwrap();
    replay.apply(with(2, None), "t").unwrap();
    replay.apply(with(3, Some(vec![hook("b")])), "t").unwrap();
    replay.apply(with(4, None), "t").unwrap();
    let snap = replay.finish();
    assert_eq!(snap.webhooks, vec![hook("b")]);
    let text = serde_json::to_string(&snap).unwrap();
    let back: Snapshot = serde_json::from_str(&text).unwrap();
    assert_eq!(back.webhooks, snap.webhooks);
    let mut old: Value = serde_json::from_str(&text).unwrap();
    old.as_object_mut().unwrap().remove("webhooks");
    let old: Snapshot = serde_json::from_value(old).unwrap();
    assert!(old.webhooks.is_empty());
}
