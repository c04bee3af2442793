//! Durable password grants: p50/p99 of `POST /oauth/token` with `--state-dir`, after a
//! history of N tokens is already saved. Each grant is an acknowledged write (its journal
//! record is fsynced before the response), so this shows whether a write's cost grows with
//! the history.
//!
//! For each N: a fresh state directory under DIR, N grants made through the state API (the
//! same records the HTTP API would write, without N round trips), the server restarted on
//! it (so the history sits in the snapshot, as after a long run), then the grants measured
//! over HTTP at each concurrency. An in-memory run (no `--state-dir`) comes first as the
//! floor.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use spark_mock_server::domain::db::IssueRequest;
use spark_mock_server::domain::token::{GrantKind, Origin};
use spark_mock_server::seed::{Seed, SeedUser};
use spark_mock_server::{AppState, Config, PolicyKind, Profile};
use tokio::net::TcpListener;

use super::{ms, summarize};

const USER: &str = "bench@spark-mock.local";
const PASSWORD: &str = "bench";

pub async fn run(
    state_dir: &Path,
    sizes: &[usize],
    grants: usize,
    concurrencies: &[usize],
) -> anyhow::Result<()> {
    println!(
        "{:<12} {:>8} {:>11} {:>10} {:>10} {:>10} {:>7}",
        "state", "tokens", "concurrency", "grants/s", "p50", "p99", "errors"
    );
    for &c in concurrencies {
        let state = AppState::with_seed(config(None), &seed())?;
        measure(state, "in memory", 0, grants, c).await?;
    }
    for &n in sizes {
        let dir = state_dir.join(format!("bench-grants-{n}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let started = Instant::now();
        prefill(&dir, n).await?;
        let saved = started.elapsed().as_secs_f64();
        for (i, &c) in concurrencies.iter().enumerate() {
            let state = AppState::with_seed(config(Some(dir.clone())), &seed())?;
            if i == 0 {
                let size = std::fs::metadata(dir.join("state.json")).map_or(0, |m| m.len());
                let held = state.db_read(|db| db.user_tokens(USER).len());
                println!(
                    "  ({n} tokens saved in {saved:.1} s; after a restart state.json holds {held} tokens, {:.1} MB)",
                    size as f64 / 1e6
                );
            }
            measure(state, "--state-dir", n, grants, c).await?;
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(())
}

fn config(state_dir: Option<PathBuf>) -> Config {
    Config {
        password_iterations: 1,
        policy: PolicyKind::Single,
        state_dir,
        ..Config::for_profile(Profile::Spark2014)
    }
}

fn seed() -> Seed {
    Seed {
        users: vec![SeedUser {
            username: USER.into(),
            password: PASSWORD.into(),
            ..SeedUser::default()
        }],
        ..Seed::default()
    }
}

/// Saves a history of `n` tokens (each grant under `single` invalidates the one before),
/// then closes the journal, so the next start folds it all into the snapshot.
async fn prefill(dir: &Path, n: usize) -> anyhow::Result<()> {
    let state = AppState::with_seed(config(Some(dir.to_path_buf())), &seed())?;
    let lifetime = state.token_lifetime();
    for chunk in 0..n.div_ceil(1000) {
        for _ in chunk * 1000..n.min((chunk + 1) * 1000) {
            let now = state.clock().now();
            let req = IssueRequest {
                username: USER.into(),
                client_id: "spark".into(),
                grant: GrantKind::Password,
                scope: None,
                expires_at: Some(now + lifetime),
                refresh_lifetime: None,
                origin: Origin::default(),
            };
            state.db(|db| db.grant(req, PolicyKind::Single, "spark-build", now));
        }
        state.persist().await?;
    }
    state.close_journal();
    Ok(())
}

/// Serves `state` and makes `grants` password grants from `c` concurrent clients.
async fn measure(
    state: AppState,
    label: &str,
    tokens: usize,
    grants: usize,
    c: usize,
) -> anyhow::Result<()> {
    let c = c.max(1);
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/oauth/token", listener.local_addr()?);
    let server = tokio::spawn(spark_mock_server::run(listener, state.clone()));
    let http = super::cloud::client(c)?;
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..c {
        let n = grants / c + usize::from(w < grants % c);
        workers.push(tokio::spawn(worker(http.clone(), url.clone(), n)));
    }
    let (mut all, mut errors) = (Vec::new(), 0);
    for w in workers {
        let (lat, e) = w.await?;
        all.extend(lat);
        errors += e;
    }
    let rate = all.len() as f64 / started.elapsed().as_secs_f64();
    state.shutdown().trigger();
    server.await??;
    state.close_journal();
    match summarize(&mut all) {
        Some(s) => println!(
            "{label:<12} {tokens:>8} {c:>11} {rate:>10.0} {:>10} {:>10} {errors:>7}",
            ms(s.p50),
            ms(s.p99)
        ),
        None => println!(
            "{label:<12} {tokens:>8} {c:>11} {:>10} {:>10} {:>10} {errors:>7}",
            0, "-", "-"
        ),
    }
    Ok(())
}

/// `n` password grants in a row; their latencies and the count of failures.
async fn worker(http: reqwest::Client, url: String, n: usize) -> (Vec<Duration>, u64) {
    let form = [
        ("grant_type", "password"),
        ("username", USER),
        ("password", PASSWORD),
        ("client_id", "spark"),
        ("client_secret", "spark"),
    ];
    let mut lat = Vec::with_capacity(n);
    let mut errors = 0;
    for _ in 0..n {
        let t = Instant::now();
        let ok = match http.post(&url).form(&form).send().await {
            Ok(r) if r.status() == 200 => r.bytes().await.is_ok(),
            _ => false,
        };
        if ok {
            lat.push(t.elapsed());
        } else {
            errors += 1;
        }
    }
    (lat, errors)
}
