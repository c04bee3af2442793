//! A simulated device against the in-test server: handshake, Hello,
//! Describe, functions, variables, signal, publishes, pings, quirks,
//! reconnects.

mod support;

use std::time::{Duration, Instant};

use spark_mock_protocol::coap::Code;
use spark_mock_protocol::messages::{FunctionCall, Hello, Response, VarType, VarValue};
use spark_mock_protocol::{Message, MessageType, Packet, Token};
use spark_mock_sim::{Behaviour, FunctionDef, PublishDef, SimDevice, SimEvent};
use support::{device_key, next_event, quick, within, Conn, LogCapture, TestServer};

const ID: &str = "1a118ad1c886d54240ce4b17";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Calls a function: an empty ACK with the request's id, then a separate
/// NON 2.04 with its token and the int32 return value.
async fn call(conn: &mut Conn, call: FunctionCall) -> i32 {
    let req = conn.request(Message::FunctionCall(call)).await;
    let ack = conn.recv().await;
    assert_eq!(
        (ack.mtype, ack.message_id),
        (MessageType::Acknowledgement, req.message_id)
    );
    assert_eq!(ack.message, Message::EmptyAck);
    let ret = conn.recv().await;
    assert_eq!(
        (ret.mtype, ret.token),
        (MessageType::NonConfirmable, req.token)
    );
    match ret.message {
        Message::Response(r) if r.code == Code::CHANGED => r.function_return().unwrap(),
        other => panic!("expected a function return, got {other:?}"),
    }
}

/// Sends a request and returns the piggy-backed response.
async fn ask(conn: &mut Conn, message: Message) -> Response {
    let req = conn.request(message).await;
    let reply = conn.recv().await;
    assert_eq!(reply.mtype, MessageType::Acknowledgement);
    assert_eq!((reply.message_id, reply.token), (req.message_id, req.token));
    match reply.message {
        Message::Response(r) => r,
        other => panic!("expected a response, got {other:?}"),
    }
}

#[tokio::test]
async fn hello_describe_functions_and_variables() {
    let server = TestServer::bind().await;
    let device = SimDevice::builder(ID)
        .key(device_key())
        .connection(quick())
        .function("led", |arg| i32::from(arg == "on"))
        .function_behaviour("echo", Behaviour::ArgLength)
        .function_behaviour("stuck", Behaviour::Hang)
        .function_def(FunctionDef::new("slow", Behaviour::Constant(9)).with_delay(ms(50)))
        .variable_bool("ready", || true)
        .variable_int("temp", || -98765)
        .variable_double("pressure", || -104.858)
        .variable_string("state", || "woot".into())
        .build()
        .unwrap();
    let handle = device.spawn(server.options());
    let mut conn = server.accept().await;
    assert_eq!(conn.device_id.to_hex(), ID);
    assert_eq!(conn.hello, Hello::core(), "a Core's 6-byte Hello");
    assert!(conn.appended_key.is_none(), "a Core appends no key");
    within(handle.wait_online()).await.unwrap();

    let d = ask(&mut conn, Message::DescribeRequest).await;
    assert_eq!(d.code, Code::CONTENT);
    assert_eq!(
        String::from_utf8(d.payload).unwrap(),
        r#"{"f":["led","echo","stuck","slow"],"v":{"ready":1,"temp":2,"pressure":9,"state":4}}"#
    );

    assert_eq!(call(&mut conn, FunctionCall::new("led", "on")).await, 1);
    assert_eq!(call(&mut conn, FunctionCall::new("led", "off")).await, 0);
    // spark-server splits on '&'; the Core reads only the first Uri-Query.
    assert_eq!(
        call(&mut conn, FunctionCall::split_on_ampersand("echo", "x&yz")).await,
        1
    );
    assert_eq!(call(&mut conn, FunctionCall::new("echo", "")).await, 0);
    assert_eq!(
        call(&mut conn, FunctionCall::new("echo", "a".repeat(63))).await,
        63
    );
    assert_eq!(
        call(&mut conn, FunctionCall::new("echo", "a".repeat(64))).await,
        -1
    );
    assert_eq!(call(&mut conn, FunctionCall::new("nosuch", "")).await, -1);
    let started = Instant::now();
    assert_eq!(call(&mut conn, FunctionCall::new("slow", "")).await, 9);
    assert!(started.elapsed() >= ms(50));

    // A hanging function is ACKed and never returns: the next packet is
    // the answer to the following request.
    let req = conn
        .request(Message::FunctionCall(FunctionCall::new("stuck", "")))
        .await;
    let ack = conn.recv().await;
    assert_eq!(
        (ack.message, ack.message_id),
        (Message::EmptyAck, req.message_id)
    );

    let cases = [
        ("ready", VarType::Bool, VarValue::Bool(true)),
        ("temp", VarType::Int, VarValue::Int(-98765)),
        ("pressure", VarType::Double, VarValue::Double(-104.858)),
        ("state", VarType::String, VarValue::String(b"woot".to_vec())),
    ];
    for (name, ty, want) in cases {
        let r = ask(&mut conn, Message::VariableRequest { name: name.into() }).await;
        assert_eq!(r.code, Code::CONTENT);
        assert_eq!(r.variable(ty).unwrap(), want, "{name}");
    }
    // Exact encodings: int32 big-endian, double little-endian.
    let r = ask(
        &mut conn,
        Message::VariableRequest {
            name: "temp".into(),
        },
    )
    .await;
    assert_eq!(hex::encode(r.payload), "fffe7e33");
    let r = ask(
        &mut conn,
        Message::VariableRequest {
            name: "pressure".into(),
        },
    )
    .await;
    assert_eq!(hex::encode(r.payload), "f4fdd478e9365ac0");
    let r = ask(
        &mut conn,
        Message::VariableRequest {
            name: "nope".into(),
        },
    )
    .await;
    assert_eq!(r.code, Code::NOT_FOUND);

    // The server's ping gets an empty ACK.
    let ping = Packet::new(Message::Ping, 0x4242, Token::EMPTY);
    conn.write(&ping).await;
    let ack = conn.recv().await;
    assert_eq!((ack.message, ack.message_id), (Message::EmptyAck, 0x4242));
    handle.shutdown().await;
}

#[tokio::test]
async fn signal_is_logged_and_acknowledged() {
    let logs = LogCapture::default();
    let _guard = logs.install();
    let server = TestServer::bind().await;
    let device = SimDevice::builder(ID)
        .key(device_key())
        .name("kitchen")
        .build()
        .unwrap();
    let handle = device.spawn(server.options());
    let mut conn = server.accept().await;
    within(handle.wait_online()).await.unwrap();
    let mut events = handle.events();
    for on in [true, false] {
        let r = ask(&mut conn, Message::Signal { start: on }).await;
        assert_eq!(r.code, Code::CHANGED);
        let e = next_event(&mut events, |e| matches!(e, SimEvent::Signal { .. })).await;
        assert_eq!(e, SimEvent::Signal { on });
    }
    let text = logs.text();
    assert!(text.contains("signaling: rainbow on"), "{text}");
    assert!(text.contains("signaling: rainbow off"), "{text}");
    assert!(text.contains("INFO"), "{text}");
    assert!(
        text.contains("kitchen (1a118ad1c886d54240ce4b17)"),
        "{text}"
    );
    handle.shutdown().await;
}

#[tokio::test]
async fn publishes_and_pings_keep_the_plus_one_rule_despite_quirky_acks() {
    let server = TestServer::bind().await;
    let device = SimDevice::builder(ID)
        .key(device_key())
        .with_connection(|c| c.keepalive = ms(100))
        .variable(spark_mock_sim::VariableDef::new(
            "n",
            VarType::Int,
            spark_mock_sim::VarSource::Counter {
                start: 1.0,
                step: 1.0,
            },
        ))
        .publish_def(PublishDef {
            name: "sensors/count".into(),
            interval: ms(150),
            data: "n=${n}".into(),
            private: true,
            ttl: 300,
        })
        .build()
        .unwrap();
    let handle = device.spawn(server.options());
    let mut conn = server.accept().await;
    let (mut publishes, mut pings) = (0, 0);
    while publishes < 4 || pings < 2 {
        // `recv` fails the test on any id that is not the previous + 1.
        let p = conn.recv().await;
        match p.message {
            Message::Publish(e) => {
                publishes += 1;
                assert_eq!(
                    (e.name.as_str(), e.private, e.ttl),
                    ("sensors/count", true, 300)
                );
                assert_eq!(e.data, format!("n={publishes}").into_bytes());
                if publishes % 2 == 0 {
                    // spark-protocol's "EventSlowdown": ACK 4.00 with a stray token.
                    conn.write(&Packet::event_slowdown(p.message_id)).await;
                }
            }
            Message::Ping => {
                pings += 1;
                // spark-protocol's empty ACKs carry a stray 00 token.
                let mut ack = Packet::empty_ack(p.message_id);
                ack.token = Token::byte(0);
                conn.write(&ack).await;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    // Still the same session, and still answering.
    assert_eq!(handle.status().sessions, 1);
    let req = conn
        .request(Message::VariableRequest { name: "n".into() })
        .await;
    let r = loop {
        let p = conn.recv().await;
        match p.message {
            Message::Response(r) if p.message_id == req.message_id => break r,
            Message::Publish(_) | Message::Ping => continue,
            other => panic!("unexpected {other:?}"),
        }
    };
    assert_eq!(r.code, Code::CONTENT);
    handle.shutdown().await;
}

#[tokio::test]
async fn reconnects_after_the_server_drops_the_connection() {
    let server = TestServer::bind().await;
    let device = SimDevice::builder(ID)
        .key(device_key())
        .connection(quick())
        .build()
        .unwrap();
    let handle = device.spawn(server.options());
    let mut events = handle.events();
    let conn = server.accept().await;
    within(handle.wait_sessions(1)).await.unwrap();
    drop(conn);
    let mut conn = server.accept().await;
    within(handle.wait_sessions(2)).await.unwrap();
    let e = next_event(&mut events, |e| matches!(e, SimEvent::Disconnected { .. })).await;
    assert!(matches!(e, SimEvent::Disconnected { reason } if reason.contains("closed")));
    // The new session starts its own id sequence and answers as before.
    let r = ask(&mut conn, Message::DescribeRequest).await;
    assert_eq!(r.payload, br#"{"f":[],"v":{}}"#);
    handle.shutdown().await;
}
