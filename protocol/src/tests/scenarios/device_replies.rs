//! Scenarios where the device sends: Hello, replies to server requests,
//! events, subscriptions and the time request.

use super::*;

#[test]
fn hello() {
    let (_, out) = scenario("hello");
    let h = Harness::new();
    assert_eq!(Some(h.hello_frame.clone()), out[0]);
    assert_eq!(
        hex::encode(&h.hello_frame),
        "0010de896027ba111a95be396f4dfc309b6b"
    );
}

#[test]
fn describe() {
    let (inp, out) = scenario("describe");
    let mut h = Harness::new();
    let req = h.recv(&inp[0]);
    assert_eq!(req, con(Message::DescribeRequest, 0x97b2, 0x28));
    assert_eq!(req.mtype, MessageType::Confirmable);
    h.reencode(&req, &inp[0]);
    let d = Description {
        functions: vec!["brew".into()],
        variables: vec![("temperature".into(), VarType::Int)],
        m: None,
    };
    h.send(
        &Packet::describe_reply(req.message_id, req.token, &d),
        &out[0],
    );
}

#[test]
fn function_call() {
    let (inp, out) = scenario("function call");
    let mut h = Harness::new();
    let req = h.recv(&inp[0]);
    let Message::FunctionCall(call) = &req.message else {
        panic!("{req:?}")
    };
    assert_eq!((call.name.as_str(), call.first_arg()), ("brew", "32,240"));
    assert_eq!((req.message_id, req.token), (0x97b2, Token::byte(0xef)));
    h.reencode(&req, &inp[0]);
    h.send(&Packet::empty_ack(req.message_id), &out[0]);
    let id = h.ids.next_id();
    h.send(&Packet::function_return(id, req.token, 456), &out[1]);
}

#[test]
fn variable_int() {
    let (inp, out) = scenario("variable int");
    let mut h = Harness::new();
    let req = h.recv(&inp[0]);
    assert_eq!(
        req,
        con(
            Message::VariableRequest {
                name: "temperature".into()
            },
            0x97b2,
            0x88
        )
    );
    h.reencode(&req, &inp[0]);
    h.send(
        &Packet::variable_value(req.message_id, req.token, &VarValue::Int(-98765)),
        &out[0],
    );
}

#[test]
fn update_begin() {
    let (inp, out) = scenario("update begin");
    let mut h = Harness::new();
    let req = h.recv(&inp[0]);
    assert_eq!(
        req,
        con(Message::UpdateBegin(UpdateBegin::default()), 0xabd0, 0x33)
    );
    h.reencode(&req, &inp[0]);
    h.send(&Packet::empty_ack(0xabd0), &out[0]);
    let id = h.ids.next_id();
    h.send(&Packet::update_ready(id, req.token, None), &out[1]);
}

fn chunk(title: &str, ok: bool) {
    let (inp, out) = scenario(title);
    let mut h = Harness::new();
    let req = h.recv(&inp[0]);
    let Message::Chunk(c) = &req.message else {
        panic!("{req:?}")
    };
    assert_eq!((c.crc, c.index, c.data.len()), (0x0123_4567, None, 72));
    assert_eq!((req.message_id, req.token), (0xabd1, Token::byte(0x22)));
    h.reencode(&req, &inp[0]);
    h.send(&Packet::empty_ack(0xabd1), &out[0]);
    let id = h.ids.next_id();
    h.send(&Packet::chunk_received(id, req.token, ok), &out[1]);
}

#[test]
fn chunk_crc_ok() {
    chunk("chunk, crc ok", true);
}

#[test]
fn chunk_crc_bad() {
    chunk("chunk, crc bad", false);
}

#[test]
fn update_done() {
    let (inp, out) = scenario("update done");
    let mut h = Harness::new();
    let req = h.recv(&inp[0]);
    assert_eq!(req, con(Message::UpdateDone, 0xabd2, 0x11));
    h.reencode(&req, &inp[0]);
    h.send(&Packet::update_done_ack(req.message_id, req.token), &out[0]);
}

#[test]
fn chunk_missed_after_update_ready() {
    let (inp, out) = scenario("chunk missed after 3 s");
    let mut h = Harness::new();
    let req = h.recv(&inp[0]);
    assert!(matches!(req.message, Message::UpdateBegin(_)));
    assert_eq!(
        (&out[0], &out[1]),
        (&None, &None),
        "placeholders in the fixture"
    );
    h.send(&Packet::empty_ack(req.message_id), &None);
    let id = h.ids.next_id();
    h.send(&Packet::update_ready(id, req.token, None), &None);
    let id = h.ids.next_id();
    assert_eq!(id, 0x97b4);
    h.send(
        &Packet::new(
            Message::ChunkMissed(ChunkMissed { indices: vec![0] }),
            id,
            Token::EMPTY,
        ),
        &out[2],
    );
}

fn device_sends(title: &str, build: impl FnOnce(&mut Harness) -> Packet) {
    let (inp, out) = scenario(title);
    assert!(inp.is_empty());
    let mut h = Harness::new();
    let p = build(&mut h);
    h.send(&p, &out[0]);
}

#[test]
fn event_public_no_data() {
    device_sends("event public, no data, ttl 60", |h| {
        Packet::new(
            Message::Publish(Event::public("motion-detected", "")),
            h.ids.next_id(),
            Token::EMPTY,
        )
    });
}

#[test]
fn event_private_with_ttl() {
    device_sends("event private, data, ttl 21600", |h| {
        let e = Event::private("lake-depth/1", "28m").with_ttl(21600);
        Packet::new(Message::Publish(e), h.ids.next_id(), Token::EMPTY)
    });
}

#[test]
fn subscribe_to_device() {
    device_sends("subscribe to device", |h| {
        let s = Subscribe::device("53ff73065067544816300187");
        Packet::new(Message::Subscribe(s), h.ids.next_id(), Token::EMPTY)
    });
}

#[test]
fn subscribe_my_devices() {
    device_sends("subscribe my devices", |h| {
        Packet::new(
            Message::Subscribe(Subscribe::my_devices("motion/open")),
            h.ids.next_id(),
            Token::EMPTY,
        )
    });
}

#[test]
fn subscribe_firehose_long_filter() {
    let name = "a/really_long/event-name-filter/actually/as/long-as-one-can-be!";
    assert_eq!(name.len(), 63);
    device_sends("subscribe firehose 63-char filter", |h| {
        Packet::new(
            Message::Subscribe(Subscribe::all(name)),
            h.ids.next_id(),
            Token::EMPTY,
        )
    });
}

#[test]
fn time_request() {
    device_sends("time request", |h| {
        let tok = h.tokens.next_token();
        assert_eq!(tok, 0x98);
        Packet::new(Message::TimeRequest, h.ids.next_id(), Token::byte(tok))
    });
}
