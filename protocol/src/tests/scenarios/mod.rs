//! The 22 framed scenarios of TestSparkProtocol.cpp, session fixture keys.
//!
//! Per the vector notes, every scenario starts fresh: the device has sent
//! Hello (its send IV is Hello's first ciphertext block) and received
//! nothing (its receive IV is the session IV). That is also why the
//! ChunkReceived vectors decrypt the chunk as the *first* received message.

use super::*;
use crate::coap::{option, CoapOption, Token};
use crate::counters::{MessageIdCounter, TokenCounter};
use crate::handshake::open_server_reply;
use crate::keys::load_server_public_key;
use crate::messages::{
    Chunk, ChunkMissed, Description, Event, Hello, Response, Subscribe, UpdateBegin, VarType,
    VarValue,
};
use crate::{Code, Message, MessageType, Origin, Packet, Session};

mod device_replies;
mod server_messages;

fn scenario(title: &str) -> (Vec<Vec<u8>>, Vec<Option<Vec<u8>>>) {
    let all = vectors()["scenarios"].as_array().unwrap();
    let sc = all
        .iter()
        .find(|s| s["title"] == title)
        .unwrap_or_else(|| panic!("no scenario {title}"));
    let s2d = sc["server_to_device"]
        .as_array()
        .unwrap()
        .iter()
        .map(hx)
        .collect();
    let d2s = sc["device_to_server"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().filter(|s| !s.starts_with('<')).map(|_| hx(v)))
        .collect();
    (s2d, d2s)
}

/// Both ends of a fresh fixture session, after the device's Hello.
struct Harness {
    dev: Session,
    srv: Session,
    ids: MessageIdCounter,
    tokens: TokenCounter,
    hello_frame: Vec<u8>,
}

impl Harness {
    fn new() -> Self {
        let keys = fixture_keys("session_fixture");
        let (mut dev, mut srv) = (Session::new(keys.clone()), Session::new(keys.clone()));
        let mut ids = keys.device_message_ids();
        let hello = Packet::new(Message::Hello(Hello::core()), ids.next_id(), Token::EMPTY);
        let hello_frame = dev.seal_packet(&hello).unwrap();
        assert_eq!(
            srv.open_packet(&hello_frame[2..], Origin::Device).unwrap(),
            hello
        );
        Self {
            dev,
            srv,
            ids,
            tokens: keys.device_tokens(),
            hello_frame,
        }
    }

    /// Device receives a server frame: length prefix, decrypt, typed decode.
    fn recv(&mut self, frame: &[u8]) -> Packet {
        assert_eq!(
            usize::from(u16::from_be_bytes([frame[0], frame[1]])),
            frame.len() - 2
        );
        self.dev.open_packet(&frame[2..], Origin::Server).unwrap()
    }

    /// The server re-encodes `p` from the catalogue: must equal `frame`.
    fn reencode(&mut self, p: &Packet, frame: &[u8]) {
        assert_eq!(
            hex::encode(self.srv.seal_packet(p).unwrap()),
            hex::encode(frame)
        );
    }

    /// The device seals `p`: must equal `expected`; the server decodes it back.
    fn send(&mut self, p: &Packet, expected: &Option<Vec<u8>>) {
        let frame = self.dev.seal_packet(p).unwrap();
        if let Some(expected) = expected {
            assert_eq!(hex::encode(&frame), hex::encode(expected));
        }
        assert_eq!(
            &self.srv.open_packet(&frame[2..], Origin::Device).unwrap(),
            p
        );
    }
}

fn con(message: Message, id: u16, tok: u8) -> Packet {
    Packet::new(message, id, Token::byte(tok))
}

#[test]
fn session_fixture_reply_opens_to_the_credentials() {
    let f = &vectors()["session_fixture"];
    let device = DeviceKey::from_der(&hx(&f["device_private_key_der_pkcs1_1024"])).unwrap();
    let server = load_server_public_key(&hx(&f["server_public_key_der_spki_2048"])).unwrap();
    let keys = open_server_reply(
        &device,
        &server,
        &hx(&f["signed_encrypted_credentials_384"]),
    )
    .unwrap();
    assert_eq!(keys, fixture_keys("session_fixture"));
    assert_eq!(hex::encode(keys.key), "ead9e1e2014903b9e76632f6fa5afa66");
    assert_eq!(hex::encode(keys.iv), "9522a567e100cd3cfe5215473921b63d");
    assert_eq!(keys.device_message_ids().next_id(), 0x97b2);
    assert_eq!(keys.device_tokens().next_token(), 0x98);
}

#[test]
fn every_scenario_has_a_test() {
    let known = [
        "hello",
        "describe",
        "function call",
        "variable int",
        "update begin",
        "chunk, crc ok",
        "chunk, crc bad",
        "update done",
        "chunk missed after 3 s",
        "event public, no data, ttl 60",
        "event private, data, ttl 21600",
        "subscribe to device",
        "subscribe my devices",
        "subscribe firehose 63-char filter",
        "time request",
        "server->device: EventLoopCallsSignalWithTrueOnSignalStart",
        "server->device: EventLoopCallsSignalWithFalseOnSignalStop",
        "server->device: EventLoopCallsSetTimeOnTimeResponse",
        "server->device: EventLoopCallsHandlerWithData",
        "server->device: EventLoopParsesMaxAgeOptionOnMatchedEvent",
        "server->device: EventLoopCallsHandlerWithMultiPathName",
        "server->device: EventLoopCallsHandlerWithLongMultiPathName",
    ];
    let all = vectors()["scenarios"].as_array().unwrap();
    assert_eq!(all.len(), known.len());
    for s in all {
        assert!(
            known.contains(&s["title"].as_str().unwrap()),
            "{}",
            s["title"]
        );
    }
}
