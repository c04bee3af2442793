//! One misbehaving connection never affects another: garbage bytes, a wrong key and a
//! device that never reads each lose only their own connection.

use std::time::Duration;

use spark_mock_protocol::messages::{Description, Subscribe};
use spark_mock_protocol::{Message, Packet, Token};
use spark_mock_server::events::Event;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;

fn brew() -> Description {
    Description {
        functions: vec!["brew".into()],
        ..Description::default()
    }
}

/// The healthy device still answers a function call through the registry.
async fn still_healthy(port: &Port, dev: &mut Device) {
    assert!(dev.ping().await.is_empty());
    let (state, id) = (port.state.clone(), dev.id.to_hex());
    let call =
        tokio::spawn(async move { state.devices().call_function(&id, "brew", "x", WAIT).await });
    let req = dev.recv().await;
    dev.reply(Packet::empty_ack(req.message_id)).await;
    let next = dev.ids.next_id();
    dev.reply(Packet::function_return(next, req.token, 7)).await;
    assert_eq!(call.await.expect("task"), Ok(7));
}

/// Whether the server closes `s` within `WAIT`, discarding what it sends.
async fn server_closes(s: &mut TcpStream) -> bool {
    let mut sink = Vec::new();
    tokio::time::timeout(WAIT, s.read_to_end(&mut sink))
        .await
        .is_ok()
}

#[tokio::test]
async fn garbage_bytes_lose_only_their_own_connection() {
    let port = Port::default().await;
    let mut healthy = port.online(&brew()).await;

    // Garbage instead of the handshake.
    let mut junk = TcpStream::connect(port.addr).await.expect("connect");
    let noise: Vec<u8> = (0..600).map(|_| rand::random::<u8>()).collect();
    junk.write_all(&noise).await.expect("write");
    // Garbage after a good handshake and Hello: a frame length that is no frame.
    let id = new_id();
    port.provision(&id, device_key(), None);
    let mut bad = Device::connect(&port, id, device_key(), false)
        .await
        .expect("handshake");
    bad.hello().await;
    let Device {
        reader: mut bad_reader,
        writer: bad_writer,
        ..
    } = bad;
    let mut bad_writer = bad_writer.into_inner();
    bad_writer
        .write_all(&[0x00, 0x07, 1, 2, 3, 4, 5, 6, 7])
        .await
        .expect("write");

    still_healthy(&port, &mut healthy).await;
    assert!(
        server_closes(&mut junk).await,
        "garbage handshake is dropped"
    );
    assert!(
        reader_closed(&mut bad_reader, WAIT).await,
        "a bad frame is dropped"
    );
    still_healthy(&port, &mut healthy).await;
}

#[tokio::test]
async fn a_wrong_key_is_refused_without_affecting_others() {
    let port = Port::default().await;
    let mut healthy = port.online(&brew()).await;
    let id = new_id();
    port.provision(&id, device_key(), Some(OWNER));
    let r = Device::connect(&port, id, other_key(), false).await;
    assert!(
        r.is_err(),
        "the session key is sealed to the provisioned key"
    );
    assert!(port
        .state
        .devices()
        .get(&id.to_hex())
        .is_some_and(|d| !d.online));
    still_healthy(&port, &mut healthy).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_that_never_reads_is_dropped_alone() {
    let port = Port::start(spark_mock_server::Config {
        device_write_timeout: Duration::from_millis(500),
        ..config()
    })
    .await;
    let mut healthy = port.online(&brew()).await;
    let id = new_id();
    port.provision(&id, device_key(), Some(OWNER));
    let mut slow = Device::connect_with(&port, id, device_key(), false, Some(4096))
        .await
        .expect("handshake");
    slow.hello().await;
    let sub = slow
        .send(Message::Subscribe(Subscribe::all("flood")), Token::EMPTY)
        .await;
    loop {
        let p = slow.recv().await;
        if p.message_id == sub && p.message == Message::EmptyAck {
            break;
        }
    }
    // From here on `slow` never reads. Flood it until the server gives up on it.
    let data = "x".repeat(400);
    let bus = port.state.bus().clone();
    let flooded = tokio::time::timeout(WAIT, async {
        for i in 0u64.. {
            bus.publish(Event {
                name: format!("flood/{i}"),
                data: Some(data.clone()),
                ttl: 60,
                published_at: chrono::Utc::now(),
                coreid: "api".into(),
                public: true,
                owner: None,
            });
            if i % 64 == 0 {
                tokio::task::yield_now().await;
                if port
                    .state
                    .devices()
                    .get(&id.to_hex())
                    .is_some_and(|d| !d.online)
                {
                    return;
                }
            }
        }
    })
    .await;
    assert!(flooded.is_ok(), "the slow reader must be dropped");
    still_healthy(&port, &mut healthy).await;
    drop(slow);
}
