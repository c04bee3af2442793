//! The tokio layer over an in-memory duplex stream.

use std::time::Duration;

use super::*;
use crate::coap::Token;
use crate::device_id::DeviceId;
use crate::frame::CORE_MAX_FRAME_LEN;
use crate::io::{device_handshake, server_handshake, split, IoError, DEFAULT_STEP_TIMEOUT};
use crate::messages::{Hello, VarValue};
use crate::{Message, Origin, Packet, RsaPublicKey};

#[tokio::test]
async fn handshake_then_framed_exchange() {
    let (server_key, device_key) = generated_keys();
    let id: DeviceId = "1a118ad1c886d54240ce4b17".parse().unwrap();
    let (mut a, mut b) = tokio::io::duplex(4096);
    let stored = device_key.public_key().clone();
    let server = async {
        let lookup = |got: &DeviceId, appended: Option<&RsaPublicKey>| {
            assert_eq!(got, &id);
            assert_eq!(appended, Some(&stored));
            Ok::<_, std::io::Error>(stored.clone())
        };
        server_handshake(&mut a, server_key, lookup, DEFAULT_STEP_TIMEOUT).await
    };
    let device = device_handshake(
        &mut b,
        device_key,
        server_key.public_key(),
        &id,
        true,
        DEFAULT_STEP_TIMEOUT,
    );
    let (accepted, session) = tokio::join!(server, device);
    let accepted = accepted.unwrap();
    let session = session.unwrap();
    assert_eq!(accepted.device_id, id);
    assert_eq!(accepted.session.keys(), session.keys());

    let mut ids = session.keys().device_message_ids();
    let (mut srv_r, mut srv_w) = split(a, accepted.session, 4096);
    let (mut dev_r, mut dev_w) = split(b, session, CORE_MAX_FRAME_LEN);
    let hello = Packet::new(Message::Hello(Hello::core()), ids.next_id(), Token::EMPTY);
    dev_w.write_packet(&hello).await.unwrap();
    assert_eq!(
        srv_r.read_packet(Origin::Device).await.unwrap(),
        Some(hello)
    );
    let req = Packet::new(
        Message::VariableRequest { name: "t".into() },
        7,
        Token::byte(1),
    );
    srv_w.write_packet(&req).await.unwrap();
    let got = dev_r.read_packet(Origin::Server).await.unwrap().unwrap();
    assert_eq!(got, req);
    dev_w
        .write_packet(&Packet::variable_value(
            got.message_id,
            got.token,
            &VarValue::Int(5),
        ))
        .await
        .unwrap();
    let reply = srv_r.read_packet(Origin::Device).await.unwrap().unwrap();
    assert_eq!(reply.message_id, 7);
    // A clean close between frames reads as end of stream.
    dev_w.shutdown().await.unwrap();
    drop(dev_w);
    drop(dev_r);
    assert!(srv_r.read_packet(Origin::Device).await.unwrap().is_none());
}

#[tokio::test]
async fn refused_devices_and_timeouts() {
    let (server_key, device_key) = generated_keys();
    let id = DeviceId::new([3; 12]);
    let (mut a, mut b) = tokio::io::duplex(4096);
    let server = server_handshake(
        &mut a,
        server_key,
        |_, _| Err("no key file"),
        DEFAULT_STEP_TIMEOUT,
    );
    let device = device_handshake(
        &mut b,
        device_key,
        server_key.public_key(),
        &id,
        false,
        Duration::from_millis(500),
    );
    let (s, d) = tokio::join!(server, device);
    assert!(matches!(s, Err(IoError::Rejected(_))));
    assert!(d.is_err(), "the device gets no reply");

    // A device that never answers the nonce times out at the server.
    let (mut a, _b) = tokio::io::duplex(4096);
    let r = server_handshake(
        &mut a,
        server_key,
        |_, _| Err("unused"),
        Duration::from_millis(50),
    )
    .await;
    assert!(matches!(r, Err(IoError::Timeout(_))));

    // A peer that closes mid-handshake.
    let (mut a, b) = tokio::io::duplex(4096);
    drop(b);
    let r = device_handshake(
        &mut a,
        device_key,
        server_key.public_key(),
        &id,
        false,
        DEFAULT_STEP_TIMEOUT,
    )
    .await;
    assert!(
        matches!(r, Err(IoError::Closed) | Err(IoError::Io(_))),
        "{r:?}"
    );
}

#[tokio::test]
async fn oversize_frames_are_rejected() {
    let keys = fixture_keys("session_fixture");
    let (a, b) = tokio::io::duplex(4096);
    let (_r, mut w) = split(a, crate::Session::new(keys.clone()), 4096);
    let (mut r, _w) = split(b, crate::Session::new(keys), CORE_MAX_FRAME_LEN);
    let big = Packet::variable_value(1, Token::byte(1), &VarValue::String(vec![b'x'; 700]));
    w.write_packet(&big).await.unwrap();
    assert!(matches!(
        r.read_packet(Origin::Device).await,
        Err(IoError::Protocol(crate::Error::Frame(_)))
    ));
}
