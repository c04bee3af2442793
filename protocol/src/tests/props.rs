//! Property tests: decoding arbitrary bytes never panics, and what we
//! encode decodes back.

use proptest::prelude::*;

use crate::coap::{CoapMessage, Code, MessageType, Token};
use crate::frame::FrameDecoder;
use crate::messages::{Description, Event, Hello, VarType, VarValue};
use crate::session::{Session, SessionKeys};
use crate::{Message, Origin, Packet};

fn keys() -> SessionKeys {
    super::fixture_keys("session_fixture")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn coap_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(msg) = CoapMessage::decode(&bytes) {
            // Whatever decodes re-encodes and decodes to the same message.
            let again = msg.encode().unwrap();
            prop_assert_eq!(CoapMessage::decode(&again).unwrap(), msg);
        }
    }

    #[test]
    fn typed_parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        for from in [Origin::Device, Origin::Server] {
            let _ = Packet::decode(&bytes, from);
        }
        let _ = Hello::decode(&bytes);
        let _ = Description::decode(&bytes);
        for ty in [VarType::Bool, VarType::Int, VarType::String, VarType::Double] {
            let _ = VarValue::decode(&bytes, ty);
        }
    }

    #[test]
    fn typed_parse_of_coap_shapes_never_panics(
        code in prop_oneof![Just(1u8), Just(2), Just(3), Just(0x44), Just(0x45), Just(0x80)],
        first in proptest::sample::select(vec![b'h', b'd', b'f', b'v', b'e', b'E', b't', b's', b'k', b'u', b'c']),
        opts in proptest::collection::vec((prop_oneof![Just(11u16), Just(14), Just(15)], proptest::collection::vec(any::<u8>(), 0..8)), 0..4),
        payload in proptest::collection::vec(any::<u8>(), 0..40),
    ) {
        let mut c = CoapMessage::new(MessageType::Confirmable, Code(code), 1).with_option(11, vec![first]);
        for (n, v) in opts {
            c = c.with_option(n, v);
        }
        c.payload = payload;
        for from in [Origin::Device, Origin::Server] {
            let _ = Packet::decode(&c.encode().unwrap(), from);
        }
    }

    #[test]
    fn frame_decoder_never_panics(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..100), 0..10), max in 0usize..2000) {
        let mut d = FrameDecoder::with_max_len(max);
        for c in chunks {
            d.push(&c);
            while let Ok(Some(f)) = d.next_frame() {
                prop_assert!(!f.is_empty() && f.len() % 16 == 0 && f.len() <= max);
            }
        }
    }

    #[test]
    fn session_open_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut s = Session::new(keys());
        let _ = s.open(&bytes);
        let _ = s.open_packet(&bytes, Origin::Server);
    }

    #[test]
    fn sealed_packets_open_in_order(names in proptest::collection::vec("[a-z/]{0,40}", 1..5), ttl in any::<u32>(), data in proptest::collection::vec(any::<u8>(), 0..100)) {
        let (mut dev, mut srv) = (Session::new(keys()), Session::new(keys()));
        for (i, name) in names.iter().enumerate() {
            let e = Event::private(name.clone(), data.clone()).with_ttl(ttl);
            let p = Packet::new(Message::Publish(e), i as u16, Token::EMPTY);
            let frame = dev.seal_packet(&p).unwrap();
            prop_assert_eq!(srv.open_packet(&frame[2..], Origin::Device).unwrap(), p);
        }
    }
}
