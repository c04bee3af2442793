//! The web pages in a real browser: starts a server in-process (a user, a connected
//! device) and runs `tests/browser/dashboard.mjs`, which drives headless Chromium with
//! playwright-core through Build and the console, and saves a screenshot of the console
//! (`target/dashboard.png`, or `$SPARK_MOCK_SCREENSHOT`).
//!
//! The browser and playwright-core come from the repository's npm lock file, installed into
//! `target/clients` with the conformance suites' clients (`common::install`): Chromium ships
//! inside the @sparticuz/chromium package, so no root and no apt. `SPARK_MOCK_CHROMIUM`
//! names another Chromium (e.g. Debian's `/usr/bin/chromium`). Missing node or npm fails the
//! test with the fix, unless `SPARK_MOCK_SKIP_BROWSER=1` says to skip it on purpose.

use crate::common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::fake_device::{connect_fake_device, DEVICE_ID};
use common::helpers::{config, spawn_with_user, PASSWORD, USER};
use common::install;
use spark_mock_server::Profile;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const SKIP_VAR: &str = "SPARK_MOCK_SKIP_BROWSER";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_and_the_console_work_in_headless_chromium() {
    if install::skip_requested(SKIP_VAR) {
        install::tell(&format!(
            "build_and_the_console_work_in_headless_chromium: SKIPPED, because {SKIP_VAR} is set"
        ));
        return;
    }
    let clients = tokio::task::spawn_blocking(install::ensure)
        .await
        .expect("install thread")
        .unwrap_or_else(|why| {
            panic!("the browser test cannot run: {why} (or set {SKIP_VAR}=1 to skip it)")
        });
    let browser = install::browser(&clients);
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
        .env("SPARK_MOCK_CHROMIUM", &browser.executable)
        .env("SPARK_MOCK_CLIENTS_DIR", &clients)
        .envs(browser.env.iter().map(|(k, v)| (k, v)))
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
