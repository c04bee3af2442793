//! Publish-to-receive latency over SSE: many subscribers on one user's stream, events
//! published through the API, each carrying the instant it was sent.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::cloud::{self, TOKEN};
use super::{ms, summarize};

pub async fn run(subscribers: usize, events: usize, gap: Duration) -> anyhow::Result<()> {
    println!("starting a cloud and {subscribers} event streams…");
    let cloud = cloud::start(0).await?;
    let base = Arc::new(Instant::now());
    let client = cloud::client(1)?;
    let mut readers = Vec::new();
    let addr = cloud.base.trim_start_matches("http://").to_string();
    for _ in 0..subscribers {
        // A subscriber is a bare TCP stream that sends one GET and scans the bytes it gets:
        // one task per stream and no client library, so the measuring side costs little
        // next to the server, which shares these two cores with it (as wrk does).
        let mut stream = tokio::net::TcpStream::connect(&addr).await?;
        let request = format!(
            "GET /v1/devices/events/bench HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\nAccept: text/event-stream\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await?;
        let base = base.clone();
        readers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut pending: Vec<u8> = Vec::new();
            let mut buf = vec![0u8; 16 * 1024];
            while let Ok(n) = stream.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                let now = base.elapsed();
                pending.extend_from_slice(&buf[..n]);
                let mut start = 0;
                while let Some(end) = find(&pending[start..], b"\n\n") {
                    let block = &pending[start..start + end];
                    start += end + 2;
                    if find(block, b"event: bench-end").is_some() {
                        return lat;
                    }
                    if let Some(sent) = sent_nanos(block) {
                        lat.push(now.saturating_sub(Duration::from_nanos(sent)));
                    }
                }
                pending.drain(..start);
            }
            lat
        }));
    }
    // Every stream is open once the server lists it.
    while cloud.state.bus().subscriptions().len() < subscribers {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let publish = |name: &'static str, data: String| {
        client
            .post(format!("{}/v1/devices/events", cloud.base))
            .bearer_auth(TOKEN)
            .form(&[
                ("name", name.to_string()),
                ("data", data),
                ("private", "true".into()),
            ])
            .send()
    };
    for _ in 0..events {
        let sent = base.elapsed().as_nanos() as u64;
        publish("bench", sent.to_string()).await?;
        tokio::time::sleep(gap).await;
    }
    publish("bench-end", String::new()).await?;
    let mut all = Vec::new();
    for r in readers {
        all.extend(r.await?);
    }
    let expected = subscribers * events;
    match summarize(&mut all) {
        Some(s) => println!(
            "publish → receive over SSE, {subscribers} subscribers, {events} events: {} of {expected} delivered; p50 {}, p99 {}, max {}",
            all.len(),
            ms(s.p50),
            ms(s.p99),
            ms(s.max)
        ),
        None => println!("no event was delivered"),
    }
    Ok(())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The send time in `data: {"data":"<nanos>",…}`.
fn sent_nanos(block: &[u8]) -> Option<u64> {
    const MARK: &[u8] = b"{\"data\":\"";
    let at = find(block, MARK)? + MARK.len();
    if !block.get(at)?.is_ascii_digit() {
        return None;
    }
    let mut digits = block[at..].iter().take_while(|b| b.is_ascii_digit());
    digits.try_fold(0u64, |n, d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}
