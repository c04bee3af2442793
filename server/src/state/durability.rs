//! Reset, reload and persistence of the shared state: returning to the seed, re-reading it,
//! committing changes to the journal so every acknowledged change survives a restart, and
//! forgetting tokens dead for longer than the retention window.

use std::sync::atomic::Ordering;
use std::time::{Duration as StdDuration, Instant};

use chrono::Duration;

use super::{fresh_db, AppState};
use crate::clock::Clock;
use crate::config::{Config, PolicyKind};
use crate::devices::Registry;
use crate::domain::db::Db;
use crate::persist::{Folded, PersistError, Record, Snapshot, Store};
use crate::seed::{Seed, SeedError};
use crate::webhooks::Webhooks;

/// Dead tokens are looked for this often, and whenever the mock's clock moves.
const PRUNE_EVERY: StdDuration = StdDuration::from_secs(60);

/// The saved parts of the state that live outside the accounts database.
#[derive(Clone, Copy)]
pub(super) struct Live<'a> {
    pub devices: &'a Registry,
    pub webhooks: &'a Webhooks,
}

/// What the journal last got, to tell whether anything changed since.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct Committed {
    generation: u64,
    devices: u64,
    webhooks: u64,
    policy: PolicyKind,
    clock_secs: i64,
}

impl Committed {
    pub(super) fn now(generation: u64, live: Live<'_>, policy: PolicyKind, clock: &Clock) -> Self {
        Committed {
            generation,
            devices: live.devices.generation(),
            webhooks: live.webhooks.generation(),
            policy,
            clock_secs: clock.offset().num_seconds(),
        }
    }
}

/// When dead tokens were last pruned, and the clock's offset then.
pub(super) struct Pruned {
    at: Instant,
    clock_secs: i64,
}

impl Pruned {
    pub(super) fn now(clock: &Clock) -> Self {
        Pruned {
            at: Instant::now(),
            clock_secs: clock.offset().num_seconds(),
        }
    }
}

/// At start-up: prunes dead tokens, then, with a state directory, writes everything as the
/// snapshot and starts the journal. Returns the store and the database (tracking changes
/// when there is a store).
pub(super) fn start_store(
    config: &Config,
    folded: Option<Folded>,
    mut db: Db,
    policy: PolicyKind,
    clock: &Clock,
    live: Live<'_>,
) -> Result<(Option<Store>, Db), PersistError> {
    db.prune(clock.now(), Duration::seconds(config.token_retention_secs));
    let (Some(folded), Some(dir)) = (folded, config.state_dir.as_deref()) else {
        return Ok((None, db));
    };
    let snap = Snapshot::new(
        clock.now(),
        policy,
        clock.offset().num_seconds(),
        db,
        live.devices.list(),
    );
    let mut snap = snap;
    snap.webhooks = live.webhooks.all();
    let store = Store::start(dir, folded, &mut snap)?;
    let mut db = snap.db;
    db.track_changes();
    live.devices.take_changes();
    Ok((Some(store), db))
}

impl AppState {
    /// Returns accounts, the policy and the clock to the seed; unless `keep_devices`, drops
    /// the devices' registrations too and registers the seed's devices again. Journal, faults
    /// and rate limits are cleared.
    pub fn reset(&self, keep_devices: bool) -> Result<(), SeedError> {
        let seed = self.seed();
        self.inner.clock.reset();
        let mut db = fresh_db(&self.inner.config, &seed, &self.inner.clock)?;
        if self.inner.store.is_some() {
            db.track_changes();
            db.mark_replaced();
        }
        *self.inner.db.lock() = db;
        *self.inner.policy.write() = self.inner.config.policy;
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
        self.inner.journal.clear();
        self.inner.faults.clear();
        self.inner.limiter.reset();
        if !keep_devices {
            self.inner.devices.clear();
            // Seeded devices are part of the seed: registered again, they reconnect.
            register_seed_devices(&self.inner.devices, &seed);
        }
        Ok(())
    }

    /// Re-reads the seed file and adds what is new in it (users, their tokens, clients),
    /// updating the passwords of users it names; users and devices given in code stay in
    /// the seed. Connections are untouched.
    pub fn reload_seed(&self) -> Result<usize, SeedError> {
        let mut seed = match &self.inner.config.seed_file {
            Some(path) => Seed::from_file(path)?,
            None => return Ok(0),
        };
        // What was given in code (the demo's user and cores) stays part of the seed.
        let old = self.seed();
        for u in old.users.into_iter().filter(|u| u.builtin) {
            let name = crate::domain::users::normalize_username(&u.username);
            let named = |f: &crate::seed::SeedUser| {
                crate::domain::users::normalize_username(&f.username) == name
            };
            if !seed.users.iter().any(named) {
                seed.users.push(u);
            }
        }
        seed.devices = old.devices;
        let now = self.inner.clock.now();
        let added = self.db(|db| seed.merge(db, &self.inner.config, now))?;
        *self.inner.seed.write() = seed;
        Ok(added)
    }

    fn committed_now(&self) -> Committed {
        let live = Live {
            devices: &self.inner.devices,
            webhooks: &self.inner.webhooks,
        };
        Committed::now(
            self.inner.generation.load(Ordering::Acquire),
            live,
            self.policy(),
            &self.inner.clock,
        )
    }

    /// Appends what changed since the last commit to the journal (token uses too when
    /// `with_uses`); returns the sequence number to wait for.
    fn commit(&self, store: &Store, with_uses: bool) -> u64 {
        let mut last = self.inner.committed.lock();
        if with_uses {
            self.inner.touched.store(false, Ordering::Release);
        }
        // Read before taking the changes: a change made in between is taken now and
        // committed again (empty) later, never missed.
        let current = self.committed_now();
        let db = self.inner.db.lock().take_changes(with_uses);
        let devices = self.inner.devices.take_changes();
        let webhooks = (current.webhooks != last.webhooks).then(|| self.inner.webhooks.all());
        let unchanged = db.is_empty()
            && !devices.cleared
            && devices.devices.is_empty()
            && webhooks.is_none()
            && (current.policy, current.clock_secs) == (last.policy, last.clock_secs);
        *last = current;
        if unchanged {
            return store.appended();
        }
        let mut record = Record::new(
            self.inner.clock.now(),
            current.policy,
            current.clock_secs,
            db,
            devices,
        );
        record.webhooks = webhooks;
        store.append(record)
    }

    /// Makes every change acknowledged so far durable (token uses wait for
    /// [`AppState::persist`]). Called before each response leaves.
    pub async fn persist_changes(&self) -> Result<(), PersistError> {
        let Some(store) = &self.inner.store else {
            return Ok(());
        };
        let seq = if *self.inner.committed.lock() != self.committed_now() {
            self.commit(store, false)
        } else {
            store.appended()
        };
        store.wait(seq).await
    }

    /// Makes everything durable, token uses and refusals included (once a second and at
    /// shutdown).
    pub async fn persist(&self) -> Result<(), PersistError> {
        let Some(store) = &self.inner.store else {
            return Ok(());
        };
        let seq = self.commit(store, true);
        store.wait(seq).await
    }

    /// Stops the journal's writer once everything committed is on disk, waiting for a
    /// compaction in progress, so another instance can open the directory. Commits after
    /// this fail (503). Blocking.
    pub fn close_journal(&self) {
        if let Some(store) = &self.inner.store {
            store.close();
        }
    }

    /// Whether changes are waiting to be committed.
    pub fn dirty(&self) -> bool {
        self.inner.store.is_some()
            && (self.inner.touched.load(Ordering::Acquire)
                || *self.inner.committed.lock() != self.committed_now())
    }

    /// Forgets tokens dead for longer than the retention window, when the mock's clock has
    /// moved or a minute has passed since the last look. Cheap when neither happened.
    pub fn maintain(&self) {
        let clock_secs = self.inner.clock.offset().num_seconds();
        {
            let mut last = self.inner.pruned.lock();
            if last.clock_secs == clock_secs && last.at.elapsed() < PRUNE_EVERY {
                return;
            }
            *last = Pruned {
                at: Instant::now(),
                clock_secs,
            };
        }
        let now = self.inner.clock.now();
        let retention = Duration::seconds(self.inner.config.token_retention_secs);
        let pruned = self.inner.db.lock().prune(now, retention);
        if pruned > 0 {
            self.inner.generation.fetch_add(1, Ordering::AcqRel);
            tracing::info!("forgot {pruned} tokens dead for longer than the retention window");
        }
    }
}

/// Registers (or re-registers) the seed's devices with their keys, owners and names.
pub(crate) fn register_seed_devices(devices: &Registry, seed: &Seed) {
    for d in &seed.devices {
        devices.upsert(&d.id, |info| {
            info.public_key_pem = Some(d.public_key_pem.clone());
            info.owner.clone_from(&d.owner);
            info.name.clone_from(&d.name);
        });
    }
}
