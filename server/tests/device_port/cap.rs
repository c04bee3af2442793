//! The connection cap (`--max-device-connections`): at the cap the port stops accepting, so
//! the next device waits in the listen backlog, and is served as soon as a slot frees.

use spark_mock_protocol::messages::Description;
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::support::*;

/// Time is paused (see [`PAUSED_PING`]): "no answer for a second" costs no real time.
#[tokio::test(start_paused = true)]
async fn at_the_cap_the_next_device_waits_for_a_free_slot() {
    let port = Port::start(spark_mock_server::Config {
        device_max_connections: 1,
        device_ping_interval: PAUSED_PING,
        device_idle_timeout: PAUSED_IDLE,
        ..config()
    })
    .await;
    let mut bus = port.events();
    let first = port.online(&Description::default()).await;
    next_status(&mut bus, &first.id).await;

    // TCP connects (the backlog takes it), but the server says nothing: no handshake nonce.
    let waiting = TcpStream::connect(port.addr).await.expect("connect");
    let patience = PAUSED_PING / 2;
    let started = Instant::now();
    let early = tokio::time::timeout(patience, waiting.readable()).await;
    assert!(early.is_err(), "served over the cap");
    assert_eq!(started.elapsed(), patience);

    // The first device leaves: its slot goes to the waiting one.
    drop(first);
    tokio::time::timeout(WAIT, waiting.readable())
        .await
        .expect("served once a slot is free")
        .expect("readable");
    let id = new_id();
    port.provision(&id, device_key(), Some(OWNER));
    let mut second = Device::handshake(&port, waiting, id, device_key(), false)
        .await
        .expect("handshake");
    second.hello().await;
    assert!(port
        .state
        .devices()
        .get(&id.to_hex())
        .is_some_and(|d| d.online));
}
