//! The device registry: every known device, its owner and key, and a channel to its live
//! connection. The lock guards only in-memory maps; requests to a device clone its channel
//! under the lock and await the answer after releasing it. Every change wakes
//! [`Registry::wait_for`] and [`Registry::wait_until`].
//!
//! Here: lookups, registration and keys, the changes the journal takes, and waiting;
//! `sessions`: connections, subscriptions, Describe and device events; `commands`: calls,
//! reads and signals sent to a device; `ota`: one OTA update at a time.

mod commands;
mod ota;
mod sessions;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::{Mutex, RwLock};
use tokio::sync::{mpsc, watch};

use crate::clock::Clock;
use crate::devices::subscriptions::SubscriptionView;
use crate::devices::types::{Command, DeviceInfo};
use crate::events::EventBus;

struct Conn {
    id: u64,
    tx: mpsc::Sender<Command>,
    /// What the device subscribed to on this connection (a Core subscribes again after
    /// every reconnect).
    subscriptions: Vec<SubscriptionView>,
}

struct Entry {
    info: DeviceInfo,
    conn: Option<Conn>,
}

/// Why [`Registry::provision_for`] kept the old key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProvisionError {
    #[error("Permission Denied: the device belongs to another user")]
    NotOwner,
}

#[derive(Default)]
struct Changed {
    cleared: bool,
    ids: BTreeSet<String>,
}

/// The devices changed since the last [`Registry::take_changes`]: whether the registry was
/// cleared first, then each changed device as it is now (`None`: gone).
#[derive(Debug, Default)]
pub struct DeviceChanges {
    pub cleared: bool,
    pub devices: Vec<(String, Option<DeviceInfo>)>,
}

pub struct Registry {
    devices: RwLock<BTreeMap<String, Entry>>,
    next_conn: AtomicU64,
    /// Bumped by every change that must survive a restart (keys, owners, names, Describe).
    generation: AtomicU64,
    /// Which devices those changes touched, for the journal (see [`Registry::take_changes`]).
    changed: Mutex<Changed>,
    /// Devices with an OTA update in progress (one at a time per device).
    flashing: Mutex<BTreeSet<String>>,
    /// Bumped after every change a caller may wait for (see [`Registry::wait_for`]).
    changes: watch::Sender<u64>,
    bus: EventBus,
    clock: Clock,
}

impl Registry {
    pub fn new(bus: EventBus, clock: Clock) -> Self {
        Registry {
            devices: RwLock::new(BTreeMap::new()),
            next_conn: AtomicU64::new(1),
            generation: AtomicU64::new(0),
            changed: Mutex::new(Changed::default()),
            flashing: Mutex::new(BTreeSet::new()),
            changes: watch::Sender::new(0),
            bus,
            clock,
        }
    }

    /// Finds a device by id (any case) or, failing that, by name.
    pub fn resolve(&self, id_or_name: &str) -> Option<String> {
        let devices = self.devices.read();
        let lower = id_or_name.to_ascii_lowercase();
        if devices.contains_key(&lower) {
            return Some(lower);
        }
        devices
            .values()
            .find(|e| e.info.name.as_deref() == Some(id_or_name))
            .map(|e| e.info.id.clone())
    }

    /// Finds a device for `user`: by id (whoever owns it, so the caller can refuse it), else
    /// by name among the user's own devices, else by name among unclaimed devices.
    pub fn find_for(&self, id_or_name: &str, user: &str) -> Option<DeviceInfo> {
        let devices = self.devices.read();
        if let Some(e) = devices.get(&id_or_name.to_ascii_lowercase()) {
            return Some(e.info.clone());
        }
        let named = |owner: Option<&str>| {
            devices
                .values()
                .find(|e| {
                    e.info.name.as_deref() == Some(id_or_name) && e.info.owner.as_deref() == owner
                })
                .map(|e| e.info.clone())
        };
        named(Some(user)).or_else(|| named(None))
    }

    /// As [`Registry::find_for`], then by name among other users' devices (the lowest id
    /// when several share the name): for the one route that shows a device its caller does
    /// not own, its public events.
    pub fn find_anywhere(&self, id_or_name: &str, user: &str) -> Option<DeviceInfo> {
        self.find_for(id_or_name, user).or_else(|| {
            self.devices
                .read()
                .values()
                .find(|e| e.info.name.as_deref() == Some(id_or_name))
                .map(|e| e.info.clone())
        })
    }

    /// The devices a user owns, by id.
    pub fn owned_by(&self, user: &str) -> Vec<DeviceInfo> {
        self.devices
            .read()
            .values()
            .filter(|e| e.info.owner.as_deref() == Some(user))
            .map(|e| e.info.clone())
            .collect()
    }

    /// The device with this id (lowercase, as the registry keeps ids).
    pub fn get(&self, id: &str) -> Option<DeviceInfo> {
        self.devices.read().get(id).map(|e| e.info.clone())
    }

    pub fn list(&self) -> Vec<DeviceInfo> {
        self.devices
            .read()
            .values()
            .map(|e| e.info.clone())
            .collect()
    }

    /// Changes that must be persisted so far.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Takes the changes made since the last call, each device as it is now. A change is
    /// marked after its write lock is released, so a device changed while this runs is
    /// taken now or by the next call, never lost.
    pub fn take_changes(&self) -> DeviceChanges {
        let changed = std::mem::take(&mut *self.changed.lock());
        let devices = self.devices.read();
        DeviceChanges {
            cleared: changed.cleared,
            devices: changed
                .ids
                .into_iter()
                .map(|id| {
                    let info = devices.get(&id).map(|e| e.info.clone());
                    (id, info)
                })
                .collect(),
        }
    }

    fn mark(&self, id: String) {
        self.changed.lock().ids.insert(id);
        self.notify();
    }

    /// Wakes [`Registry::wait_for`]. Called after the devices' lock is released.
    pub(super) fn notify(&self) {
        self.changes.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Waits until device `id` is known and `ready` holds for it, and returns it as it is
    /// then: e.g. online with its Describe in, or offline again. See [`Registry::wait_until`].
    pub async fn wait_for(&self, id: &str, ready: impl Fn(&DeviceInfo) -> bool) -> DeviceInfo {
        let id = id.to_ascii_lowercase();
        self.wait_until(|reg| reg.get(&id).filter(|d| ready(d)))
            .await
    }

    /// Waits until `look` finds what it looks for in the registry (a device's state, its
    /// subscriptions, an OTA update in progress) and returns it. Woken by each change, not
    /// by polling, so it also works under a paused tokio clock; it waits for ever, so put a
    /// `tokio::time::timeout` around it.
    pub async fn wait_until<T>(&self, look: impl Fn(&Registry) -> Option<T>) -> T {
        // Subscribed before the first look, so a change in between still wakes us.
        let mut changes = self.changes.subscribe();
        loop {
            if let Some(found) = look(self) {
                return found;
            }
            if changes.changed().await.is_err() {
                // Unreachable: the sender lives in `self`, which this borrow keeps alive.
                std::future::pending::<()>().await;
            }
        }
    }

    /// Forgets every device, closing live connections (a reset that drops registrations).
    pub fn clear(&self) {
        let old = std::mem::take(&mut *self.devices.write());
        for e in old.into_values() {
            if let Some(c) = e.conn {
                let _ = c.tx.try_send(Command::Disconnect);
            }
        }
        self.changed.lock().cleared = true;
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.notify();
    }

    /// Adds a device if it is new, then lets `f` change it.
    pub fn upsert<R>(&self, id: &str, f: impl FnOnce(&mut DeviceInfo) -> R) -> R {
        self.generation.fetch_add(1, Ordering::AcqRel);
        let id = id.to_ascii_lowercase();
        let r = {
            let mut devices = self.devices.write();
            let entry = devices.entry(id.clone()).or_insert_with(|| Entry {
                info: DeviceInfo::new(&id),
                conn: None,
            });
            f(&mut entry.info)
        };
        self.mark(id);
        r
    }

    /// Adds or changes a device like [`Registry::upsert`], unless the change would leave its
    /// owner with two devices of one name (a name resolves to one device, as on the cloud,
    /// which refuses a duplicate name per account): then nothing changes and the error is
    /// the id of the device that has the name.
    pub fn upsert_unique<R>(
        &self,
        id: &str,
        f: impl FnOnce(&mut DeviceInfo) -> R,
    ) -> Result<R, String> {
        self.change_unique(id, true, f)
            .unwrap_or_else(|| Err(String::new()))
    }

    /// Changes an existing device like [`Registry::update`] (`None` if it is unknown), with
    /// [`Registry::upsert_unique`]'s rule.
    pub fn update_unique<R>(
        &self,
        id: &str,
        f: impl FnOnce(&mut DeviceInfo) -> R,
    ) -> Option<Result<R, String>> {
        self.change_unique(id, false, f)
    }

    fn change_unique<R>(
        &self,
        id: &str,
        create: bool,
        f: impl FnOnce(&mut DeviceInfo) -> R,
    ) -> Option<Result<R, String>> {
        let id = id.to_ascii_lowercase();
        let mut devices = self.devices.write();
        let mut info = match devices.get(&id) {
            Some(e) => e.info.clone(),
            None if create => DeviceInfo::new(&id),
            None => return None,
        };
        let r = f(&mut info);
        if let (Some(owner), Some(name)) = (&info.owner, &info.name) {
            let holder = devices.values().find(|e| {
                e.info.id != id
                    && e.info.owner.as_ref() == Some(owner)
                    && e.info.name.as_ref() == Some(name)
            });
            if let Some(holder) = holder {
                return Some(Err(holder.info.id.clone()));
            }
        }
        let entry = devices.entry(id.clone()).or_insert_with(|| Entry {
            info: DeviceInfo::new(&id),
            conn: None,
        });
        entry.info = info;
        drop(devices);
        self.generation.fetch_add(1, Ordering::AcqRel);
        // Journaled like every other change (a rename must survive a restart).
        self.mark(id);
        Some(Ok(r))
    }

    /// Changes an existing device; `None` if it is unknown.
    pub fn update<R>(&self, id: &str, f: impl FnOnce(&mut DeviceInfo) -> R) -> Option<R> {
        self.generation.fetch_add(1, Ordering::AcqRel);
        let r = self.devices.write().get_mut(id).map(|e| f(&mut e.info));
        if r.is_some() {
            self.mark(id.to_string());
        }
        r
    }

    /// Registers a device's public key (PEM) without asking who: the admin API and the
    /// device port's auto-provisioning.
    pub fn provision(&self, id: &str, public_key_pem: &str) {
        self.upsert(id, |d| d.public_key_pem = Some(public_key_pem.to_string()));
    }

    /// Registers a device's public key for `user`, as `POST /v1/provisioning/:id` does. A new
    /// or unclaimed device takes any user's key; a claimed one only its owner's, since
    /// whoever holds the key's private half connects as the device (its owner's calls, its
    /// owner's private events). The check and the write happen under one lock.
    pub fn provision_for(
        &self,
        id: &str,
        public_key_pem: &str,
        user: &str,
    ) -> Result<(), ProvisionError> {
        let id = id.to_ascii_lowercase();
        let mut devices = self.devices.write();
        if let Some(owner) = devices.get(&id).and_then(|e| e.info.owner.as_deref()) {
            if owner != user {
                return Err(ProvisionError::NotOwner);
            }
        }
        let entry = devices.entry(id.clone()).or_insert_with(|| Entry {
            info: DeviceInfo::new(&id),
            conn: None,
        });
        entry.info.public_key_pem = Some(public_key_pem.to_string());
        drop(devices);
        self.generation.fetch_add(1, Ordering::AcqRel);
        // Journaled like every other registry change.
        self.mark(id);
        Ok(())
    }

    pub fn public_key(&self, id: &str) -> Option<String> {
        self.devices
            .read()
            .get(&id.to_ascii_lowercase())
            .and_then(|e| e.info.public_key_pem.clone())
    }
}
