//! An OTA update over the wire, the server's side against an in-test Core: UpdateBegin with
//! the file size, a chunk answered 4.00 sent again, a ChunkMissed (CON GET `c`) ACKed and
//! answered from the chunk it names, UpdateDone, then the `spark/flash/status` events and
//! the journal entry.

use std::time::Duration;

use spark_mock_protocol::messages::{crc32, ChunkMissed, Description, UpdateParams};
use spark_mock_protocol::{Message, MessageType, Packet, Token};
use spark_mock_server::devices::flash::flash;
use spark_mock_server::journal::EntryKind;

use crate::support::*;

fn desc() -> Description {
    Description {
        functions: vec!["brew".into()],
        variables: vec![],
        m: None,
    }
}

#[tokio::test]
async fn chunks_are_resent_on_a_bad_crc_and_from_where_chunk_missed_asks() {
    let port = Port::default().await;
    let mut dev = port.online(&desc()).await;
    let mut events = port.events();
    let id = dev.id.to_hex();
    let info = port.state.devices().get(&id).expect("device");
    // Chunk i is filled with i + 1, so each chunk says which it is.
    let file: Vec<u8> = (0..600u32).map(|i| (i / 256 + 1) as u8).collect();
    let state = port.state.clone();
    let started = tokio::spawn(async move { flash(&state, &info, OWNER, file).await });

    let begin = dev.recv().await;
    let Message::UpdateBegin(b) = &begin.message else {
        panic!("{begin:?}")
    };
    let want = UpdateParams {
        flags: 0,
        chunk_size: 256,
        file_size: 600,
        dest_flag: 0,
        dest_addr: 0,
    };
    assert_eq!(
        (begin.mtype, b.params),
        (MessageType::Confirmable, Some(want))
    );
    dev.reply(Packet::empty_ack(begin.message_id)).await;
    let next = dev.ids.next_id();
    dev.reply(Packet::update_ready(next, begin.token, None))
        .await;
    let flashing = started.await.expect("task").expect("started");
    assert_eq!(flashing.bytes, 600);

    // The 1st chunk sent fails its CRC; the 3rd is never answered: the device asks for
    // chunk 0 again instead.
    let (mut got, mut missed_id, mut missed_acked) = (Vec::new(), None, false);
    loop {
        let p = dev.recv().await;
        match p.message {
            Message::Chunk(c) => {
                assert_eq!((c.crc, c.data.len()), (crc32(&c.data), 256));
                got.push(c.data[0]);
                dev.reply(Packet::empty_ack(p.message_id)).await;
                if got.len() == 3 {
                    let missed = ChunkMissed { indices: vec![0] };
                    missed_id = Some(dev.send(Message::ChunkMissed(missed), Token::EMPTY).await);
                    continue;
                }
                let next = dev.ids.next_id();
                dev.reply(Packet::chunk_received(next, p.token, got.len() != 1))
                    .await;
            }
            Message::EmptyAck if Some(p.message_id) == missed_id => missed_acked = true,
            Message::UpdateDone => {
                dev.reply(Packet::update_done_ack(p.message_id, p.token))
                    .await;
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(got, [1, 1, 2, 1, 2, 3]);
    assert!(missed_acked, "the server ACKs ChunkMissed");

    for want in ["started", "success"] {
        let e = next_event(&mut events).await;
        assert_eq!(
            (e.name.as_str(), e.data.as_deref(), e.coreid.as_str()),
            ("spark/flash/status", Some(want), id.as_str())
        );
        assert_eq!((e.public, e.owner.as_deref()), (false, Some(OWNER)));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let entry = loop {
        let found = port
            .state
            .journal()
            .entries()
            .into_iter()
            .rev()
            .find(|e| e.kind == EntryKind::Flash);
        if let Some(e) = found {
            break e;
        }
        assert!(tokio::time::Instant::now() < deadline, "no journal entry");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let note = entry.flash.expect("figures");
    assert_eq!(
        (entry.status, note.bytes, note.chunks, note.resent),
        (200, 600, 3, 2)
    );
    assert!(!port.state.devices().is_flashing(&id));
}
