//! A real device port on 127.0.0.1:0 per test, its server state, and bus helpers. Keys
//! are generated once per test binary (RSA generation is slow in debug builds).

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rand::rngs::OsRng;
use spark_mock_protocol::messages::Description;
use spark_mock_protocol::{DeviceId, DeviceKey, ServerKey};
use spark_mock_server::events::Event;
use spark_mock_server::seed::Seed;
use spark_mock_server::{AppState, Config, TriggerOnDrop};
use tokio::net::TcpListener;
use tokio::sync::broadcast;

pub use crate::device::{reader_closed, Device};

/// Longest a test waits for anything that should happen promptly.
pub const WAIT: Duration = Duration::from_secs(10);

/// The ping interval and idle timeout of tests whose clock is paused
/// (`#[tokio::test(start_paused = true)]`), which wait for the server's timers without
/// spending real time. Keep every server timer in such a test shorter than [`WAIT`]: while the
/// runtime waits on a socket the paused clock jumps to the earliest timer, even when the
/// peer's bytes are already on their way, and that timer must be a server one (firing early
/// only brings a ping forward), never the test's own patience running out.
pub const PAUSED_PING: Duration = Duration::from_secs(2);
pub const PAUSED_IDLE: Duration = Duration::from_secs(5);
pub const OWNER: &str = "owner@example.com";
pub const TOKEN: &str = "0123456789abcdef0123456789abcdef01234567";
/// A second user, for "someone else's device" cases (see [`Port::with_users`]).
pub const OTHER: &str = "other@example.com";
pub const OTHER_TOKEN: &str = "89abcdef0123456789abcdef0123456789abcdef";

pub fn server_key() -> Arc<ServerKey> {
    static KEY: OnceLock<Arc<ServerKey>> = OnceLock::new();
    KEY.get_or_init(|| Arc::new(ServerKey::generate(&mut OsRng).expect("server key")))
        .clone()
}

pub fn device_key() -> &'static DeviceKey {
    static KEY: OnceLock<DeviceKey> = OnceLock::new();
    KEY.get_or_init(|| DeviceKey::generate(&mut OsRng).expect("device key"))
}

/// A second device key, for "wrong key" cases.
pub fn other_key() -> &'static DeviceKey {
    static KEY: OnceLock<DeviceKey> = OnceLock::new();
    KEY.get_or_init(|| DeviceKey::generate(&mut OsRng).expect("device key"))
}

pub fn new_id() -> DeviceId {
    DeviceId::new(rand::random())
}

/// Test timings: short, but long enough for a loaded 2-core machine (the handshake's is
/// under [`WAIT`], for paused-clock tests).
pub fn config() -> Config {
    Config {
        password_iterations: 1,
        server_key: Some(server_key()),
        device_timeout: Duration::from_secs(5),
        handshake_timeout: Duration::from_secs(5),
        ..Config::default()
    }
}

/// A running device port. Dropping it stops the port.
pub struct Port {
    pub state: AppState,
    pub addr: SocketAddr,
    _stop: Option<TriggerOnDrop>,
}

impl Port {
    pub async fn start(config: Config) -> Port {
        Port::with_state(AppState::new(config).expect("state")).await
    }

    /// A port whose server has `OWNER` with the never-expiring bearer token `TOKEN`.
    pub async fn with_user() -> Port {
        let seed = Seed::parse(&format!(
            "[[users]]\nusername = '{OWNER}'\npassword = 'pw'\n\
             [[users.tokens]]\ntoken = '{TOKEN}'\nexpires_in = 0\n"
        ))
        .expect("seed");
        Port::with_state(AppState::with_seed(config(), &seed).expect("state")).await
    }

    /// As [`Port::with_user`], plus `OTHER` with the never-expiring token `OTHER_TOKEN`.
    pub async fn with_users() -> Port {
        let seed = Seed::parse(&format!(
            "[[users]]\nusername = '{OWNER}'\npassword = 'pw'\n\
             [[users.tokens]]\ntoken = '{TOKEN}'\nexpires_in = 0\n\
             [[users]]\nusername = '{OTHER}'\npassword = 'pw'\n\
             [[users.tokens]]\ntoken = '{OTHER_TOKEN}'\nexpires_in = 0\n"
        ))
        .expect("seed");
        Port::with_state(AppState::with_seed(config(), &seed).expect("state")).await
    }

    /// A `Port` view of a server started elsewhere.
    pub fn attach(state: AppState, addr: SocketAddr) -> Port {
        Port {
            state,
            addr,
            _stop: None,
        }
    }

    pub async fn with_state(state: AppState) -> Port {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        state.set_device_addr(Some(addr));
        let stop = state.shutdown().trigger_on_drop();
        tokio::spawn(spark_mock_server::devices::serve_devices(
            listener,
            state.clone(),
        ));
        Port {
            state,
            addr,
            _stop: Some(stop),
        }
    }

    pub async fn default() -> Port {
        Port::start(config()).await
    }

    /// Registers `key` for `id`, owned by `owner`.
    pub fn provision(&self, id: &DeviceId, key: &DeviceKey, owner: Option<&str>) {
        let pem = key.public_pem().expect("pem");
        self.state.devices().upsert(&id.to_hex(), |d| {
            d.public_key_pem = Some(pem);
            d.owner = owner.map(str::to_string);
        });
    }

    pub fn events(&self) -> broadcast::Receiver<Arc<Event>> {
        self.state.bus().subscribe()
    }

    /// A provisioned, owned Core past Hello whose Describe has been answered.
    pub async fn online(&self, desc: &Description) -> Device {
        self.online_as(desc, |_| spark_mock_protocol::messages::Hello::core())
            .await
    }

    /// As [`Port::online`], with the Hello `hello` makes from the device id.
    pub async fn online_as(
        &self,
        desc: &Description,
        hello: impl FnOnce(&DeviceId) -> spark_mock_protocol::messages::Hello,
    ) -> Device {
        let id = new_id();
        self.provision(&id, device_key(), Some(OWNER));
        let h = hello(&id);
        let mut d = Device::connect(self, id, device_key(), false)
            .await
            .expect("handshake");
        d.hello_as(h).await;
        d.answer_describe(desc).await;
        d
    }
}

/// The next bus event that is not `spark/status`, within `WAIT`.
pub async fn next_event(rx: &mut broadcast::Receiver<Arc<Event>>) -> Arc<Event> {
    tokio::time::timeout(WAIT, async {
        loop {
            let e = rx.recv().await.expect("bus");
            if e.name != "spark/status" {
                return e;
            }
        }
    })
    .await
    .expect("no event in time")
}

/// The next `spark/status` event of `id`, within `WAIT`.
pub async fn next_status(rx: &mut broadcast::Receiver<Arc<Event>>, id: &DeviceId) -> Arc<Event> {
    tokio::time::timeout(WAIT, async {
        loop {
            let e = rx.recv().await.expect("bus");
            if e.name == "spark/status" && e.coreid == id.to_hex() {
                return e;
            }
        }
    })
    .await
    .expect("no status event in time")
}
