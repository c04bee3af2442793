//! N simulated cores from this process connect to a separate `spark-mock serve` process:
//! handshakes per second, time until all are online, server RSS per connected device.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use spark_mock_sim::{ConnectOptions, DeviceKey, Fleet, KeySource, Provisioner, SimDevice};

/// VmRSS of a process in KiB (Linux).
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

pub async fn run(count: usize, max_connecting: usize) -> anyhow::Result<()> {
    let exe = std::env::current_exe()?;
    let mut child = Command::new(exe)
        .args([
            "serve",
            "--port",
            "0",
            "--device-port",
            "0",
            "--profile",
            "particle",
        ])
        .args(["--password-iterations", "1", "--log", "warn"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot start the server process")?;
    let pid = child.id();
    let stdout = child.stdout.take().context("server stdout")?;
    // Keep reading the server's stdout to the end: a closed pipe would make its next line fail.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening on http://").nth(1) {
                if let Some(addr) = rest.split_whitespace().next() {
                    let _ = tx.send(format!("http://{addr}"));
                }
            }
        }
    });
    let base = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(60)))
        .await?
        .context("the server printed no address")?;
    let result = measure(&base, pid, count, max_connecting).await;
    let _ = child.kill();
    let _ = child.wait();
    result
}

async fn measure(base: &str, pid: u32, count: usize, max_connecting: usize) -> anyhow::Result<()> {
    let provisioner = Provisioner::new(base)?;
    let info = provisioner.device_server().await?;
    // One key for the whole fleet: generating 10,000 RSA keys would measure key generation.
    let key = Arc::new(
        tokio::task::spawn_blocking(|| DeviceKey::generate(&mut rand::rngs::OsRng)).await??,
    );
    let mut specs = Vec::with_capacity(count);
    for i in 0..count {
        let device = SimDevice::builder(&format!("{:024x}", 0xf1ee_0000_u64 + i as u64))
            .key_source(KeySource::Given(key.clone()))
            .function("echo", |arg| arg.len() as i32)
            .variable_int("temp", || 42)
            .build()?;
        specs.push(device.spec().clone());
    }
    let mut opts = ConnectOptions::new(info.address, (*info.server_key).clone());
    opts.provisioner = Some(Arc::new(provisioner));
    opts.quiet = true;
    let rss_before = rss_kib(pid).unwrap_or(0);
    println!(
        "server pid {pid}: RSS {} MiB before any device",
        rss_before / 1024
    );
    let started = Instant::now();
    let fleet = Fleet::spawn(specs, opts, max_connecting, Some(Duration::from_secs(1)))?;
    let mut last_print = Instant::now();
    loop {
        let (online, failed) = (fleet.online(), fleet.failed());
        if online + failed >= count {
            break;
        }
        if last_print.elapsed() >= Duration::from_secs(1) {
            println!("connected {online}/{count}");
            last_print = Instant::now();
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "not all online after 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let elapsed = started.elapsed();
    // Let the server settle (Describe answers, buffers) before reading its memory.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after = rss_kib(pid).unwrap_or(0);
    let online = fleet.online();
    println!(
        "devices online:          {online}/{count} ({} failed)",
        fleet.failed()
    );
    println!("time until all online:   {:.2} s", elapsed.as_secs_f64());
    println!(
        "handshakes per second:   {:.0}",
        online as f64 / elapsed.as_secs_f64()
    );
    println!(
        "server RSS:              {} MiB with {online} devices ({:.1} KiB per device)",
        rss_after / 1024,
        (rss_after.saturating_sub(rss_before)) as f64 / online.max(1) as f64
    );
    fleet.shutdown().await;
    Ok(())
}
