//! Reset, reload and persistence of the shared state: returning to the seed, re-reading it,
//! and saving snapshots so every acknowledged change survives a restart.

use std::sync::atomic::Ordering;

use super::{fresh_db, AppState};
use crate::persist::{PersistError, Snapshot};
use crate::seed::{Seed, SeedError};

impl AppState {
    /// Returns accounts, the policy and the clock to the seed; unless `keep_devices`, drops
    /// the devices' registrations too and registers the seed's devices again. Journal, faults
    /// and rate limits are cleared.
    pub fn reset(&self, keep_devices: bool) -> Result<(), SeedError> {
        let seed = self.seed();
        self.inner.clock.reset();
        let db = fresh_db(&self.inner.config, &seed, &self.inner.clock)?;
        *self.inner.db.lock() = db;
        *self.inner.policy.write() = self.inner.config.policy;
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
        self.inner.journal.clear();
        self.inner.faults.clear();
        self.inner.limiter.reset();
        if !keep_devices {
            self.inner.devices.clear();
            // Seeded devices are part of the seed: registered again, they reconnect.
            self.register_seed_devices(&seed);
        }
        Ok(())
    }

    /// Registers (or re-registers) the seed's devices with their keys, owners and names.
    pub(crate) fn register_seed_devices(&self, seed: &Seed) {
        for d in &seed.devices {
            self.inner.devices.upsert(&d.id, |info| {
                info.public_key_pem = Some(d.public_key_pem.clone());
                info.owner.clone_from(&d.owner);
                info.name.clone_from(&d.name);
            });
        }
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

    fn snapshot(&self) -> Snapshot {
        let db = self.inner.db.lock().clone();
        Snapshot::new(
            self.inner.clock.now(),
            self.policy(),
            self.inner.clock.offset().num_seconds(),
            db,
            self.inner.devices.list(),
        )
    }

    /// Saves the state now if anything changed (blocking; used at start and shutdown).
    pub fn save_now(&self) -> Result<(), PersistError> {
        let Some(store) = &self.inner.store else {
            return Ok(());
        };
        // Taken under the store's lock, so saves land in order and none is older than
        // the one before it.
        let mut saved = self.inner.saved.lock();
        let current = (
            self.inner.generation.load(Ordering::Acquire),
            self.inner.devices.generation(),
        );
        let touched = self.inner.touched.swap(false, Ordering::AcqRel);
        if current == *saved && !touched {
            return Ok(());
        }
        store.save(&self.snapshot())?;
        *saved = current;
        Ok(())
    }

    /// Makes every acknowledged change durable before a response goes out.
    pub async fn persist(&self) -> Result<(), PersistError> {
        if self.inner.store.is_none() {
            return Ok(());
        }
        let state = self.clone();
        tokio::task::spawn_blocking(move || state.save_now())
            .await
            .unwrap_or(Ok(()))
    }

    /// Whether changes are waiting to be saved.
    pub fn dirty(&self) -> bool {
        if self.inner.store.is_none() {
            return false;
        }
        let saved = *self.inner.saved.lock();
        let current = (
            self.inner.generation.load(Ordering::Acquire),
            self.inner.devices.generation(),
        );
        current != saved || self.inner.touched.load(Ordering::Acquire)
    }
}
