//! The shared state behind every route and the admin API: configuration, the clock, the
//! account database and the token policy in force. Cheap to clone.
//!
//! Locks are parking_lot locks held only for in-memory work, never across `.await`.

use std::sync::Arc;

use chrono::Duration;
use parking_lot::{Mutex, RwLock};

use crate::clock::Clock;
use crate::config::{Config, PolicyKind};
use crate::devices::Registry;
use crate::domain::db::Db;
use crate::domain::password::PasswordHash;
use crate::domain::users::{builtin_clients, User};
use crate::events::EventBus;
use crate::faults::Faults;
use crate::journal::Journal;
use crate::ratelimit::RateLimiter;
use crate::seed::{Seed, SeedError};

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
    shutdown: tokio::sync::watch::Sender<bool>,
    limiter: RateLimiter,
    journal: Journal,
    faults: Faults,
}

impl AppState {
    /// Builds the state from a configuration, loading its seed file if it names one.
    pub fn new(config: Config) -> Result<Self, SeedError> {
        let seed = match &config.seed_file {
            Some(path) => Seed::from_file(path)?,
            None => Seed::default(),
        };
        Self::with_seed(config, &seed)
    }

    /// Builds the state from a configuration and an already parsed seed.
    pub fn with_seed(config: Config, seed: &Seed) -> Result<Self, SeedError> {
        let clock = Clock::new();
        let mut db = Db::default();
        for c in builtin_clients(&config.build_client_id) {
            db.clients.insert(c.id.clone(), c);
        }
        seed.apply(&mut db, &config, clock.now())?;
        let fault_seed = config.fault_seed;
        let bus = EventBus::new();
        let devices = Registry::new(bus.clone(), clock.clone());
        Ok(AppState {
            inner: Arc::new(Inner {
                policy: RwLock::new(config.policy),
                config,
                clock,
                db: Mutex::new(db),
                bus,
                devices,
                shutdown: tokio::sync::watch::channel(false).0,
                limiter: RateLimiter::default(),
                journal: Journal::default(),
                faults: Faults::new(fault_seed),
            }),
        })
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// Tells long-lived streams to end, so a graceful shutdown can finish.
    pub fn begin_shutdown(&self) {
        self.inner.shutdown.send_replace(true);
    }

    /// Becomes `true` when the server is shutting down.
    pub fn shutdown_watch(&self) -> tokio::sync::watch::Receiver<bool> {
        self.inner.shutdown.subscribe()
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

    /// Runs `f` with the database locked. Keep `f` short and synchronous.
    pub fn db<R>(&self, f: impl FnOnce(&mut Db) -> R) -> R {
        f(&mut self.inner.db.lock())
    }

    pub fn policy(&self) -> PolicyKind {
        *self.inner.policy.read()
    }

    pub fn set_policy(&self, policy: PolicyKind) {
        *self.inner.policy.write() = policy;
    }

    pub fn token_lifetime(&self) -> Duration {
        Duration::seconds(self.inner.config.token_lifetime_secs)
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
        let user = self.db(|db| db.user(username).cloned())?;
        let candidate = password.to_string();
        let hash = user.password.clone();
        let ok = tokio::task::spawn_blocking(move || hash.verify(&candidate))
            .await
            .unwrap_or(false);
        ok.then_some(user)
    }
}
