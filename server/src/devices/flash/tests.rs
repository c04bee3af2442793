//! The transfer against a scripted connection: the test plays the device's side of the
//! command channel, with paused time for the timeout.

use std::time::Duration;

use spark_mock_protocol::messages::{crc32, Response, CHUNK_SIZE};
use spark_mock_protocol::Code;
use tokio::sync::mpsc;

use super::*;
use crate::devices::types::{Command, OtaStep};

fn answer(code: Code) -> Response {
    Response {
        code,
        payload: Vec::new(),
    }
}

/// What the scripted device saw.
#[derive(Debug, Default)]
struct Seen {
    file_size: Option<u32>,
    /// Every chunk received, in order, as (CRC matches, first byte).
    chunks: Vec<(bool, u8)>,
    /// The bytes accepted, in order.
    stored: Vec<u8>,
    done: bool,
}

/// Plays a device: `on_chunk(n, &mut missed)` decides the answer to the n-th chunk sent
/// (0-based, resends included): `Some(code)` answers, `None` leaves it unanswered.
async fn device(
    mut rx: mpsc::Receiver<Command>,
    mut on_chunk: impl FnMut(usize, &mpsc::Sender<u16>) -> Option<Code>,
) -> Seen {
    let mut seen = Seen::default();
    let mut missed = None;
    let mut unanswered = Vec::new();
    while let Some(cmd) = rx.recv().await {
        let Command::Ota { step, reply } = cmd else {
            panic!("not an OTA step: {cmd:?}");
        };
        match step {
            OtaStep::Begin { params, missed: m } => {
                seen.file_size = Some(params.file_size);
                missed = Some(m);
                let _ = reply.send(Ok(answer(Code::CHANGED)));
            }
            OtaStep::Chunk(c) => {
                let n = seen.chunks.len();
                seen.chunks.push((c.crc_matches(), c.data[0]));
                assert_eq!(c.data.len(), CHUNK_SIZE);
                assert_eq!(c.crc, crc32(&c.data));
                let Some(m) = &missed else {
                    panic!("chunk before UpdateBegin")
                };
                match on_chunk(n, m) {
                    Some(code) => {
                        if code == Code::CHANGED {
                            seen.stored.extend_from_slice(&c.data);
                        }
                        let _ = reply.send(Ok(answer(code)));
                    }
                    None => unanswered.push(reply),
                }
            }
            OtaStep::Done => {
                seen.done = true;
                let _ = reply.send(Ok(answer(Code::CHANGED)));
                break;
            }
        }
    }
    seen
}

/// A file of `chunks` chunks, chunk i filled with byte i, the last one `tail` bytes long.
fn file(chunks: usize, tail: usize) -> Vec<u8> {
    let mut f = Vec::new();
    for i in 0..chunks {
        let len = if i + 1 == chunks { tail } else { CHUNK_SIZE };
        f.extend(std::iter::repeat_n(i as u8 + 1, len));
    }
    f
}

#[tokio::test(start_paused = true)]
async fn sends_every_chunk_padded_with_its_crc_then_done() {
    let (tx, rx) = mpsc::channel(4);
    let dev = tokio::spawn(device(rx, |_, _| Some(Code::CHANGED)));
    let f = file(3, 100);
    let mut started = false;
    let r = transfer(&tx, &f, || started = true).await.unwrap();
    let seen = dev.await.unwrap();
    assert!(started);
    assert_eq!(
        r,
        Transferred {
            bytes: 612,
            chunks: 3,
            resent: 0
        }
    );
    assert_eq!(seen.file_size, Some(612));
    assert_eq!(seen.chunks, [(true, 1), (true, 2), (true, 3)]);
    assert_eq!(&seen.stored[..612], &f[..]);
    assert!(seen.stored[612..].iter().all(|b| *b == 0), "zero padding");
    assert!(seen.done);
}

#[tokio::test(start_paused = true)]
async fn a_bad_crc_answer_resends_the_same_chunk() {
    let (tx, rx) = mpsc::channel(4);
    let dev = tokio::spawn(device(rx, |n, _| {
        Some(if n == 1 {
            Code::BAD_REQUEST
        } else {
            Code::CHANGED
        })
    }));
    let r = transfer(&tx, &file(2, 10), || {}).await.unwrap();
    let seen = dev.await.unwrap();
    assert_eq!(seen.chunks, [(true, 1), (true, 2), (true, 2)]);
    assert_eq!(r.resent, 1);
}

#[tokio::test(start_paused = true)]
async fn chunk_missed_goes_back_to_the_index_the_device_asks_for() {
    let (tx, rx) = mpsc::channel(4);
    // The third chunk is never answered; the device asks for chunk 1 again instead.
    let dev = tokio::spawn(device(rx, |n, missed| {
        if n == 2 {
            missed.try_send(1).unwrap();
            return None;
        }
        Some(Code::CHANGED)
    }));
    let r = transfer(&tx, &file(3, 256), || {}).await.unwrap();
    let seen = dev.await.unwrap();
    let order: Vec<u8> = seen.chunks.iter().map(|c| c.1).collect();
    assert_eq!(order, [1, 2, 3, 2, 3]);
    assert_eq!(r.resent, 1);
    assert!(seen.done);
}

#[tokio::test(start_paused = true)]
async fn a_silent_device_times_out_after_90_s() {
    let (tx, mut rx) = mpsc::channel(4);
    // Answers UpdateBegin, then never another step (keeps the channel open).
    let dev = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Some(Command::Ota { step, reply }) = rx.recv().await {
            match step {
                OtaStep::Begin { .. } => drop(reply.send(Ok(answer(Code::CHANGED)))),
                _ => held.push(reply),
            }
        }
    });
    let t0 = tokio::time::Instant::now();
    let r = tokio::time::timeout(FLASH_TIMEOUT, transfer(&tx, &file(1, 5), || {}))
        .await
        .unwrap_or(Err(FlashError::TimedOut));
    assert_eq!(r, Err(FlashError::TimedOut));
    assert_eq!(t0.elapsed(), Duration::from_secs(90));
    drop(tx);
    dev.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_connection_that_closes_mid_update_fails_it_as_offline() {
    let (tx, mut rx) = mpsc::channel(4);
    tokio::spawn(async move {
        if let Some(Command::Ota { reply, .. }) = rx.recv().await {
            let _ = reply.send(Ok(answer(Code::CHANGED)));
        }
        // The connection ends: the chunk's reply is dropped unanswered.
        let _ = rx.recv().await;
    });
    let mut started = false;
    let r = transfer(&tx, &file(2, 1), || started = true).await;
    assert!(started);
    assert_eq!(r, Err(FlashError::Offline));
}

#[tokio::test(start_paused = true)]
async fn a_chunk_that_keeps_failing_its_crc_gives_up() {
    let (tx, rx) = mpsc::channel(4);
    let dev = tokio::spawn(device(rx, |n, _| {
        Some(if n == 0 {
            Code::CHANGED
        } else {
            Code::BAD_REQUEST
        })
    }));
    let r = transfer(&tx, &file(2, 1), || {}).await;
    assert_eq!(
        r,
        Err(FlashError::Device(
            "chunk 1 failed its CRC check 10 times".into()
        ))
    );
    drop(tx);
    assert_eq!(dev.await.unwrap().chunks.len(), 11);
}

#[tokio::test(start_paused = true)]
async fn a_device_that_refuses_update_begin_never_starts() {
    let (tx, mut rx) = mpsc::channel(4);
    tokio::spawn(async move {
        if let Some(Command::Ota { reply, .. }) = rx.recv().await {
            let _ = reply.send(Ok(answer(Code::BAD_REQUEST)));
        }
    });
    let mut started = false;
    let r = transfer(&tx, &file(1, 1), || started = true).await;
    assert!(!started);
    assert_eq!(
        r,
        Err(FlashError::Device(
            "the device answered UpdateBegin with 4.00".into()
        ))
    );
}

#[test]
fn the_firmware_id_is_the_files_hash() {
    let id = run::firmware_binary_id(b"abc");
    assert_eq!(id, "ba7816bf8f01cfea414140de");
    assert_eq!(id, run::firmware_binary_id(b"abc"));
}
