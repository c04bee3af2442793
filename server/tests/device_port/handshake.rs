//! Handshake, provisioning (stored key, Photon-style appended key), Hello, Describe and the
//! online/offline status events.

use spark_mock_protocol::messages::{Description, VarType};
use spark_mock_protocol::{Message, Token};
use spark_mock_server::devices::VarType as RegType;
use spark_mock_server::faults::DeviceFault;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::support::*;

fn brew() -> Description {
    Description {
        functions: vec!["brew".into()],
        variables: vec![("temp".into(), VarType::Int)],
        m: None,
    }
}

#[tokio::test]
async fn a_provisioned_device_comes_online_is_described_and_goes_offline() {
    let port = Port::default().await;
    let mut bus = port.events();
    let id = new_id();
    port.provision(&id, device_key(), Some(OWNER));
    let mut dev = Device::connect(&port, id, device_key(), false)
        .await
        .expect("handshake");
    dev.hello().await;
    let online = next_status(&mut bus, &id).await;
    assert_eq!(online.data.as_deref(), Some("online"));
    assert_eq!(online.owner.as_deref(), Some(OWNER));
    assert!(!online.public);
    dev.answer_describe(&brew()).await;

    let d = port.state.devices().get(&id.to_hex()).expect("registered");
    assert!(d.online);
    assert_eq!(d.functions, vec!["brew".to_string()]);
    assert_eq!(d.variables.get("temp"), Some(&RegType::Int));
    assert_eq!(d.last_ip_address.as_deref(), Some("127.0.0.1"));
    assert!(d.last_heard.is_some() && d.last_handshake_at.is_some());

    drop(dev);
    let offline = next_status(&mut bus, &id).await;
    assert_eq!(offline.data.as_deref(), Some("offline"));
    assert!(!port.state.devices().get(&id.to_hex()).expect("kept").online);
}

#[tokio::test]
async fn auto_provisioning_takes_the_appended_key() {
    let port = Port::default().await;
    let id = new_id();
    let mut dev = Device::connect(&port, id, device_key(), true)
        .await
        .expect("an unknown device with an appended key is accepted");
    dev.hello().await;
    dev.ping().await;
    let stored = port.state.devices().public_key(&id.to_hex());
    assert_eq!(stored, Some(device_key().public_pem().expect("pem")));

    // Without an appended key an unknown device is refused even so.
    let r = Device::connect(&port, new_id(), device_key(), false).await;
    assert!(r.is_err(), "an unknown Core must be refused");
}

#[tokio::test]
async fn without_auto_provisioning_unknown_devices_are_refused() {
    let port = Port::start(spark_mock_server::Config {
        auto_provision: false,
        ..config()
    })
    .await;
    let id = new_id();
    let r = Device::connect(&port, id, device_key(), true).await;
    assert!(r.is_err(), "refused like the real cloud");
    assert_eq!(port.state.devices().public_key(&id.to_hex()), None);

    // A provisioned device still gets in.
    port.provision(&id, device_key(), None);
    let mut dev = Device::connect(&port, id, device_key(), true)
        .await
        .expect("provisioned");
    dev.hello().await;
}

/// Time is paused (see [`PAUSED_PING`]): the timeouts fire as tokio's clock jumps ahead, so
/// the test takes no real time.
#[tokio::test(start_paused = true)]
async fn handshake_steps_and_hello_time_out() {
    let port = Port::default().await;
    let limit = port.state.config().handshake_timeout;
    assert!(limit < WAIT);
    // Reads the nonce, then says nothing.
    let mut raw = TcpStream::connect(port.addr).await.expect("connect");
    let mut nonce = [0u8; 40];
    raw.read_exact(&mut nonce).await.expect("nonce");
    let quiet = Instant::now();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(WAIT, raw.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "the server must give up on a silent device");
    assert!(rest.is_empty());
    assert!(
        quiet.elapsed() >= limit,
        "gave up after {:?}",
        quiet.elapsed()
    );

    // Handshakes, then never sends Hello.
    let id = new_id();
    port.provision(&id, device_key(), None);
    let mut dev = Device::connect(&port, id, device_key(), false)
        .await
        .expect("handshake");
    let quiet = Instant::now();
    assert!(dev.closed_within(WAIT).await, "no Hello, no connection");
    assert!(
        quiet.elapsed() >= limit,
        "gave up after {:?}",
        quiet.elapsed()
    );
}

#[tokio::test]
async fn the_first_message_must_be_hello() {
    let port = Port::default().await;
    let id = new_id();
    port.provision(&id, device_key(), None);
    let mut dev = Device::connect(&port, id, device_key(), false)
        .await
        .expect("handshake");
    dev.send(Message::Ping, Token::EMPTY).await;
    assert!(dev.closed_within(WAIT).await);
    assert!(port
        .state
        .devices()
        .get(&id.to_hex())
        .is_some_and(|d| !d.online));
}

#[tokio::test]
async fn an_offline_fault_refuses_the_handshake() {
    let port = Port::default().await;
    let id = new_id();
    port.provision(&id, device_key(), None);
    let now = port.state.clock().now();
    port.state
        .faults()
        .add_device(&id.to_hex(), DeviceFault::Offline, now);
    assert!(Device::connect(&port, id, device_key(), false)
        .await
        .is_err());
}
