//! TestCoAP.cpp: each message is the first device message after set_key (IV
//! = session IV), unframed; plus CoAP option-length edge cases.

use super::*;
use crate::coap::{option, CoapError, CoapMessage, Code, MessageType, Token};
use crate::messages::{Description, Hello, VarType, VarValue};
use crate::session::Cipher;
use crate::{Message, Origin, Packet};

fn typed(test: &str, plain: &[u8]) -> Packet {
    let t = Token::byte;
    let brew = || Description {
        functions: vec!["brew".into()],
        variables: vec![("temperature".into(), VarType::Int)],
        m: None,
    };
    match test {
        "HelloMatchesOpenSSL" => Packet::new(Message::Hello(Hello::core()), 0xf649, Token::EMPTY),
        "KeyChangedMatchesOpenSSL" => Packet::key_changed(0xf649, t(0x99)),
        "FunctionReturnIntMatchesOpenSSL" => Packet::function_return(0xf649, t(0xc3), 42),
        "VariableValueBoolMatchesOpenSSL" => {
            Packet::variable_value(0xf649, t(0x5f), &VarValue::Bool(false))
        }
        "VariableValueIntMatchesOpenSSL" => {
            Packet::variable_value(0x97b2, t(0x88), &VarValue::Int(-98765))
        }
        "VariableValueDoubleMatchesOpenSSL" => {
            Packet::variable_value(0xabce, t(0x5d), &VarValue::Double(-104.858))
        }
        "VariableValueStringMatchesOpenSSL" => {
            Packet::variable_value(0xf649, t(0x5c), &VarValue::String(b"woot".to_vec()))
        }
        "VariableValueLongStringMatchesOpenSSL" => {
            // The vector's text is only given inside its plaintext.
            let text = CoapMessage::decode(plain).unwrap().payload;
            assert!(text.starts_with(b"Hey, wow, this is like a super long string."));
            assert!(text.len() > 200);
            Packet::variable_value(0xf649, t(0x5c), &VarValue::String(text))
        }
        "ChunkReceivedMatchesOpenSSL" => Packet::chunk_received(0xf649, t(0x01), true),
        "UpdateReadyMatchesOpenSSL" => Packet::update_ready(0xf649, t(0x10), None),
        "DescriptionMatchesOpenSSL" => Packet::describe_reply(0xf649, t(0x66), &brew()),
        other => panic!("unhandled CoAP vector {other}"),
    }
}

#[test]
fn every_coap_fixture_message() {
    let keys = fixture_keys("coap_fixture");
    assert_eq!(keys.device_message_ids().next_id(), 0xf649);
    let msgs = vectors()["coap_fixture"]["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 11);
    for m in msgs {
        let name = m["test"].as_str().unwrap();
        let plain = hx(&m["plaintext_coap"]);
        let expected_ct = hx(&m["ciphertext_unframed"]);
        let packet = typed(name, &plain);
        assert_eq!(
            hex::encode(packet.encode().unwrap()),
            hex::encode(&plain),
            "{name}: plaintext"
        );
        let ct = Cipher::new(keys.key, keys.iv).encrypt(&plain);
        assert_eq!(
            hex::encode(ct),
            hex::encode(&expected_ct),
            "{name}: ciphertext"
        );
        let opened = Cipher::new(keys.key, keys.iv)
            .decrypt(&expected_ct)
            .unwrap();
        assert_eq!(
            Packet::decode(&opened, Origin::Device).unwrap(),
            packet,
            "{name}: decode"
        );
    }
}

#[test]
fn coap_fixture_payload_meanings() {
    let msgs = vectors()["coap_fixture"]["messages"].as_array().unwrap();
    let get = |name: &str| {
        let m = msgs.iter().find(|m| m["test"] == name).unwrap();
        let Message::Response(r) = Packet::decode(&hx(&m["plaintext_coap"]), Origin::Device)
            .unwrap()
            .message
        else {
            panic!("{name} is a response")
        };
        r
    };
    assert_eq!(
        get("FunctionReturnIntMatchesOpenSSL")
            .function_return()
            .unwrap(),
        42
    );
    assert_eq!(
        get("VariableValueDoubleMatchesOpenSSL")
            .variable(VarType::Double)
            .unwrap(),
        VarValue::Double(-104.858)
    );
    assert_eq!(
        get("VariableValueBoolMatchesOpenSSL")
            .variable(VarType::Bool)
            .unwrap(),
        VarValue::Bool(false)
    );
    let d = get("DescriptionMatchesOpenSSL").description().unwrap();
    assert_eq!(d.variable_type("temperature"), Some(VarType::Int));
    assert_eq!(
        get("UpdateReadyMatchesOpenSSL").update_ready_version(),
        None
    );
    assert_eq!(get("ChunkReceivedMatchesOpenSSL").code, Code::CHANGED);
}

/// Option value lengths 12, 13, 268 and 269 straddle the 4-bit, 1-byte and
/// 2-byte length encodings.
#[test]
fn option_length_boundaries() {
    for (len, header) in [
        (12usize, "bc"),
        (13, "bd00"),
        (268, "bdff"),
        (269, "be0000"),
        (270, "be0001"),
    ] {
        let msg = CoapMessage::new(MessageType::Confirmable, Code::POST, 1)
            .with_option(option::URI_PATH, vec![b'x'; len]);
        let bytes = msg.encode().unwrap();
        assert_eq!(
            hex::encode(&bytes[4..4 + header.len() / 2]),
            header,
            "len {len}"
        );
        assert_eq!(bytes.len(), 4 + header.len() / 2 + len);
        assert_eq!(CoapMessage::decode(&bytes).unwrap(), msg);
    }
    // Deltas use the same forms: option 11 then 300 (delta 289 = 269 + 20).
    let msg = CoapMessage::new(MessageType::NonConfirmable, Code::GET, 2)
        .with_option(300, b"a".to_vec())
        .with_option(option::URI_PATH, b"e".to_vec());
    let bytes = msg.encode().unwrap();
    assert_eq!(hex::encode(&bytes[4..]), "b165e1001461");
    let back = CoapMessage::decode(&bytes).unwrap();
    assert_eq!(back.options[1].number, 300);
    // A 64-byte function argument (the Core's limit) uses the 1-byte form.
    let call = Packet::new(
        Message::FunctionCall(crate::messages::FunctionCall::new("f", "a".repeat(64))),
        1,
        Token::byte(1),
    );
    assert!(hex::encode(call.encode().unwrap()).contains("4d33"));
    assert_eq!(
        CoapMessage::new(MessageType::Confirmable, Code::GET, 0)
            .with_option(11, vec![0; 70_000])
            .encode(),
        Err(CoapError::OptionTooLong(70_000))
    );
}

#[test]
fn coap_decode_errors_and_tolerances() {
    assert_eq!(CoapMessage::decode(&[]), Err(CoapError::Truncated));
    assert_eq!(
        CoapMessage::decode(&[0x80, 0, 0, 0]),
        Err(CoapError::BadVersion(2))
    );
    assert_eq!(
        CoapMessage::decode(&[0x49, 0, 0, 0]),
        Err(CoapError::BadTokenLength(9))
    );
    assert_eq!(
        CoapMessage::decode(&[0x41, 1, 0, 0]),
        Err(CoapError::Truncated)
    );
    assert_eq!(
        CoapMessage::decode(&[0x40, 1, 0, 0, 0xf1]),
        Err(CoapError::ReservedNibble)
    );
    assert_eq!(
        CoapMessage::decode(&[0x40, 1, 0, 0, 0xb5, b'a']),
        Err(CoapError::Truncated)
    );
    assert_eq!(
        CoapMessage::decode(&[0x40, 1, 0, 0, 0xe0, 0xff, 0xff, 0xe0, 0xff, 0xff]),
        Err(CoapError::OptionNumberOverflow)
    );
    // Payload marker without payload: tolerated as empty.
    assert!(CoapMessage::decode(&[0x50, 2, 0, 0, 0xff])
        .unwrap()
        .payload
        .is_empty());
    // spark-protocol's empty ACK with a stray 00 token, and its EventSlowdown.
    let ack = Packet::decode(&[0x61, 0x00, 0x12, 0x34, 0x00], Origin::Server).unwrap();
    assert_eq!(
        (ack.message, ack.token),
        (Message::EmptyAck, Token::byte(0))
    );
    let slow =
        Packet::decode(&Packet::event_slowdown(7).encode().unwrap(), Origin::Server).unwrap();
    let Message::Response(r) = slow.message else {
        panic!()
    };
    assert_eq!(
        (r.code, r.is_success(), slow.token),
        (Code::BAD_REQUEST, false, Token::byte(0))
    );
    // `&`-split arguments arrive as several Uri-Query options.
    let split = Packet::new(
        Message::FunctionCall(crate::messages::FunctionCall::split_on_ampersand(
            "f", "x&yz",
        )),
        1,
        Token::byte(1),
    );
    let Message::FunctionCall(c) = Packet::decode(&split.encode().unwrap(), Origin::Server)
        .unwrap()
        .message
    else {
        panic!()
    };
    assert_eq!((c.first_arg(), c.joined_args().as_str()), ("x", "x&yz"));
    // Ping and reset.
    assert_eq!(
        Packet::decode(&[0x40, 0, 0, 1], Origin::Device)
            .unwrap()
            .message,
        Message::Ping
    );
    assert_eq!(
        Packet::decode(&[0x70, 0, 0, 1], Origin::Device)
            .unwrap()
            .message,
        Message::Reset
    );
    assert!(matches!(
        Packet::decode(&[0x50, 0, 0, 1], Origin::Device)
            .unwrap()
            .message,
        Message::Unknown(_)
    ));
    assert!(matches!(
        Packet::decode(&[0x40, 1, 0, 1, 0xb1, b'z'], Origin::Device)
            .unwrap()
            .message,
        Message::Unknown(_)
    ));
    // Recognised shapes with missing parts are errors.
    assert!(Packet::decode(&[0x40, 3, 0, 1, 0xb1, b's'], Origin::Server).is_err());
    assert!(Packet::decode(&[0x40, 2, 0, 1, 0xb1, b'c'], Origin::Server).is_err());
    assert!(Packet::decode(&[0x40, 2, 0, 1, 0xb1, b'f'], Origin::Server).is_err());
    assert!(Packet::decode(&[0x40, 1, 0, 1, 0xb1, b'c', 0xff, 1], Origin::Device).is_err());
}
