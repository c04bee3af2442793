//! The shared state behind every route and the admin API: configuration, the clock, the
//! account database, the token policy in force, the devices, the event bus and the mock's
//! own controls (journal, faults, rate limiter, persistence). Cheap to clone.
//!
//! Locks are parking_lot locks held only for in-memory work, never across `.await`.
//! `durability` adds reset, reload and persistence to [`AppState`]; `accounts` makes it the
//! database the token grants use.

mod accounts;
mod durability;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use chrono::Duration;
use parking_lot::{Mutex, RwLock};

use crate::clock::Clock;
use crate::config::{Config, PolicyKind};
use crate::devices::keys::{KeyFileError, KeyHome};
use crate::devices::{DeviceCalls, Registry};
use crate::domain::db::{Db, Issued};
use crate::domain::password::PasswordHash;
use crate::domain::users::{builtin_clients, User};
use crate::events::EventBus;
use crate::faults::Faults;
use crate::journal::Journal;
use crate::persist::{PersistError, Store, SNAPSHOT_FILE};
use crate::ratelimit::RateLimiter;
use crate::seed::{Seed, SeedError};
use crate::shutdown::Shutdown;
use crate::webhooks::Webhooks;
use durability::{Committed, Pruned};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Seed(#[from] SeedError),
    #[error(transparent)]
    Persist(#[from] PersistError),
}

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    clock: Clock,
    db: Mutex<Db>,
    policy: RwLock<PolicyKind>,
    bus: EventBus,
    devices: Registry,
    shutdown: Shutdown,
    limiter: RateLimiter,
    journal: Journal,
    faults: Faults,
    /// The seed in force, for `/__mock/reset` and `/__mock/reload`.
    seed: RwLock<Seed>,
    /// The journal, with `--state-dir`.
    store: Option<Store>,
    /// Bumped by every change to accounts; compared with what was last committed.
    generation: AtomicU64,
    /// What the journal last got; held while a commit takes changes and appends them, so
    /// records are appended in the order their changes were taken.
    committed: Mutex<Committed>,
    /// Token uses and refusals changed since the last commit (flushed in the background).
    touched: AtomicBool,
    /// When dead tokens were last pruned.
    pruned: Mutex<Pruned>,
    /// The device port's RSA-2048 key, loaded or generated once (see `server_key`).
    server_key: tokio::sync::OnceCell<Arc<spark_mock_protocol::ServerKey>>,
    /// Keeps the key's directory (a temporary one without `--state-dir`) alive.
    key_home: Mutex<Option<KeyHome>>,
    /// Where the device port listens, while it does.
    device_addr: Mutex<Option<SocketAddr>>,
    /// Webhooks (particle profile), journaled with the rest.
    webhooks: Webhooks,
}

impl AppState {
    /// Builds the state from a configuration, loading its seed file if it names one.
    pub fn new(config: Config) -> Result<Self, StartError> {
        let seed = match &config.seed_file {
            Some(path) => Seed::from_file(path)?,
            None => Seed::default(),
        };
        Self::with_seed(config, &seed)
    }

    /// Builds the state from a configuration and an already parsed seed. With a state
    /// directory that holds a snapshot, the snapshot wins and the seed's accounts are not
    /// applied; its devices are registered either way.
    pub fn with_seed(config: Config, seed: &Seed) -> Result<Self, StartError> {
        let clock = Clock::new();
        let mut folded = config
            .state_dir
            .as_deref()
            .map(crate::persist::recover)
            .transpose()?;
        let snapshot = folded.as_mut().and_then(|f| f.snapshot.take());
        let bus = EventBus::new();
        let devices = Registry::new(bus.clone(), clock.clone());
        let webhooks = Webhooks::default();
        let (db, policy) = match snapshot {
            Some(snap) => {
                let secs = snap.clock_offset_secs;
                clock.restore_offset_secs(secs).map_err(|e| {
                    let path = config.state_dir.as_ref().map(|d| d.join(SNAPSHOT_FILE));
                    PersistError::Corrupt {
                        path: path.unwrap_or_default().display().to_string(),
                        message: format!("clock_offset_secs {secs}: {e}"),
                    }
                })?;
                for d in snap.devices {
                    let id = d.id.clone();
                    devices.upsert(&id, move |info| *info = d);
                }
                webhooks.restore(snap.webhooks);
                tracing::info!("restored state saved at {}", snap.saved_at);
                (snap.db, snap.policy)
            }
            None => (fresh_db(&config, seed, &clock)?, config.policy),
        };
        // Even over a snapshot: seeded devices (the demo's cores) bring a new key each start,
        // and the snapshot written at start holds it.
        durability::register_seed_devices(&devices, seed);
        let live = durability::Live {
            devices: &devices,
            webhooks: &webhooks,
        };
        let (store, db) = durability::start_store(&config, folded, db, policy, &clock, live)?;
        let committed = Committed::now(1, live, policy, &clock);
        let pruned = Pruned::now(&clock);
        let state = AppState {
            inner: Arc::new(Inner {
                policy: RwLock::new(policy),
                faults: Faults::new(config.fault_seed),
                clock,
                db: Mutex::new(db),
                bus,
                devices,
                shutdown: Shutdown::new(),
                limiter: RateLimiter::default(),
                journal: Journal::default(),
                seed: RwLock::new(seed.clone()),
                store,
                generation: AtomicU64::new(1),
                committed: Mutex::new(committed),
                touched: AtomicBool::new(false),
                pruned: Mutex::new(pruned),
                server_key: tokio::sync::OnceCell::new_with(config.server_key.clone()),
                key_home: Mutex::new(None),
                device_addr: Mutex::new(None),
                webhooks,
                config,
            }),
        };
        Ok(state)
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// Runs `f` with the database locked, as a change that must be persisted. Keep `f`
    /// short and synchronous.
    pub fn db<R>(&self, f: impl FnOnce(&mut Db) -> R) -> R {
        let r = f(&mut self.inner.db.lock());
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
        r
    }

    /// Reads the database.
    pub fn db_read<R>(&self, f: impl FnOnce(&Db) -> R) -> R {
        f(&self.inner.db.lock())
    }

    /// Runs `f` for a change to token history only (uses, refusals), which is saved in the
    /// background rather than before the response.
    pub fn db_touch<R>(&self, f: impl FnOnce(&mut Db) -> R) -> R {
        let r = f(&mut self.inner.db.lock());
        self.inner.touched.store(true, Ordering::Release);
        r
    }

    pub fn policy(&self) -> PolicyKind {
        *self.inner.policy.read()
    }

    pub fn set_policy(&self, policy: PolicyKind) {
        *self.inner.policy.write() = policy;
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
    }

    /// The default token lifetime; one too long for a duration is as long as one can be
    /// (add it with [`crate::clock::deadline`]).
    pub fn token_lifetime(&self) -> Duration {
        Duration::try_seconds(self.inner.config.token_lifetime_secs).unwrap_or(Duration::MAX)
    }

    /// The server's one shutdown: [`crate::run`] and [`crate::run_with_devices`] serve until
    /// it is triggered; event streams, device connections and background tasks end with it.
    /// A state serves once: triggered, it stays triggered.
    pub fn shutdown(&self) -> &Shutdown {
        &self.inner.shutdown
    }

    /// The rate limiter, when rate limits are switched on.
    pub fn limiter(&self) -> Option<&RateLimiter> {
        self.inner.config.rate_limits.then_some(&self.inner.limiter)
    }

    /// Injected faults.
    pub fn faults(&self) -> &Faults {
        &self.inner.faults
    }

    /// The journal of recent API requests.
    pub fn journal(&self) -> &Journal {
        &self.inner.journal
    }

    pub fn bus(&self) -> &EventBus {
        &self.inner.bus
    }

    pub fn devices(&self) -> &Registry {
        &self.inner.devices
    }

    /// Function calls and variable reads, with this server's faults, profile and timeout.
    pub fn device_calls(&self) -> DeviceCalls<'_> {
        let c = &self.inner.config;
        DeviceCalls::new(
            &self.inner.devices,
            &self.inner.faults,
            &self.inner.clock,
            c.profile,
            c.device_timeout,
        )
    }

    pub fn webhooks(&self) -> &Webhooks {
        &self.inner.webhooks
    }

    /// The device port's server key: `Config::server_key` if given, else
    /// `<state_dir>/server_key.pem` (a temporary directory without one), generated and saved
    /// on first use. The slow generation runs off the async threads, once.
    pub async fn server_key(&self) -> Result<Arc<spark_mock_protocol::ServerKey>, KeyFileError> {
        let init = || async {
            let dir = self.inner.config.state_dir.clone();
            let (home, key) = tokio::task::spawn_blocking(move || {
                let home = KeyHome::open(dir.as_deref())?;
                let key = home.load_or_generate()?;
                Ok::<_, KeyFileError>((home, key))
            })
            .await
            .map_err(|e| KeyFileError::Task(e.to_string()))??;
            tracing::info!("server key: {}", home.key_path().display());
            *self.inner.key_home.lock() = Some(home);
            Ok(Arc::new(key))
        };
        self.inner.server_key.get_or_try_init(init).await.cloned()
    }

    /// The device port's address, while it is listening.
    pub fn device_addr(&self) -> Option<SocketAddr> {
        *self.inner.device_addr.lock()
    }

    pub fn set_device_addr(&self, addr: Option<SocketAddr>) {
        *self.inner.device_addr.lock() = addr;
    }

    pub fn seed(&self) -> Seed {
        self.inner.seed.read().clone()
    }

    /// "Reset Token" for a user under the policy in force: replaces the token the Build page
    /// shows with a fresh one for the Build client. `from_build` tells the history whether the
    /// Settings page or the admin API did it. `None` if the user does not exist.
    pub fn reset_token(&self, username: &str, from_build: bool) -> Option<Issued> {
        let now = self.inner.clock.now();
        let policy = self.policy();
        let build = self.inner.config.build_client_id.clone();
        let lifetime = self.token_lifetime();
        self.db(|db| {
            db.user(username)?;
            Some(db.reset(username, policy, &build, lifetime, from_build, now))
        })
    }

    /// Hashes a password off the async threads (PBKDF2 is deliberately slow).
    pub async fn hash_password(&self, password: String) -> PasswordHash {
        let iterations = self.inner.config.password_iterations;
        let hashed = tokio::task::spawn_blocking({
            let password = password.clone();
            move || PasswordHash::new(&password, iterations)
        })
        .await;
        match hashed {
            Ok(h) => h,
            // The blocking pool is gone only at shutdown; hash inline then.
            Err(_) => PasswordHash::new(&password, iterations),
        }
    }

    /// Checks a username and password; the user on success. Runs the hash off the async
    /// threads.
    pub async fn check_password(&self, username: &str, password: &str) -> Option<User> {
        let user = self.db_read(|db| db.user(username).cloned())?;
        let candidate = password.to_string();
        let hash = user.password.clone();
        let ok = tokio::task::spawn_blocking(move || hash.verify(&candidate))
            .await
            .unwrap_or(false);
        ok.then_some(user)
    }
}

fn fresh_db(config: &Config, seed: &Seed, clock: &Clock) -> Result<Db, SeedError> {
    let mut db = Db::default();
    for c in builtin_clients(&config.build_client_id) {
        db.insert_client(c);
    }
    seed.apply(&mut db, config, clock.now())?;
    Ok(db)
}
