//! Publish-to-receive latency over SSE: many subscribers on one user's stream, events
//! published through the API, each carrying the instant it was sent.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;

use super::cloud::{self, TOKEN};
use super::{ms, summarize};

pub async fn run(subscribers: usize, events: usize, gap: Duration) -> anyhow::Result<()> {
    println!("starting a cloud and {subscribers} event streams…");
    let cloud = cloud::start(0).await?;
    let base = Arc::new(Instant::now());
    let client = cloud::client(subscribers + 1)?;
    let mut readers = Vec::new();
    for _ in 0..subscribers {
        let resp = client
            .get(format!("{}/v1/devices/events/bench", cloud.base))
            .bearer_auth(TOKEN)
            .send()
            .await?;
        anyhow::ensure!(
            resp.status().is_success(),
            "stream refused: {}",
            resp.status()
        );
        let base = base.clone();
        readers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut buf = String::new();
            let mut body = resp.bytes_stream();
            while let Some(Ok(chunk)) = body.next().await {
                let now = base.elapsed();
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buf.find("\n\n") {
                    let block: String = buf.drain(..end + 2).collect();
                    if block.contains("event: bench-end") {
                        return lat;
                    }
                    // `data: {"data":"<nanos>",…}`: read the number without a JSON parse, so
                    // the measuring side costs little next to the server.
                    let sent = block
                        .split_once("{\"data\":\"")
                        .and_then(|(_, rest)| rest.split_once('"'))
                        .and_then(|(n, _)| n.parse::<u64>().ok());
                    if let Some(sent) = sent {
                        lat.push(now.saturating_sub(Duration::from_nanos(sent)));
                    }
                }
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
