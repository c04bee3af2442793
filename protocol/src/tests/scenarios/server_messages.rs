//! Server-to-device scenarios: decoded into the catalogue and, where the
//! catalogue's encoding rules match, re-encoded byte for byte.

use super::*;

fn server_sends(title: &str, expected: Packet, reencode: bool) -> Packet {
    let (inp, out) = scenario(title);
    assert!(out.is_empty());
    let mut h = Harness::new();
    let got = h.recv(&inp[0]);
    assert_eq!(got, expected);
    if reencode {
        h.reencode(&got, &inp[0]);
    }
    got
}

#[test]
fn signal_start_and_stop() {
    for (title, start) in [
        (
            "server->device: EventLoopCallsSignalWithTrueOnSignalStart",
            true,
        ),
        (
            "server->device: EventLoopCallsSignalWithFalseOnSignalStop",
            false,
        ),
    ] {
        server_sends(title, con(Message::Signal { start }, 0xabcd, 0xef), true);
    }
    // The device's answer: piggy-backed ACK 2.04 with the token.
    let ack = Packet::signal_ack(0xabcd, Token::byte(0xef));
    assert_eq!(hex::encode(ack.encode().unwrap()), "6144abcdef");
}

#[test]
fn time_response() {
    let p = server_sends(
        "server->device: EventLoopCallsSetTimeOnTimeResponse",
        Packet::time_reply(0x9999, Token::byte(0x99), 1_398_367_917),
        true,
    );
    let Message::Response(r) = &p.message else {
        panic!()
    };
    assert_eq!(r.time().unwrap(), 1_398_367_917);
    assert_eq!(
        r,
        &Response {
            code: Code::CONTENT,
            payload: hex::decode("535966ad").unwrap()
        }
    );
}

fn event_to_device(id: u16, name: &str, data: &str) -> Packet {
    Packet::new(
        Message::EventToDevice(Event::public(name, data)),
        id,
        Token::EMPTY,
    )
}

#[test]
fn event_with_data() {
    server_sends(
        "server->device: EventLoopCallsHandlerWithData",
        event_to_device(0xbbbb, "teapot-boiled", "208F"),
        true,
    );
}

/// These vectors carry an explicit Max-Age of 60 (as 3 bytes or 1 byte), which
/// the catalogue never emits for the default TTL; they are re-encoded through
/// the CoAP layer with that option added.
fn event_with_max_age(title: &str, expected: Packet, max_age: &[u8]) {
    let got = server_sends(title, expected, false);
    let (inp, _) = scenario(title);
    let mut coap = got.to_coap();
    coap.options.push(CoapOption {
        number: option::MAX_AGE,
        value: max_age.to_vec(),
    });
    let mut h = Harness::new();
    assert_eq!(
        hex::encode(h.srv.seal(&coap.encode().unwrap()).unwrap()),
        hex::encode(&inp[0])
    );
}

#[test]
fn event_with_explicit_max_age() {
    event_with_max_age(
        "server->device: EventLoopParsesMaxAgeOptionOnMatchedEvent",
        event_to_device(0x9d0d, "teacup-overflow", "11404"),
        &[0, 0, 0x3c],
    );
}

#[test]
fn event_multi_path_name() {
    event_with_max_age(
        "server->device: EventLoopCallsHandlerWithMultiPathName",
        event_to_device(0x9753, "a/b/c/d", "xyz"),
        &[0x3c],
    );
}

#[test]
fn event_long_multi_path_name() {
    let title = "server->device: EventLoopCallsHandlerWithLongMultiPathName";
    let expected = event_to_device(0x9753, "a/long-coap-option/another-long-path/b", "xyz");
    event_with_max_age(title, expected, &[0x3c]);
    let (inp, _) = scenario(title);
    let plain = Harness::new().dev.open(&inp[0][2..]).unwrap();
    let coap = crate::CoapMessage::decode(&plain).unwrap();
    assert_eq!(
        coap.uri_path().count(),
        5,
        "the name is split into 4 options after `e`"
    );
}

#[test]
fn publish_with_ttl_round_trips_and_event_to_device_splits() {
    let e = Event::private("a/b", "x").with_ttl(21600);
    let p = Packet::new(Message::EventToDevice(e.clone()), 1, Token::EMPTY);
    let coap = p.to_coap();
    assert_eq!(coap.uri_path().count(), 3);
    assert_eq!(
        coap.first_option(option::MAX_AGE),
        Some(&[0x00, 0x54, 0x60][..])
    );
    assert_eq!(
        Packet::decode(&p.encode().unwrap(), Origin::Server).unwrap(),
        p
    );
    let publish = Packet::new(Message::Publish(e), 1, Token::EMPTY);
    assert_eq!(publish.to_coap().uri_path().count(), 2);
    let chunk = Chunk::new(vec![1u8; 256], Some(3));
    assert!(chunk.crc_matches());
    let p = con(Message::Chunk(chunk), 5, 1);
    assert_eq!(
        Packet::decode(&p.encode().unwrap(), Origin::Server).unwrap(),
        p
    );
}
