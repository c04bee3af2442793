//! Photon mode, subscriptions, late answers, time sync, drop / offline,
//! the Core's long-argument disconnect, and OTA.

mod support;

use std::time::{Duration, Instant};

use spark_mock_protocol::coap::Code;
use spark_mock_protocol::messages::{
    hello_flags, platform, Chunk, Event, FunctionCall, Subscribe, UpdateBegin, VarValue,
};
use spark_mock_protocol::{Message, MessageType, Packet};
use spark_mock_sim::{Mode, Scope, SimDevice, SimEvent, SubscriptionDef, VariableDef};
use support::{device_key, next_event, quick, within, Conn, TestServer};

const ID: &str = "1a118ad1c886d54240ce4b17";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

async fn response(conn: &mut Conn, req: &Packet) -> spark_mock_protocol::messages::Response {
    let p = conn.recv().await;
    assert_eq!(p.token, req.token, "{p:?}");
    if p.mtype == MessageType::Acknowledgement {
        assert_eq!(p.message_id, req.message_id, "{p:?}");
    }
    match p.message {
        Message::Response(r) => r,
        other => panic!("expected a response, got {other:?}"),
    }
}

#[tokio::test]
async fn photon_mode_appends_the_key_and_describes_modules() {
    let server = TestServer::bind().await;
    let device = SimDevice::builder(ID)
        .key(device_key())
        .mode(Mode::Photon)
        .function("f", |_| 0)
        .build()
        .unwrap();
    let handle = device.spawn(server.options());
    let mut conn = server.accept().await;
    assert_eq!(conn.appended_key.as_ref(), Some(device_key().public_key()));
    let p = conn.hello.platform.clone().expect("extended Hello");
    assert_eq!(p.platform_id, platform::PHOTON);
    assert_eq!(p.device_id.as_deref(), Some(&conn.device_id.as_bytes()[..]));
    let req = conn.request(Message::DescribeRequest).await;
    let d = response(&mut conn, &req).await.description().unwrap();
    assert_eq!(d.functions, ["f"]);
    assert!(d.m.is_some(), "Photon-era servers wait for \"m\"");
    handle.shutdown().await;
}

#[tokio::test]
async fn subscriptions_receive_events_by_prefix_and_set_variables() {
    let server = TestServer::bind().await;
    let device = SimDevice::builder(ID)
        .key(device_key())
        .variable(VariableDef::constant("level", VarValue::Int(0)))
        .subscribe_def(SubscriptionDef {
            prefix: "alarm".into(),
            scope: Scope::Mine,
            set_variable: Some("level".into()),
        })
        .subscribe("weather")
        .build()
        .unwrap();
    let handle = device.spawn(server.options());
    let mut events = handle.events();
    let mut conn = server.accept().await;
    for want in [Subscribe::my_devices("alarm"), Subscribe::all("weather")] {
        let p = conn.recv().await;
        assert_eq!(
            (p.mtype, p.message),
            (MessageType::Confirmable, Message::Subscribe(want))
        );
        conn.write(&Packet::empty_ack(p.message_id)).await;
    }
    conn.send_non(Message::EventToDevice(Event::public("other/thing", "9")))
        .await;
    conn.send_non(Message::EventToDevice(Event::private(
        "alarm/kitchen/fire",
        "3",
    )))
    .await;
    let e = next_event(&mut events, |e| matches!(e, SimEvent::EventReceived { .. })).await;
    assert_eq!(
        e,
        SimEvent::EventReceived {
            name: "alarm/kitchen/fire".into(),
            data: "3".into()
        }
    );
    let req = conn
        .request(Message::VariableRequest {
            name: "level".into(),
        })
        .await;
    assert_eq!(response(&mut conn, &req).await.payload, 3i32.to_be_bytes());
    handle.shutdown().await;
}

#[tokio::test]
async fn late_answers_and_time_sync_keep_ids_in_order() {
    let server = TestServer::bind().await;
    let device = SimDevice::builder(ID)
        .key(device_key())
        .with_connection(|c| {
            c.answer_delay = ms(150);
            c.time_sync = true;
        })
        .function("f", |_| 5)
        .variable_int("v", || 1)
        .build()
        .unwrap();
    let handle = device.spawn(server.options());
    let mut events = handle.events();
    let mut conn = server.accept().await;
    let time = conn.recv().await;
    assert_eq!(time.message, Message::TimeRequest);
    assert_eq!(time.token.as_slice().len(), 1);
    conn.write(&Packet::time_reply(
        time.message_id,
        time.token,
        1_398_367_917,
    ))
    .await;
    let e = next_event(&mut events, |e| matches!(e, SimEvent::Time { .. })).await;
    assert_eq!(
        e,
        SimEvent::Time {
            unix: 1_398_367_917
        }
    );

    let started = Instant::now();
    let call = conn
        .request(Message::FunctionCall(FunctionCall::new("f", "")))
        .await;
    let ack = conn.recv().await;
    assert_eq!(
        ack.message,
        Message::EmptyAck,
        "the empty ACK is not delayed"
    );
    let read = conn
        .request(Message::VariableRequest { name: "v".into() })
        .await;
    // Both answers come late; `recv` checks the return's id is Hello + 2.
    let ret = response(&mut conn, &call).await;
    assert_eq!(ret.function_return().unwrap(), 5);
    assert_eq!(response(&mut conn, &read).await.payload, 1i32.to_be_bytes());
    assert!(started.elapsed() >= ms(150));
    assert_eq!(conn.ids.expected(), Some(conn.hello_id.wrapping_add(3)));
    handle.shutdown().await;
}

#[tokio::test]
async fn drops_and_goes_offline_on_schedule() {
    let server = TestServer::bind().await;
    let device = SimDevice::builder(ID)
        .key(device_key())
        .connection(quick())
        .with_connection(|c| c.drop_after = Some(ms(100)))
        .build()
        .unwrap();
    let handle = device.spawn(server.options());
    let mut first = server.accept().await;
    assert!(first.closed().await, "the device drops the connection");
    let _second = server.accept().await;
    within(handle.wait_sessions(2)).await.unwrap();
    handle.shutdown().await;

    let device = SimDevice::builder(ID)
        .key(device_key())
        .with_connection(|c| {
            c.offline_after = Some(ms(50));
            c.offline_for = ms(300);
        })
        .build()
        .unwrap();
    let handle = device.spawn(server.options());
    let mut first = server.accept().await;
    assert!(first.closed().await);
    let left = Instant::now();
    let _second = server.accept().await;
    assert!(left.elapsed() >= ms(250), "offline for offline_for");
    within(handle.wait_sessions(2)).await.unwrap();
    handle.shutdown().await;
}

#[tokio::test]
async fn a_core_exact_device_drops_on_a_64_byte_argument() {
    let server = TestServer::bind().await;
    let device = SimDevice::builder(ID)
        .key(device_key())
        .connection(quick())
        .with_connection(|c| c.disconnect_on_long_arg = true)
        .function("f", |a| a.len() as i32)
        .build()
        .unwrap();
    let handle = device.spawn(server.options());
    let mut conn = server.accept().await;
    let call = FunctionCall::new("f", "b".repeat(64));
    conn.request(Message::FunctionCall(call)).await;
    assert_eq!(conn.recv().await.message, Message::EmptyAck);
    assert!(conn.closed().await);
    let _again = server.accept().await;
    within(handle.wait_sessions(2)).await.unwrap();
    handle.shutdown().await;
}

#[tokio::test]
async fn ota_update_then_reboot_with_the_success_flag() {
    let server = TestServer::bind().await;
    let device = SimDevice::builder(ID)
        .key(device_key())
        .connection(quick())
        .build()
        .unwrap();
    let handle = device.spawn(server.options());
    let mut events = handle.events();
    let mut conn = server.accept().await;
    let begin = conn
        .request(Message::UpdateBegin(UpdateBegin::default()))
        .await;
    assert_eq!(conn.recv().await.message, Message::EmptyAck);
    let ready = response(&mut conn, &begin).await;
    assert_eq!(ready.code, Code::CHANGED);
    for (chunk, ok) in [
        (Chunk::new(vec![7; 256], None), true),
        (
            Chunk {
                crc: 1,
                index: None,
                data: vec![1; 256],
            },
            false,
        ),
    ] {
        let req = conn.request(Message::Chunk(chunk)).await;
        assert_eq!(conn.recv().await.message, Message::EmptyAck);
        let r = response(&mut conn, &req).await;
        assert_eq!(r.code, if ok { Code::CHANGED } else { Code::BAD_REQUEST });
    }
    let done = conn.request(Message::UpdateDone).await;
    let ack = conn.recv().await;
    assert_eq!(
        (ack.mtype, ack.message_id),
        (MessageType::Acknowledgement, done.message_id)
    );
    let e = next_event(&mut events, |e| matches!(e, SimEvent::OtaDone { .. })).await;
    // No size in UpdateBegin: the file is the good chunk; not a fragment, so unchanged.
    assert_eq!(
        e,
        SimEvent::OtaDone {
            bytes: 256,
            crc32: spark_mock_protocol::messages::crc32(&[7; 256]),
            applied: false
        }
    );
    assert_eq!(handle.status().last_flash.map(|f| f.bytes), Some(256));
    let again = server.accept().await;
    assert_eq!(
        again.hello.flags & hello_flags::OTA_SUCCEEDED,
        hello_flags::OTA_SUCCEEDED
    );
    handle.shutdown().await;
}
