//! The web pages in a real browser: starts a server in-process (a user, a connected
//! device) and runs `tests/browser/dashboard.mjs`, which drives Debian's headless Chromium
//! with playwright-core through Build and the console, and saves a screenshot of the console
//! (`target/dashboard.png`, or `$SPARK_MOCK_SCREENSHOT`).
//!
//! Needs `/usr/bin/chromium` (Debian's `chromium`), `node`, and playwright-core in
//! `target/clients` (`npm install --prefix target/clients playwright-core@1`); `.ci/run`
//! installs them. Missing any of them fails the test with the fix, unless
//! `SPARK_MOCK_SKIP_BROWSER=1` says to skip it on purpose.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::fake_device::{connect_fake_device, DEVICE_ID};
use common::helpers::{config, spawn_with_user, PASSWORD, USER};
use spark_mock_server::Profile;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// What the browser test needs, or why it cannot run.
fn prerequisites() -> Result<(PathBuf, PathBuf), String> {
    let chromium = PathBuf::from(
        std::env::var("SPARK_MOCK_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
    );
    if !chromium.exists() {
        return Err(format!(
            "{} is missing: install Debian's chromium (apt-get install -y chromium chromium-driver)",
            chromium.display()
        ));
    }
    let node = Command::new("node").arg("--version").output();
    if !node.is_ok_and(|o| o.status.success()) {
        return Err("node is missing: install Node.js 18 or later".into());
    }
    let clients = std::env::var("SPARK_MOCK_CLIENTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(ROOT).join("target").join("clients"));
    if !clients.join("node_modules/playwright-core").is_dir() {
        return Err(format!(
            "playwright-core is missing from {}: npm install --prefix {} playwright-core@1",
            clients.display(),
            clients.display()
        ));
    }
    Ok((chromium, clients))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_and_the_console_work_in_headless_chromium() {
    if std::env::var("SPARK_MOCK_SKIP_BROWSER").as_deref() == Ok("1") {
        eprintln!("SPARK_MOCK_SKIP_BROWSER=1: the browser test is skipped");
        return;
    }
    let (chromium, clients) = match prerequisites() {
        Ok(p) => p,
        Err(why) => panic!(
            "the browser test cannot run: {why} (or set SPARK_MOCK_SKIP_BROWSER=1 to skip it)"
        ),
    };
    let app = spawn_with_user(config(Profile::Spark2014)).await;
    let _device = connect_fake_device(&app.state, USER, "lamp");
    // Into target/ by default, so a test run leaves the checkout clean; the README's copy is
    // refreshed with SPARK_MOCK_SCREENSHOT=docs/dashboard.png.
    let screenshot = match std::env::var_os("SPARK_MOCK_SCREENSHOT") {
        Some(p) => Path::new(ROOT).join(p),
        None => Path::new(ROOT).join("target").join("dashboard.png"),
    };
    if let Some(dir) = screenshot.parent() {
        std::fs::create_dir_all(dir).expect("screenshot folder");
    }
    let mut cmd = Command::new("node");
    cmd.arg(Path::new(ROOT).join("tests/browser/dashboard.mjs"))
        .arg(&app.base)
        .env("SPARK_MOCK_USER", USER)
        .env("SPARK_MOCK_PASSWORD", PASSWORD)
        .env("SPARK_MOCK_DEVICE", DEVICE_ID)
        .env("SPARK_MOCK_CHROMIUM", &chromium)
        .env("SPARK_MOCK_CLIENTS_DIR", &clients)
        .env("SPARK_MOCK_SCREENSHOT", &screenshot);
    // The server runs on this runtime's other threads while node waits here.
    let run = tokio::task::spawn_blocking(move || cmd.output());
    let out = tokio::time::timeout(Duration::from_secs(180), run)
        .await
        .expect("the browser script finished within 180 s")
        .expect("join")
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "dashboard.mjs failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stdout.contains("-- ok"), "{stdout}");
    let png = std::fs::read(&screenshot).expect("the screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
}
