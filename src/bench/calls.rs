//! Function calls and variable reads through connected cores: calls per second and
//! p50/p99 latency at each concurrency.

use std::time::{Duration, Instant};

use super::cloud::{self, TOKEN};
use super::{ms, summarize};

pub async fn run(devices: usize, seconds: Duration, concurrencies: &[usize]) -> anyhow::Result<()> {
    let devices = devices.max(1);
    println!("starting a cloud with {devices} connected cores…");
    let cloud = cloud::start(devices).await?;
    println!(
        "{:<16} {:>11} {:>12} {:>10} {:>10} {:>8}",
        "what", "concurrency", "calls/s", "p50", "p99", "errors"
    );
    for what in ["function call", "variable read"] {
        for &c in concurrencies {
            let c = c.max(1);
            let client = cloud::client(c)?;
            let deadline = Instant::now() + seconds;
            let started = Instant::now();
            let mut workers = Vec::new();
            for w in 0..c {
                let client = client.clone();
                let base = cloud.base.clone();
                let device = format!("bench{}", w % devices);
                workers.push(tokio::spawn(async move {
                    // Parsed once: the measuring side should cost little next to the server.
                    let call: reqwest::Url = format!("{base}/v1/devices/{device}/echo").parse()?;
                    let read: reqwest::Url = format!("{base}/v1/devices/{device}/temp").parse()?;
                    let mut lat = Vec::new();
                    let mut errors = 0u64;
                    while Instant::now() < deadline {
                        let t = Instant::now();
                        let resp = if what == "function call" {
                            client
                                .post(call.clone())
                                .bearer_auth(TOKEN)
                                .form(&[("arg", "bench")])
                                .send()
                                .await
                        } else {
                            client.get(read.clone()).bearer_auth(TOKEN).send().await
                        };
                        match resp {
                            Ok(r) if r.status().is_success() => {
                                let _ = r.bytes().await;
                                lat.push(t.elapsed());
                            }
                            _ => errors += 1,
                        }
                    }
                    anyhow::Ok((lat, errors))
                }));
            }
            let mut all = Vec::new();
            let mut errors = 0;
            for w in workers {
                let (lat, e) = w.await??;
                all.extend(lat);
                errors += e;
            }
            let elapsed = started.elapsed().as_secs_f64();
            let rate = all.len() as f64 / elapsed;
            match summarize(&mut all) {
                Some(s) => println!(
                    "{what:<16} {c:>11} {rate:>12.0} {:>10} {:>10} {errors:>8}",
                    ms(s.p50),
                    ms(s.p99)
                ),
                None => println!(
                    "{what:<16} {c:>11} {:>12} {:>10} {:>10} {errors:>8}",
                    0, "-", "-"
                ),
            }
        }
    }
    for d in cloud.devices {
        d.shutdown().await;
    }
    Ok(())
}
