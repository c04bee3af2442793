//! The session rules: pings and time requests answered, the strict +1 message-id rule,
//! tokens on ACKs tolerated, the server's own pings and the idle timeout.

use std::time::{SystemTime, UNIX_EPOCH};

use spark_mock_protocol::messages::Description;
use spark_mock_protocol::{Code, Message, MessageType, Packet, Token};
use tokio::time::Instant;

use crate::support::*;

#[tokio::test]
async fn pings_and_time_requests_are_answered() {
    let port = Port::default().await;
    let mut dev = port.online(&Description::default()).await;
    assert!(dev.ping().await.is_empty());
    let token = Token::byte(dev.tokens.next_token());
    let id = dev.send(Message::TimeRequest, token).await;
    let reply = dev.recv().await;
    assert_eq!(reply.mtype, MessageType::Acknowledgement);
    assert_eq!((reply.message_id, reply.token), (id, token));
    let Message::Response(r) = &reply.message else {
        panic!("{reply:?}")
    };
    assert_eq!(r.code, Code::CONTENT);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("time")
        .as_secs();
    let got = u64::from(r.time().expect("uint32 seconds"));
    assert!(got.abs_diff(now) <= 5, "{got} vs {now}");
}

#[tokio::test]
async fn skipping_a_message_id_drops_the_connection() {
    let port = Port::default().await;
    let mut bus = port.events();
    let mut dev = port.online(&Description::default()).await;
    next_status(&mut bus, &dev.id).await;
    let skipped = dev.ids.next_id().wrapping_add(1);
    dev.reply(Packet::new(Message::Ping, skipped, Token::EMPTY))
        .await;
    assert!(dev.closed_within(WAIT).await, "Bad Counter must disconnect");
    let offline = next_status(&mut bus, &dev.id).await;
    assert_eq!(offline.data.as_deref(), Some("offline"));
}

#[tokio::test]
async fn acks_may_carry_tokens_and_do_not_count() {
    let port = Port::default().await;
    let mut dev = port.online(&Description::default()).await;
    // spark-protocol's stray `00` token on an empty ACK, with an id of no consequence.
    let mut ack = Packet::empty_ack(0x1234);
    ack.token = Token::byte(0);
    dev.reply(ack).await;
    dev.reply(Packet::ack(7, Token::byte(0), Code::BAD_REQUEST, vec![]))
        .await;
    assert!(
        dev.ping().await.is_empty(),
        "the next id is still previous + 1"
    );
}

/// Time is paused (see [`PAUSED_PING`]): the pings and the idle timeout come as tokio's clock
/// jumps ahead, so the test takes no real time.
#[tokio::test(start_paused = true)]
async fn the_server_pings_and_drops_silent_devices() {
    let (ping, idle) = (PAUSED_PING, PAUSED_IDLE);
    let port = Port::start(spark_mock_server::Config {
        device_ping_interval: ping,
        device_idle_timeout: idle,
        ..config()
    })
    .await;
    let mut dev = port.online(&Description::default()).await;
    let online = Instant::now();
    for _ in 0..3 {
        let quiet = Instant::now();
        let p = dev.recv().await;
        assert_eq!(
            (p.mtype, &p.message),
            (MessageType::Confirmable, &Message::Ping)
        );
        assert!(p.token.is_empty());
        assert!(
            quiet.elapsed() >= ping,
            "pinged after {:?}",
            quiet.elapsed()
        );
        dev.reply(Packet::empty_ack(p.message_id)).await;
    }
    assert!(online.elapsed() > idle, "{:?}", online.elapsed());
    // Answering kept it alive longer than the idle timeout; now it goes quiet.
    let quiet = Instant::now();
    assert!(dev.closed_within(WAIT).await, "a silent device is dropped");
    let dropped = quiet.elapsed();
    assert!(dropped >= idle, "dropped after {dropped:?}");
    assert!(port
        .state
        .devices()
        .get(&dev.id.to_hex())
        .is_some_and(|d| !d.online));
}
