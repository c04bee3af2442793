//! The registry's side of a device's connections: a completed handshake, a closed
//! connection, the subscriptions and Describe it reports, its events, and the
//! `spark/status` events that mark it online and offline.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use tokio::sync::mpsc;

use super::{Conn, Entry, Registry};
use crate::devices::subscriptions::SubscriptionView;
use crate::devices::types::{Command, DeviceInfo, HelloInfo, VarType};
use crate::events::Event;

impl Registry {
    /// Records a completed handshake. A previous connection of the same device is told to
    /// close. Returns the connection's id for [`Registry::disconnected`].
    pub fn connected(
        &self,
        id: &str,
        remote: SocketAddr,
        hello: &HelloInfo,
        tx: mpsc::Sender<Command>,
    ) -> u64 {
        let conn_id = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let now = self.clock.now();
        let id = id.to_ascii_lowercase();
        let (old, owner) = {
            let mut devices = self.devices.write();
            let entry = devices.entry(id.clone()).or_insert_with(|| Entry {
                info: DeviceInfo::new(&id),
                conn: None,
            });
            let i = &mut entry.info;
            i.online = true;
            i.last_heard = Some(now);
            i.last_handshake_at = Some(now);
            i.last_ip_address = Some(remote.ip().to_string());
            i.platform_id = hello.platform_id;
            i.product_id = hello.product_id;
            i.firmware_version = hello.firmware_version;
            let old = entry.conn.replace(Conn {
                id: conn_id,
                tx,
                subscriptions: Vec::new(),
            });
            (old, entry.info.owner.clone())
        };
        if let Some(old) = old {
            let _ = old.tx.try_send(Command::Disconnect);
        }
        self.notify();
        self.owner_event(&id, owner, "spark/status", "online");
        conn_id
    }

    /// Records that connection `conn_id` of a device closed. Ignored if a newer connection
    /// has taken over.
    pub fn disconnected(&self, id: &str, conn_id: u64) {
        let owner = {
            let mut devices = self.devices.write();
            let Some(entry) = devices.get_mut(id) else {
                return;
            };
            if entry.conn.as_ref().map(|c| c.id) != Some(conn_id) {
                return;
            }
            entry.conn = None;
            entry.info.online = false;
            entry.info.signaling = false;
            entry.info.owner.clone()
        };
        self.notify();
        self.owner_event(id, owner, "spark/status", "offline");
    }

    /// Records a connection's subscriptions, unless a newer connection has replaced it.
    pub fn set_subscriptions(&self, id: &str, conn_id: u64, subs: Vec<SubscriptionView>) {
        if let Some(conn) = self
            .devices
            .write()
            .get_mut(id)
            .and_then(|e| e.conn.as_mut())
            .filter(|c| c.id == conn_id)
        {
            conn.subscriptions = subs;
        }
        self.notify();
    }

    /// The live connection's subscriptions; empty when the device is offline.
    pub fn subscriptions(&self, id: &str) -> Vec<SubscriptionView> {
        self.devices
            .read()
            .get(&id.to_ascii_lowercase())
            .and_then(|e| e.conn.as_ref())
            .map(|c| c.subscriptions.clone())
            .unwrap_or_default()
    }

    /// Notes that a device was heard from.
    pub fn heard(&self, id: &str) {
        let now = self.clock.now();
        if let Some(e) = self.devices.write().get_mut(id) {
            e.info.last_heard = Some(now);
        }
    }

    /// Stores what a Describe reported.
    pub fn described(
        &self,
        id: &str,
        functions: Vec<String>,
        variables: BTreeMap<String, VarType>,
    ) {
        self.update(id, |d| {
            d.functions = functions;
            d.variables = variables;
        });
    }

    /// Publishes an event from a device (its owner and visibility filled in here).
    pub fn device_event(
        &self,
        id: &str,
        name: String,
        data: Option<String>,
        ttl: u32,
        public: bool,
    ) {
        let owner = self
            .devices
            .read()
            .get(id)
            .and_then(|e| e.info.owner.clone());
        self.bus.publish(Event {
            name,
            data,
            ttl,
            published_at: self.clock.now(),
            coreid: id.to_string(),
            public,
            owner,
        });
    }

    /// A cloud-made event about device `id` for its owner only (`spark/status`,
    /// `spark/flash/status`), kept for 60 s as the cloud's are.
    pub(super) fn owner_event(&self, id: &str, owner: Option<String>, name: &str, data: &str) {
        self.bus.publish(Event {
            name: name.to_string(),
            data: Some(data.to_string()),
            ttl: 60,
            published_at: self.clock.now(),
            coreid: id.to_string(),
            public: false,
            owner,
        });
    }
}
