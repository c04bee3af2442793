//! Function calls and variable reads through connected cores: calls per second and
//! p50/p99 latency at each concurrency.
//!
//! Each worker holds one keep-alive HTTP/1.1 connection and sends its requests with hyper's
//! bare connection API: no pool, no URL parsing per request, so the load generator, which
//! shares the two cores with the server, costs as little as it can (as wrk does).

use std::time::{Duration, Instant};

use anyhow::Context;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::Request;
use hyper_util::rt::TokioIo;

use super::cloud::{self, TOKEN};
use super::{ms, summarize};

#[derive(Clone, Copy, PartialEq)]
enum What {
    Call,
    Read,
}

impl What {
    fn label(self) -> &'static str {
        match self {
            What::Call => "function call",
            What::Read => "variable read",
        }
    }
}

pub async fn run(devices: usize, seconds: Duration, concurrencies: &[usize]) -> anyhow::Result<()> {
    let devices = devices.max(1);
    println!("starting a cloud with {devices} connected cores…");
    let cloud = cloud::start(devices).await?;
    let host = cloud.base.trim_start_matches("http://").to_string();
    println!(
        "{:<16} {:>11} {:>12} {:>10} {:>10} {:>8}",
        "what", "concurrency", "calls/s", "p50", "p99", "errors"
    );
    for what in [What::Call, What::Read] {
        for &c in concurrencies {
            let c = c.max(1);
            let deadline = Instant::now() + seconds;
            let started = Instant::now();
            let mut workers = Vec::new();
            for w in 0..c {
                let host = host.clone();
                let device = format!("bench{}", w % devices);
                workers.push(tokio::spawn(worker(host, device, what, deadline)));
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
            let what = what.label();
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

/// One connection's loop until the deadline: latencies of the successful requests, and the
/// count of failed ones (a failed connection is replaced).
async fn worker(
    host: String,
    device: String,
    what: What,
    deadline: Instant,
) -> anyhow::Result<(Vec<Duration>, u64)> {
    let bearer = format!("Bearer {TOKEN}");
    let path = match what {
        What::Call => format!("/v1/devices/{device}/echo"),
        What::Read => format!("/v1/devices/{device}/temp"),
    };
    let mut lat = Vec::new();
    let mut errors = 0u64;
    let mut conn: Option<SendRequest<_>> = None;
    while Instant::now() < deadline {
        let sender = match conn.as_mut() {
            Some(s) => s,
            None => conn.insert(connect(&host).await?),
        };
        let t = Instant::now();
        let ok = match what {
            What::Call => {
                let req = Request::post(&path)
                    .header(HOST, &host)
                    .header(AUTHORIZATION, &bearer)
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Full::new(Bytes::from_static(b"arg=bench")).boxed())?;
                send(sender, req).await
            }
            What::Read => {
                let req = Request::get(&path)
                    .header(HOST, &host)
                    .header(AUTHORIZATION, &bearer)
                    .body(Empty::new().map_err(|never| match never {}).boxed())?;
                send(sender, req).await
            }
        };
        match ok {
            Ok(true) => lat.push(t.elapsed()),
            Ok(false) => errors += 1,
            Err(_) => {
                errors += 1;
                conn = None;
            }
        }
    }
    Ok((lat, errors))
}

type Body = http_body_util::combinators::BoxBody<Bytes, std::convert::Infallible>;

async fn connect(host: &str) -> anyhow::Result<SendRequest<Body>> {
    let stream = tokio::net::TcpStream::connect(host)
        .await
        .with_context(|| format!("connect to {host}"))?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender)
}

/// Sends one request and reads the whole answer: `Ok(true)` for a 2xx.
async fn send(sender: &mut SendRequest<Body>, req: Request<Body>) -> anyhow::Result<bool> {
    sender.ready().await?;
    let resp = sender.send_request(req).await?;
    let ok = resp.status().is_success();
    resp.into_body().collect().await?;
    Ok(ok)
}
