//! Publish-to-receive latency over SSE: many subscribers on one user's stream, events
//! published through the API, each carrying the instant it was sent.
//!
//! `--baseline` runs the same fan-out over bare TCP first (no HTTP, no cloud: one writer task
//! per connection fed by a channel, as the server's streams are), so the figures can be read
//! against what this machine's kernel and runtime cost on their own.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use super::cloud::{self, TOKEN};
use super::{ms, summarize};

pub async fn run(
    subscribers: usize,
    events: usize,
    gap: Duration,
    baseline: bool,
    runs: usize,
) -> anyhow::Result<()> {
    const BARE: &str = "bare TCP, no HTTP (baseline)";
    const SSE: &str = "publish → receive over SSE";
    let (mut bare_p99, mut sse_p99) = (Vec::new(), Vec::new());
    for _ in 0..runs.max(1) {
        if baseline {
            let (lat, cpu) = bare_tcp(subscribers, events, gap).await?;
            bare_p99.extend(report(BARE, subscribers, events, lat, cpu));
        }
        let (lat, cpu) = sse(subscribers, events, gap).await?;
        sse_p99.extend(report(SSE, subscribers, events, lat, cpu));
    }
    if runs > 1 {
        for (what, mut p99) in [(BARE, bare_p99), (SSE, sse_p99)] {
            if p99.is_empty() {
                continue;
            }
            p99.sort_unstable();
            println!(
                "{what}, p99 over {} runs: min {}, median {}, max {}",
                p99.len(),
                ms(p99[0]),
                ms(p99[p99.len() / 2]),
                ms(p99[p99.len() - 1])
            );
        }
    }
    Ok(())
}

/// One run through a fresh cloud: every delivery's latency, and CPU per delivery.
async fn sse(
    subscribers: usize,
    events: usize,
    gap: Duration,
) -> anyhow::Result<(Vec<Duration>, Option<Duration>)> {
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
        let mut stream = TcpStream::connect(&addr).await?;
        let request = format!(
            "GET /v1/devices/events/bench HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\nAccept: text/event-stream\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await?;
        readers.push(tokio::spawn(read_latencies(stream, base.clone())));
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
    let cpu = CpuMeter::start();
    for _ in 0..events {
        let sent = base.elapsed().as_nanos() as u64;
        publish("bench", sent.to_string()).await?;
        tokio::time::sleep(gap).await;
    }
    publish("bench-end", String::new()).await?;
    let lat = collect(readers).await?;
    Ok((lat, cpu.per(subscribers * events)))
}

fn report(
    what: &str,
    subscribers: usize,
    events: usize,
    mut all: Vec<Duration>,
    cpu: Option<Duration>,
) -> Option<Duration> {
    let expected = subscribers * events;
    let cpu = cpu
        .map(|c| format!("; CPU {:.1} µs per delivery", c.as_secs_f64() * 1e6))
        .unwrap_or_default();
    match summarize(&mut all) {
        Some(s) => {
            println!(
                "{what}, {subscribers} subscribers, {events} events: {} of {expected} delivered; p50 {}, p99 {}, max {}{cpu}",
                all.len(),
                ms(s.p50),
                ms(s.p99),
                ms(s.max)
            );
            Some(s.p99)
        }
        None => {
            println!("{what}: no event was delivered");
            None
        }
    }
}

async fn collect(readers: Vec<JoinHandle<Vec<Duration>>>) -> anyhow::Result<Vec<Duration>> {
    let mut all = Vec::new();
    for r in readers {
        all.extend(r.await?);
    }
    Ok(all)
}

/// Reads SSE frames until `event: bench-end`, noting each frame's latency.
async fn read_latencies(mut stream: TcpStream, base: Arc<Instant>) -> Vec<Duration> {
    let mut lat = Vec::new();
    let mut pending: Vec<u8> = Vec::new();
    // Small: a thousand readers touching a page each per event would measure the TLB.
    let mut buf = vec![0u8; 2048];
    while let Ok(n) = stream.read(&mut buf).await {
        if n == 0 {
            break;
        }
        let now = base.elapsed();
        pending.extend_from_slice(&buf[..n]);
        let mut start = 0;
        while let Some(end) = frame_end(&pending[start..]) {
            let block = &pending[start..start + end];
            start += end + 2;
            // Over HTTP a block may begin with the previous chunk's CRLF and this chunk's size.
            if find(&block[..block.len().min(32)], b"event: bench-end").is_some() {
                return lat;
            }
            if let Some(sent) = sent_nanos(block) {
                lat.push(now.saturating_sub(Duration::from_nanos(sent)));
            }
        }
        pending.drain(..start);
    }
    lat
}

/// One rendered frame, shared by every writer.
type Frame = Arc<[u8]>;

/// The same fan-out without the cloud: each accepted connection gets a writer task fed by a
/// channel, and the frames look like the cloud's.
async fn bare_tcp(
    subscribers: usize,
    events: usize,
    gap: Duration,
) -> anyhow::Result<(Vec<Duration>, Option<Duration>)> {
    println!("baseline: {subscribers} bare TCP streams…");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let base = Arc::new(Instant::now());
    let mut writers = Vec::new();
    let mut readers = Vec::new();
    for _ in 0..subscribers {
        let client = TcpStream::connect(addr).await?;
        let (mut server, _) = listener.accept().await?;
        server.set_nodelay(true)?;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Frame>(1024);
        tokio::spawn(async move {
            while let Some(frame) = rx.recv().await {
                if server.write_all(&frame).await.is_err() {
                    break;
                }
            }
        });
        writers.push(tx);
        readers.push(tokio::spawn(read_latencies(client, base.clone())));
    }
    let send = |frame: Frame| {
        for w in &writers {
            let _ = w.try_send(frame.clone());
        }
    };
    let cpu = CpuMeter::start();
    for _ in 0..events {
        let sent = base.elapsed().as_nanos();
        send(Arc::from(
            format!("event: bench\ndata: {{\"data\":\"{sent}\",\"ttl\":60,\"published_at\":\"2026-11-28T00:00:00.000Z\",\"coreid\":\"api\"}}\n\n")
                .into_bytes(),
        ));
        tokio::time::sleep(gap).await;
    }
    send(Arc::from(&b"event: bench-end\ndata: {}\n\n"[..]));
    let lat = collect(readers).await?;
    Ok((lat, cpu.per(subscribers * events)))
}

/// The whole process's CPU time (user + system, both ends of every stream) over the publish
/// phase, from `/proc/self/stat`: steadier than latency on a machine whose speed drifts, so
/// it is the figure to compare changes by. `None` where there is no procfs.
struct CpuMeter(Option<Duration>);

impl CpuMeter {
    fn start() -> Self {
        CpuMeter(process_cpu())
    }

    /// CPU time per delivery since `start`.
    fn per(&self, deliveries: usize) -> Option<Duration> {
        let spent = process_cpu()?.checked_sub(self.0?)?;
        Some(spent / u32::try_from(deliveries.max(1)).ok()?)
    }
}

fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may hold spaces) start at field 3; utime and
    // stime are fields 14 and 15, in clock ticks (USER_HZ, 100 on Linux).
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 10))
}

/// Where the first `\n\n` starts: a byte scan for `\n`, not a window compare at every offset.
fn frame_end(hay: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = hay[from..].iter().position(|&b| b == b'\n') {
        let at = from + i;
        match hay.get(at + 1) {
            Some(b'\n') => return Some(at),
            Some(_) => from = at + 1,
            None => return None,
        }
    }
    None
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
