//! The registry's own tests: connection bookkeeping, requests and timeouts, names.

use std::time::Duration;

use std::net::SocketAddr;

use super::*;
use crate::devices::types::DeviceError;
use crate::devices::types::HelloInfo;

fn registry() -> (Registry, EventBus) {
    let bus = EventBus::new();
    (Registry::new(bus.clone(), Clock::new()), bus)
}

#[tokio::test]
async fn online_offline_publishes_status_and_ignores_stale_connections() {
    let (reg, bus) = registry();
    let mut events = bus.subscribe();
    let id = "0123456789abcdef01234567";
    reg.upsert(id, |d| d.owner = Some("a@example.com".into()));
    let (tx1, _rx1) = mpsc::channel(4);
    let addr: SocketAddr = "10.0.0.7:4000".parse().unwrap();
    let c1 = reg.connected(id, addr, &HelloInfo::default(), tx1);
    let (tx2, _rx2) = mpsc::channel(4);
    let c2 = reg.connected(id, addr, &HelloInfo::default(), tx2);
    reg.disconnected(id, c1);
    assert!(
        reg.get(id).unwrap().online,
        "a stale connection must not take the device offline"
    );
    reg.disconnected(id, c2);
    let d = reg.get(id).unwrap();
    assert!(!d.online);
    assert_eq!(d.last_ip_address.as_deref(), Some("10.0.0.7"));
    let e = events.recv().await.unwrap();
    assert_eq!(
        (e.name.as_str(), e.data.as_deref()),
        ("spark/status", Some("online"))
    );
    assert_eq!(e.owner.as_deref(), Some("a@example.com"));
    events.recv().await.unwrap();
    let e = events.recv().await.unwrap();
    assert_eq!(e.data.as_deref(), Some("offline"));
}

#[tokio::test]
async fn requests_reach_the_connection_and_time_out_without_an_answer() {
    let (reg, _bus) = registry();
    let id = "0123456789abcdef01234567";
    assert_eq!(
        reg.call_function(id, "led", "on", Duration::from_millis(50))
            .await,
        Err(DeviceError::Offline)
    );
    let (tx, mut rx) = mpsc::channel(4);
    reg.connected(
        id,
        "127.0.0.1:1".parse().unwrap(),
        &HelloInfo::default(),
        tx,
    );
    let answer = tokio::spawn(async move {
        if let Some(Command::CallFunction { arg, reply, .. }) = rx.recv().await {
            let _ = reply.send(Ok(arg.len() as i32));
        }
        // Never answer the next one.
        let _pending = rx.recv().await;
        std::future::pending::<()>().await;
    });
    assert_eq!(
        reg.call_function(id, "led", "four", Duration::from_secs(5))
            .await,
        Ok(4)
    );
    assert_eq!(
        reg.get_variable(id, "temp", Duration::from_millis(50))
            .await,
        Err(DeviceError::TimedOut)
    );
    answer.abort();
}

#[test]
fn names_resolve_like_ids() {
    let (reg, _bus) = registry();
    reg.upsert("0123456789ABCDEF01234567", |d| d.name = Some("sim1".into()));
    assert_eq!(
        reg.resolve("sim1").as_deref(),
        Some("0123456789abcdef01234567")
    );
    assert_eq!(
        reg.resolve("0123456789ABCDEF01234567").as_deref(),
        Some("0123456789abcdef01234567")
    );
    assert_eq!(reg.resolve("nope"), None);
}

#[test]
fn only_the_owner_replaces_a_claimed_devices_key() {
    let (reg, _bus) = registry();
    let id = "0123456789abcdef01234567";
    reg.upsert(id, |d| {
        d.owner = Some("a@example.com".into());
        d.public_key_pem = Some("A's key".into());
    });
    let before = reg.generation();
    assert_eq!(
        reg.provision_for(&id.to_ascii_uppercase(), "B's key", "b@example.com"),
        Err(ProvisionError::NotOwner)
    );
    assert_eq!(reg.public_key(id).as_deref(), Some("A's key"));
    assert_eq!(
        reg.generation(),
        before,
        "a refusal changes nothing to save"
    );
    assert_eq!(
        reg.provision_for(id, "A's new key", "a@example.com"),
        Ok(())
    );
    assert_eq!(reg.public_key(id).as_deref(), Some("A's new key"));
    // New and unclaimed devices take anyone's key and stay unclaimed.
    let new = "aaaaaaaaaaaaaaaaaaaaaaaa";
    assert_eq!(reg.provision_for(new, "B's key", "b@example.com"), Ok(()));
    assert_eq!(reg.public_key(new).as_deref(), Some("B's key"));
    assert_eq!(reg.get(new).and_then(|d| d.owner), None);
    assert_eq!(reg.provision_for(new, "C's key", "c@example.com"), Ok(()));
}

#[test]
fn find_anywhere_prefers_the_callers_own_device_then_any_by_name() {
    let (reg, _bus) = registry();
    let named = |id: &str, owner: &str| {
        reg.upsert(id, |d| {
            d.owner = Some(owner.into());
            d.name = Some("kitchen".into());
        })
    };
    named("cccccccccccccccccccccccc", "c@example.com");
    named("bbbbbbbbbbbbbbbbbbbbbbbb", "b@example.com");
    let id = |d: Option<DeviceInfo>| d.map(|d| d.id);
    assert_eq!(reg.find_for("kitchen", "a@example.com").map(|d| d.id), None);
    assert_eq!(
        id(reg.find_anywhere("kitchen", "a@example.com")).as_deref(),
        Some("bbbbbbbbbbbbbbbbbbbbbbbb"),
        "the lowest id of those sharing the name"
    );
    named("dddddddddddddddddddddddd", "a@example.com");
    assert_eq!(
        id(reg.find_anywhere("kitchen", "a@example.com")).as_deref(),
        Some("dddddddddddddddddddddddd"),
        "the caller's own device first"
    );
    assert_eq!(
        id(reg.find_anywhere("CCCCCCCCCCCCCCCCCCCCCCCC", "a@example.com")).as_deref(),
        Some("cccccccccccccccccccccccc")
    );
    assert_eq!(id(reg.find_anywhere("nothing", "a@example.com")), None);
}

#[test]
fn changes_are_taken_once_each_as_the_device_is_now_and_a_clear_is_reported() {
    let (reg, _bus) = registry();
    let (a, b) = ("0123456789abcdef0123456a", "0123456789abcdef0123456b");
    reg.upsert(a, |d| d.name = Some("one".into()));
    reg.upsert(a, |d| d.name = Some("two".into()));
    assert!(reg.update("ffffffffffffffffffffffff", |_| ()).is_none());
    let c = reg.take_changes();
    assert!(!c.cleared);
    assert_eq!(c.devices.len(), 1, "unknown devices are not marked");
    assert_eq!(
        c.devices[0].1.as_ref().unwrap().name.as_deref(),
        Some("two")
    );
    assert!(reg.take_changes().devices.is_empty(), "taken once");
    reg.upsert(b, |_| ());
    reg.clear();
    reg.upsert(a, |d| d.name = Some("three".into()));
    let c = reg.take_changes();
    assert!(c.cleared);
    let by_id: BTreeMap<_, _> = c.devices.into_iter().collect();
    assert!(by_id[b].is_none(), "gone since the clear");
    assert_eq!(by_id[a].as_ref().unwrap().name.as_deref(), Some("three"));
}

#[test]
fn one_owner_cannot_have_two_devices_of_one_name() {
    let (reg, _bus) = registry();
    let (a, b) = ("0123456789abcdef01234567", "0123456789abcdef01234568");
    let claim = |name: &str, owner: &str| {
        let (name, owner) = (name.to_string(), owner.to_string());
        move |d: &mut DeviceInfo| {
            d.name = Some(name);
            d.owner = Some(owner);
        }
    };
    assert_eq!(reg.upsert_unique(a, claim("coffee", "u@x")), Ok(()));
    assert_eq!(
        reg.upsert_unique(b, claim("coffee", "u@x")),
        Err(a.to_string())
    );
    assert!(reg.get(b).is_none(), "a refused device is not registered");
    // Another owner may use the name, and a device may keep its own.
    assert_eq!(reg.upsert_unique(b, claim("coffee", "v@x")), Ok(()));
    assert_eq!(reg.upsert_unique(a, claim("coffee", "u@x")), Ok(()));
    assert_eq!(reg.get(b).and_then(|d| d.owner).as_deref(), Some("v@x"));
}

#[test]
fn a_unique_rename_is_taken_as_a_change() {
    let (reg, _bus) = registry();
    let id = "0123456789abcdef01234567";
    reg.upsert(id, |d| d.owner = Some("u@x".into()));
    reg.take_changes();
    assert_eq!(
        reg.update_unique(id, |d| d.name = Some("kettle".into())),
        Some(Ok(()))
    );
    let c = reg.take_changes();
    assert_eq!(c.devices.len(), 1, "the rename is journaled: {c:?}");
    assert_eq!(
        c.devices[0].1.as_ref().unwrap().name.as_deref(),
        Some("kettle")
    );
}

#[tokio::test(start_paused = true)]
async fn wait_for_wakes_on_the_change_it_waits_for() {
    let (reg, _bus) = registry();
    let reg = std::sync::Arc::new(reg);
    let id = "0123456789abcdef01234567";
    let described = |d: &DeviceInfo| d.online && d.functions == ["led"];
    let waiter = tokio::spawn({
        let reg = reg.clone();
        async move { reg.wait_for(&id.to_ascii_uppercase(), described).await }
    });
    tokio::task::yield_now().await;
    assert!(!waiter.is_finished(), "an unknown device is not ready");
    let (tx, _rx) = mpsc::channel(4);
    let addr: SocketAddr = "10.0.0.7:4000".parse().unwrap();
    let conn = reg.connected(id, addr, &HelloInfo::default(), tx);
    tokio::task::yield_now().await;
    assert!(!waiter.is_finished(), "online, but no Describe yet");
    reg.described(id, vec!["led".into()], BTreeMap::new());
    let d = tokio::time::timeout(Duration::from_secs(1), waiter)
        .await
        .expect("woken by the Describe")
        .unwrap();
    assert_eq!(d.functions, ["led"]);
    // Already true: returns at once; and it sees the device go offline.
    reg.wait_for(id, described).await;
    reg.disconnected(id, conn);
    reg.wait_for(id, |d| !d.online).await;
}
