//! Events both ways: a device's publishes reach the bus with its owner, visibility and TTL
//! (reserved `spark*` names dropped); bus events reach the devices whose subscriptions match,
//! in each of the Core's subscribe forms, and only what their owner may see.

use spark_mock_protocol::messages::{Description, Event as WireEvent, Hello, Subscribe};
use spark_mock_protocol::{Message, Token};
use spark_mock_server::events::Event;

use crate::support::*;

#[tokio::test]
async fn device_publishes_reach_the_bus() {
    let port = Port::default().await;
    let mut dev = port.online(&Description::default()).await;
    let mut bus = port.events();
    let publish = |e: WireEvent| Message::Publish(e);

    let id = dev
        .send(
            publish(WireEvent::private("temp", "21.5").with_ttl(300)),
            Token::EMPTY,
        )
        .await;
    let ack = dev.recv().await;
    assert_eq!((ack.message, ack.message_id), (Message::EmptyAck, id));
    let e = next_event(&mut bus).await;
    assert_eq!(e.name, "temp");
    assert_eq!(e.data.as_deref(), Some("21.5"));
    assert_eq!(e.ttl, 300);
    assert!(!e.public);
    assert_eq!(e.owner.as_deref(), Some(OWNER));
    assert_eq!(e.coreid, dev.id.to_hex());

    dev.send(publish(WireEvent::public("door/front", "")), Token::EMPTY)
        .await;
    let e = next_event(&mut bus).await;
    assert_eq!((e.name.as_str(), e.data.as_deref()), ("door/front", None));
    assert!(e.public);
    assert_eq!(e.ttl, 60);

    // Reserved names are acknowledged and dropped.
    for name in ["spark/flash/status", "SPARKy"] {
        dev.send(publish(WireEvent::public(name, "x")), Token::EMPTY)
            .await;
    }
    dev.send(publish(WireEvent::public("after", "")), Token::EMPTY)
        .await;
    assert_eq!(next_event(&mut bus).await.name, "after");
    let acks = dev.ping().await;
    assert_eq!(acks.len(), 4, "every publish is acknowledged: {acks:?}");
}

fn event(name: &str, coreid: &str, public: bool, owner: &str) -> Event {
    Event {
        name: name.into(),
        data: Some(format!("{name}-data")),
        ttl: 120,
        published_at: chrono::Utc::now(),
        coreid: coreid.into(),
        public,
        owner: Some(owner.into()),
    }
}

/// Reads events until one named `last`; returns their names.
async fn names_until(dev: &mut Device, last: &str) -> Vec<WireEvent> {
    let mut got = Vec::new();
    loop {
        let p = dev.recv().await;
        let Message::EventToDevice(e) = p.message else {
            panic!("unexpected {p:?}");
        };
        let done = e.name == last;
        got.push(e);
        if done {
            return got;
        }
    }
}

#[tokio::test]
async fn bus_events_reach_matching_subscribers_only() {
    let port = Port::default().await;
    let stranger = "stranger@example.com";
    let x = "aaaaaaaaaaaaaaaaaaaaaaaa";
    let mut a = port.online(&Description::default()).await;
    let mut b = port.online(&Description::default()).await;
    let mut c = port.online(&Description::default()).await;
    let mut d = port.online(&Description::default()).await;
    for (dev, sub) in [
        (&mut a, Subscribe::all("temp")),
        (&mut b, Subscribe::my_devices("temp")),
        (&mut c, Subscribe::all("other")),
        (&mut d, Subscribe::device(x)),
    ] {
        let id = dev.send(Message::Subscribe(sub), Token::EMPTY).await;
        let ack = dev.recv().await;
        assert_eq!((ack.message, ack.message_id), (Message::EmptyAck, id));
    }
    let bus = port.state.bus();
    for e in [
        event("temperature/inside", x, true, stranger),
        event("temp2", "api", false, OWNER),
        event("temp3", x, false, stranger),
        event("other-thing", "bbbbbbbbbbbbbbbbbbbbbbbb", true, stranger),
        event("zz-d", x, true, stranger),
        event("other-end", "bbbbbbbbbbbbbbbbbbbbbbbb", true, stranger),
        event("temp-end-b", "cccccccccccccccccccccccc", false, OWNER),
        event("temp-end-a", "bbbbbbbbbbbbbbbbbbbbbbbb", true, stranger),
    ] {
        bus.publish(e);
    }
    let names = |v: Vec<WireEvent>| v.into_iter().map(|e| e.name).collect::<Vec<_>>();
    let got_a = names_until(&mut a, "temp-end-a").await;
    let temp2 = got_a[1].clone();
    assert_eq!(
        names(got_a),
        ["temperature/inside", "temp2", "temp-end-b", "temp-end-a"]
    );
    assert!(temp2.private && temp2.ttl == 120 && temp2.data == b"temp2-data");
    assert_eq!(
        names(names_until(&mut b, "temp-end-b").await),
        ["temp2", "temp-end-b"]
    );
    assert_eq!(
        names(names_until(&mut c, "other-end").await),
        ["other-thing", "other-end"]
    );
    assert_eq!(
        names(names_until(&mut d, "zz-d").await),
        ["temperature/inside", "zz-d"]
    );
}

/// A Core's receive buffer is 640 bytes: an event that would not fit is not sent to a Core
/// (it would drop the link), while a Photon, which has room, still gets it.
#[tokio::test]
async fn events_too_big_for_a_cores_frame_skip_cores_only() {
    let port = Port::default().await;
    let mut core = port.online(&Description::default()).await;
    let mut photon = port
        .online_as(&Description::default(), |id| Hello::photon(id.as_bytes()))
        .await;
    for dev in [&mut core, &mut photon] {
        let id = dev
            .send(Message::Subscribe(Subscribe::all("big")), Token::EMPTY)
            .await;
        let ack = dev.recv().await;
        assert_eq!((ack.message, ack.message_id), (Message::EmptyAck, id));
    }
    let mut huge = event("big-huge", "api", true, OWNER);
    huge.data = Some("x".repeat(700));
    let mut fits = event("big-fits", "api", true, OWNER);
    // An event whose frame stays within 640 bytes still goes to the Core.
    fits.data = Some("y".repeat(600));
    let bus = port.state.bus();
    for e in [
        event("big-small", "api", true, OWNER),
        huge,
        fits,
        event("big-end", "api", true, OWNER),
    ] {
        bus.publish(e);
    }
    let names = |v: Vec<WireEvent>| v.into_iter().map(|e| e.name).collect::<Vec<_>>();
    assert_eq!(
        names(names_until(&mut core, "big-end").await),
        ["big-small", "big-fits", "big-end"]
    );
    assert_eq!(
        names(names_until(&mut photon, "big-end").await),
        ["big-small", "big-huge", "big-fits", "big-end"]
    );
}
