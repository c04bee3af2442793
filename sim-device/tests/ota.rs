//! OTA updates end to end against a scripted server: a devices-file fragment for the
//! device becomes its firmware after the reboot, any other file changes nothing, and a
//! chunk that does not come is asked for again (ChunkMissed).

mod support;

use spark_mock_protocol::coap::Code;
use spark_mock_protocol::messages::{crc32, Chunk, ChunkMissed, UpdateBegin, UpdateParams};
use spark_mock_protocol::{Message, MessageType};
use spark_mock_sim::{SimDevice, SimEvent};
use support::{device_key, next_event, quick, Conn, TestServer};

const ID: &str = "1a118ad1c886d54240ce4b17";

/// Sends `file` the way spark-mock does: UpdateBegin with its size, 256-byte chunks (the
/// last zero-padded), UpdateDone.
async fn flash(conn: &mut Conn, file: &[u8]) {
    let params = UpdateParams {
        flags: 0,
        chunk_size: 256,
        file_size: file.len() as u32,
        dest_flag: 0,
        dest_addr: 0,
    };
    let begin = UpdateBegin {
        params: Some(params),
    };
    conn.request(Message::UpdateBegin(begin)).await;
    answered(conn).await;
    for c in file.chunks(256) {
        let mut data = c.to_vec();
        data.resize(256, 0);
        conn.request(Message::Chunk(Chunk::new(data, None))).await;
        assert_eq!(answered(conn).await, Code::CHANGED);
    }
    conn.request(Message::UpdateDone).await;
    let ack = conn.recv().await;
    assert_eq!(ack.mtype, MessageType::Acknowledgement);
}

/// Skips the empty ACK and returns the code of the separate answer.
async fn answered(conn: &mut Conn) -> Code {
    loop {
        match conn.recv().await.message {
            Message::Response(r) => return r.code,
            Message::EmptyAck => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

async fn describe(conn: &mut Conn) -> (Vec<String>, Vec<String>) {
    let req = conn.request(Message::DescribeRequest).await;
    loop {
        let p = conn.recv().await;
        if p.token != req.token {
            continue;
        }
        let Message::Response(r) = p.message else {
            panic!("{p:?}")
        };
        let d = r.description().unwrap();
        let vars = d.variables.iter().map(|(n, _)| n.clone()).collect();
        return (d.functions, vars);
    }
}

fn kettle() -> SimDevice {
    SimDevice::builder(ID)
        .key(device_key())
        .name("kettle")
        .connection(quick())
        .function("boil", |_| 1)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_fragment_for_the_device_is_its_firmware_after_the_reboot() {
    let server = TestServer::bind().await;
    let handle = kettle().spawn(server.options());
    let mut events = handle.events();
    let mut conn = server.accept().await;
    assert_eq!(describe(&mut conn).await.0, ["boil"]);
    let fragment = "[[device]]\nname = \"kettle\"\n\n[[device.function]]\nname = \"pour\"\n\
                    \n[[device.variable]]\nname = \"litres\"\ntype = \"double\"\nvalue = 1.5\n";
    flash(&mut conn, fragment.as_bytes()).await;
    let e = next_event(&mut events, |e| matches!(e, SimEvent::OtaDone { .. })).await;
    assert_eq!(
        e,
        SimEvent::OtaDone {
            bytes: fragment.len(),
            crc32: crc32(fragment.as_bytes()),
            applied: true
        }
    );
    let mut again = server.accept().await;
    assert_eq!(
        describe(&mut again).await,
        (vec!["pour".to_string()], vec!["litres".to_string()])
    );
    handle.shutdown().await;
}

#[tokio::test]
async fn any_other_file_is_stored_and_changes_nothing() {
    let server = TestServer::bind().await;
    let handle = kettle().spawn(server.options());
    let mut conn = server.accept().await;
    // 300 bytes ending in zeros: the announced size keeps them.
    let mut file = vec![0xA5; 290];
    file.extend([0; 10]);
    flash(&mut conn, &file).await;
    let mut again = server.accept().await;
    assert_eq!(describe(&mut again).await.0, ["boil"]);
    let f = handle.status().last_flash.expect("recorded");
    assert_eq!((f.bytes, f.crc32, f.applied), (300, crc32(&file), false));
    // A fragment for another device is just a file too.
    flash(&mut again, b"[[device]]\nname = \"teapot\"\n").await;
    let mut third = server.accept().await;
    assert_eq!(describe(&mut third).await.0, ["boil"]);
    assert!(!handle.status().last_flash.unwrap().applied);
    handle.shutdown().await;
}

#[tokio::test]
async fn a_chunk_that_does_not_come_is_asked_for_after_3_s() {
    let server = TestServer::bind().await;
    let handle = kettle().spawn(server.options());
    let mut conn = server.accept().await;
    conn.request(Message::UpdateBegin(UpdateBegin::default()))
        .await;
    answered(&mut conn).await;
    let started = std::time::Instant::now();
    let p = loop {
        let p = conn.recv().await;
        if matches!(p.message, Message::ChunkMissed(_)) {
            break p;
        }
    };
    assert!(started.elapsed() >= std::time::Duration::from_millis(2900));
    assert_eq!(p.mtype, MessageType::Confirmable);
    assert_eq!(
        p.message,
        Message::ChunkMissed(ChunkMissed { indices: vec![0] })
    );
    handle.shutdown().await;
}
