//! The call module on its own: a registry with a fake connected device (a task answering
//! its commands), real faults and a paused tokio clock, so waits cost no real time.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::*;
use crate::devices::types::{Command, HelloInfo};
use crate::events::EventBus;
use crate::faults::DeviceFault;

const OWNER: &str = "owner@example.com";
const CORE: &str = "53ff6f065067544840551187";
const PHOTON: &str = "0123456789abcdef01234567";
const TIMEOUT: Duration = Duration::from_secs(30);

/// A registry with two devices of `OWNER`: a Core named `kitchen` and a Photon (platform 6)
/// named `garden`, plus an unclaimed `spare` and `other@example.com`'s `theirs`.
struct World {
    devices: Registry,
    faults: Faults,
    clock: Clock,
    /// How many commands each fake device received.
    seen: Arc<AtomicUsize>,
}

impl World {
    fn new() -> Self {
        let clock = Clock::new();
        let w = World {
            devices: Registry::new(EventBus::new(), clock.clone()),
            faults: Faults::new(0),
            clock,
            seen: Arc::default(),
        };
        w.device(CORE, Some(OWNER), "kitchen", 0);
        w.device(PHOTON, Some(OWNER), "garden", 6);
        w.device("aaaaaaaaaaaaaaaaaaaaaaaa", None, "spare", 0);
        w.device(
            "bbbbbbbbbbbbbbbbbbbbbbbb",
            Some("other@example.com"),
            "theirs",
            0,
        );
        w
    }

    /// Registers and connects a device whose task answers a call with the argument's length
    /// and a read of `temp` with 21.5, `state` with "on"; `hang` is never answered.
    fn device(&self, id: &str, owner: Option<&str>, name: &str, platform_id: u16) {
        self.devices.upsert(id, |d| {
            d.owner = owner.map(str::to_string);
            d.name = Some(name.to_string());
            d.functions = vec!["LED".into(), "led".into(), "hang".into()];
            d.variables = BTreeMap::from([
                ("temp".to_string(), VarType::Double),
                ("state".to_string(), VarType::String),
            ]);
        });
        let (tx, mut rx) = mpsc::channel(4);
        let hello = HelloInfo {
            platform_id,
            ..HelloInfo::default()
        };
        let addr = "127.0.0.1:7000".parse().expect("addr");
        self.devices.connected(id, addr, &hello, tx);
        let seen = self.seen.clone();
        tokio::spawn(async move {
            let mut unanswered = Vec::new();
            while let Some(cmd) = rx.recv().await {
                seen.fetch_add(1, Ordering::SeqCst);
                match cmd {
                    Command::CallFunction { name, reply, .. } if name == "hang" => {
                        unanswered.push(reply)
                    }
                    Command::CallFunction { arg, reply, .. } => {
                        let _ = reply.send(Ok(arg.len() as i32));
                    }
                    Command::GetVariable { name, reply } => {
                        let _ = reply.send(Ok(match name.as_str() {
                            "temp" => VarValue::Double(21.5),
                            _ => VarValue::String(b"on".to_vec()),
                        }));
                    }
                    _ => {}
                }
            }
        });
    }

    fn calls(&self, profile: Profile) -> DeviceCalls<'_> {
        DeviceCalls::new(&self.devices, &self.faults, &self.clock, profile, TIMEOUT)
    }

    fn fault(&self, id: &str, f: DeviceFault) {
        self.faults.add_device(id, f, self.clock.now());
    }
}

/// The paused clock moved by `expected` (to the millisecond the timer wheel rounds to).
fn took(start: Instant, expected: Duration) {
    let elapsed = start.elapsed();
    assert!(
        elapsed >= expected && elapsed <= expected + Duration::from_millis(1),
        "took {elapsed:?}, expected {expected:?}"
    );
}

#[tokio::test]
async fn an_owner_finds_only_their_devices_by_id_or_name() {
    let w = World::new();
    let calls = w.calls(Profile::Particle);
    let owner = Caller::Owner(OWNER);
    let found = |who, name: &str| calls.find_device(who, name).map(|d| d.id);
    assert_eq!(found(owner, "kitchen"), Ok(CORE.to_string()));
    assert_eq!(found(owner, &CORE.to_uppercase()), Ok(CORE.to_string()));
    assert_eq!(found(owner, "garden"), Ok(PHOTON.to_string()));
    for foreign in ["theirs", "bbbbbbbbbbbbbbbbbbbbbbbb", "spare", "nope"] {
        assert_eq!(
            found(owner, foreign),
            Err(CallError::UnknownDevice),
            "{foreign}"
        );
    }
    // The console sees every device.
    assert_eq!(
        found(Caller::Operator, "theirs"),
        Ok("bbbbbbbbbbbbbbbbbbbbbbbb".to_string())
    );
    assert_eq!(
        found(Caller::Operator, "nope"),
        Err(CallError::UnknownDevice)
    );
}

#[tokio::test]
async fn names_match_exactly_first_then_ignoring_case() {
    let w = World::new();
    let calls = w.calls(Profile::Particle);
    let d = || {
        calls
            .find_device(Caller::Owner(OWNER), "kitchen")
            .expect("found")
    };
    let name = |n| calls.function(d(), n).map(|f| f.name);
    assert_eq!(name("led"), Ok("led".into()));
    assert_eq!(name("LED"), Ok("LED".into()));
    assert_eq!(name("Led"), Ok("LED".into()));
    assert_eq!(name("brew"), Err(CallError::UnknownFunction));
    let v = calls.variable(d(), "TEMP").expect("temp");
    assert_eq!((v.name.as_str(), v.ty), ("temp", VarType::Double));
    assert!(matches!(
        calls.variable(d(), "led"),
        Err(CallError::UnknownVariable)
    ));
}

#[test]
fn the_argument_limit_depends_on_profile_and_platform() {
    assert_eq!(argument_limit(Profile::Spark2014, 0), 63);
    assert_eq!(argument_limit(Profile::Spark2014, 6), 63);
    assert_eq!(argument_limit(Profile::Particle, 0), 63);
    assert_eq!(argument_limit(Profile::Particle, 6), 622);
}

#[tokio::test]
async fn a_too_long_argument_never_reaches_the_device() {
    let w = World::new();
    let note = NoteSlot::default();
    for (profile, id, limit) in [
        (Profile::Particle, PHOTON, 622),
        (Profile::Particle, CORE, 63),
        (Profile::Spark2014, PHOTON, 63),
    ] {
        let calls = w.calls(profile);
        let d = calls.find_device(Caller::Owner(OWNER), id).expect("found");
        let f = calls.function(d, "led").expect("led");
        let fits = "x".repeat(limit);
        assert_eq!(f.call(&fits, &note).await, Ok(limit as i32));
        let before = w.seen.load(Ordering::SeqCst);
        let long = "x".repeat(limit + 1);
        assert_eq!(
            f.call(&long, &note).await,
            Err(CallError::ArgumentTooLong {
                len: limit + 1,
                limit
            })
        );
        assert_eq!(w.seen.load(Ordering::SeqCst), before, "{profile:?} {id}");
    }
}

#[tokio::test]
async fn a_read_returns_the_value_and_the_device_as_it_is_now() {
    let w = World::new();
    let calls = w.calls(Profile::Particle);
    let d = calls
        .find_device(Caller::Owner(OWNER), "kitchen")
        .expect("found");
    let v = calls.variable(d, "state").expect("state");
    let value = v.read(&NoteSlot::default()).await.expect("read");
    assert_eq!(value, VarValue::String(b"on".to_vec()));
    assert_eq!(variable_json(&value), serde_json::json!("on"));
    assert_eq!(variable_text(&value), "on");
    assert_eq!(variable_text(&VarValue::Double(21.5)), "21.5");
    w.devices.update(CORE, |d| d.name = Some("pantry".into()));
    assert_eq!(v.device.name.as_deref(), Some("kitchen"));
    assert_eq!(v.device_now().name.as_deref(), Some("pantry"));
}

#[tokio::test(start_paused = true)]
async fn offline_fails_at_once_without_asking_the_device_and_is_noted() {
    let w = World::new();
    w.fault(CORE, DeviceFault::Offline);
    let calls = w.calls(Profile::Particle);
    let d = calls
        .find_device(Caller::Owner(OWNER), CORE)
        .expect("found");
    let note = NoteSlot::default();
    let start = Instant::now();
    let r = calls
        .function(d, "led")
        .expect("led")
        .call("on", &note)
        .await;
    assert_eq!(r, Err(CallError::Device(DeviceError::Offline)));
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(w.seen.load(Ordering::SeqCst), 0);
    let noted = note.0.lock().fault.clone();
    assert_eq!(noted.as_deref(), Some(&*format!("device {CORE}: Offline")));
}

#[tokio::test(start_paused = true)]
async fn no_answer_times_out_after_the_device_timeout() {
    let w = World::new();
    w.fault(CORE, DeviceFault::NoAnswer);
    let calls = w.calls(Profile::Spark2014);
    let d = calls
        .find_device(Caller::Owner(OWNER), CORE)
        .expect("found");
    let start = Instant::now();
    let r = calls
        .variable(d, "temp")
        .expect("temp")
        .read(&NoteSlot::default())
        .await;
    assert_eq!(r, Err(CallError::Device(DeviceError::TimedOut)));
    took(start, TIMEOUT);
    assert_eq!(w.seen.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn latency_delays_the_answer_and_counts_against_the_timeout() {
    let w = World::new();
    w.fault(CORE, DeviceFault::Latency { ms: 1_500 });
    let calls = w.calls(Profile::Particle);
    let d = || {
        calls
            .find_device(Caller::Owner(OWNER), CORE)
            .expect("found")
    };
    let note = NoteSlot::default();

    let start = Instant::now();
    let r = calls
        .function(d(), "led")
        .expect("led")
        .call("on", &note)
        .await;
    assert_eq!(r, Ok(2));
    took(start, Duration::from_millis(1_500));

    // A silent device: the wait for it is what the latency left of the timeout.
    let start = Instant::now();
    let r = calls
        .function(d(), "hang")
        .expect("hang")
        .call("", &note)
        .await;
    assert_eq!(r, Err(CallError::Device(DeviceError::TimedOut)));
    took(start, TIMEOUT);

    // Latency as long as the timeout: timed out before the device is asked.
    w.faults.clear();
    w.fault(CORE, DeviceFault::Latency { ms: 60_000 });
    let before = w.seen.load(Ordering::SeqCst);
    let start = Instant::now();
    let r = calls
        .function(d(), "led")
        .expect("led")
        .call("on", &note)
        .await;
    assert_eq!(r, Err(CallError::Device(DeviceError::TimedOut)));
    took(start, TIMEOUT);
    assert_eq!(w.seen.load(Ordering::SeqCst), before);
}
