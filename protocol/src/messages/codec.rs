//! Mapping between typed messages and CoAP: the shape of each message on
//! the way out, and recognition by method and first Uri-Path segment on the
//! way in.

use super::events::{join, path};
use super::{
    Chunk, ChunkMissed, Event, FunctionCall, Hello, Message, MessageError, Origin, Response,
    Subscribe, UpdateBegin, UpdateParams,
};
use crate::coap::{option, CoapMessage, CoapOption, Code, MessageType};

impl Message {
    /// The CoAP type this message is normally sent with.
    pub fn default_type(&self) -> MessageType {
        use Message::*;
        match self {
            Hello(_) | ServerHello | Publish(_) | EventToDevice(_) => MessageType::NonConfirmable,
            EmptyAck | Response(_) => MessageType::Acknowledgement,
            Reset => MessageType::Reset,
            Unknown(c) => c.mtype,
            _ => MessageType::Confirmable,
        }
    }

    pub(super) fn parts(&self) -> (Code, Vec<CoapOption>, Vec<u8>) {
        use Message::*;
        let q = |v: &[u8]| CoapOption {
            number: option::URI_QUERY,
            value: v.to_vec(),
        };
        match self {
            Hello(h) => (Code::POST, vec![path(b"h")], h.encode()),
            ServerHello => (Code::POST, vec![path(b"h")], vec![]),
            DescribeRequest => (Code::GET, vec![path(b"d")], vec![]),
            FunctionCall(f) => {
                let mut o = vec![path(b"f"), path(f.name.as_bytes())];
                o.extend(f.args.iter().map(|a| q(a.as_bytes())));
                (Code::POST, o, vec![])
            }
            VariableRequest { name } => {
                (Code::GET, vec![path(b"v"), path(name.as_bytes())], vec![])
            }
            Publish(e) => (Code::POST, e.options(false), e.data.clone()),
            EventToDevice(e) => (Code::POST, e.options(true), e.data.clone()),
            Subscribe(s) => (Code::GET, s.options(), s.payload()),
            Ping | EmptyAck | Reset => (Code::EMPTY, vec![], vec![]),
            TimeRequest => (Code::GET, vec![path(b"t")], vec![]),
            Signal { start } => (Code::PUT, vec![path(b"s"), q(&[u8::from(*start)])], vec![]),
            KeyChange { payload } => (Code::PUT, vec![path(b"k")], payload.clone()),
            UpdateBegin(u) => (
                Code::POST,
                vec![path(b"u")],
                u.params.map(|p| p.encode()).unwrap_or_default(),
            ),
            Chunk(c) => {
                let mut o = vec![path(b"c"), q(&c.crc.to_be_bytes())];
                o.extend(c.index.map(|i| q(&i.to_be_bytes())));
                (Code::POST, o, c.data.clone())
            }
            ChunkMissed(m) => (Code::GET, vec![path(b"c")], m.encode()),
            UpdateDone => (Code::PUT, vec![path(b"u")], vec![]),
            Response(r) => (r.code, vec![], r.payload.clone()),
            Unknown(c) => (c.code, c.options.clone(), c.payload.clone()),
        }
    }

    /// Recognises a CoAP message sent by `from`.
    pub fn from_coap(c: &CoapMessage, from: Origin) -> Result<Self, MessageError> {
        if c.code == Code::EMPTY {
            return Ok(match c.mtype {
                MessageType::Confirmable => Message::Ping,
                MessageType::Acknowledgement => Message::EmptyAck,
                MessageType::Reset => Message::Reset,
                MessageType::NonConfirmable => Message::Unknown(c.clone()),
            });
        }
        if c.code.is_response() {
            return Ok(Message::Response(Response {
                code: c.code,
                payload: c.payload.clone(),
            }));
        }
        Self::request(c, from)
    }

    /// A request, by method and first Uri-Path segment; the rest of the path names the
    /// function, variable or event.
    fn request(c: &CoapMessage, from: Origin) -> Result<Self, MessageError> {
        let segs: Vec<&[u8]> = c.uri_path().collect();
        let (first, rest) = segs
            .split_first()
            .map_or((&b""[..], &[][..]), |(f, r)| (*f, r));
        let named = |what| {
            (!rest.is_empty())
                .then(|| join(rest))
                .ok_or(MessageError::Missing(what))
        };
        let query = |what| c.uri_query().next().ok_or(MessageError::Missing(what));
        Ok(match (c.code, first) {
            (Code::POST, b"h") if c.payload.is_empty() => Message::ServerHello,
            (Code::POST, b"h") => Message::Hello(Hello::decode(&c.payload)?),
            (Code::GET, b"d") => Message::DescribeRequest,
            (Code::POST, b"f") => Message::FunctionCall(FunctionCall {
                name: named("function name")?,
                args: c
                    .uri_query()
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect(),
            }),
            (Code::GET, b"v") => Message::VariableRequest {
                name: named("variable name")?,
            },
            (Code::POST, b"e" | b"E") => {
                let e = Event::parse(
                    first == b"E",
                    rest,
                    c.first_option(option::MAX_AGE),
                    &c.payload,
                )?;
                match from {
                    Origin::Device => Message::Publish(e),
                    Origin::Server => Message::EventToDevice(e),
                }
            }
            (Code::GET, b"e") => {
                Message::Subscribe(Subscribe::parse(rest, c.uri_query(), &c.payload))
            }
            (Code::GET, b"t") => Message::TimeRequest,
            (Code::PUT, b"s") => Message::Signal {
                start: query("signal flag")?.iter().any(|b| *b != 0),
            },
            (Code::PUT, b"k") => Message::KeyChange {
                payload: c.payload.clone(),
            },
            (Code::POST, b"u") => Message::UpdateBegin(UpdateBegin {
                params: UpdateParams::decode(&c.payload),
            }),
            (Code::PUT, b"u") => Message::UpdateDone,
            (Code::POST, b"c") => Message::Chunk(chunk(c)?),
            (Code::GET, b"c") => Message::ChunkMissed(ChunkMissed::decode(&c.payload)?),
            _ => Message::Unknown(c.clone()),
        })
    }
}

/// CON POST `c` ?crc (?index): a firmware chunk, its CRC-32 four raw bytes and its index
/// (fast OTA only) a CoAP uint that must fit 16 bits.
fn chunk(c: &CoapMessage) -> Result<Chunk, MessageError> {
    let mut qs = c.uri_query();
    let crc = qs.next().ok_or(MessageError::Missing("chunk CRC"))?;
    let crc = u32::from_be_bytes(
        crc.try_into()
            .map_err(|_| MessageError::BadOption("chunk CRC"))?,
    );
    let index = match qs.next() {
        None => None,
        Some(v) => Some(
            crate::coap::decode_uint(v)
                .and_then(|i| u16::try_from(i).ok())
                .ok_or(MessageError::BadOption("chunk index"))?,
        ),
    };
    Ok(Chunk {
        crc,
        index,
        data: c.payload.clone(),
    })
}
