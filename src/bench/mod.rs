//! `spark-mock bench`: benchmarks that print their figures (never pass/fail tests).
//!
//! - `fleet`: a server process and N simulated cores from this process: handshakes per
//!   second, time until all are online, server RSS per connected device.
//! - `calls`: function calls and variable reads through connected cores over HTTP, at
//!   several concurrencies: calls per second, p50 and p99 latency.
//! - `events`: publish-to-receive latency over SSE with many subscribers (`--baseline`: the
//!   same fan-out over bare TCP first).
//! - `grants`: durable password grants with `--state-dir` after histories of N tokens:
//!   p50/p99, so a write's cost can be compared across history sizes.
//!
//! Build with `--profile perf` (release with fat LTO): debug builds are 10-50x slower.

mod calls;
mod cloud;
mod events;
mod fleet;
mod grants;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

#[derive(Args, Debug)]
pub struct BenchOpts {
    #[command(subcommand)]
    pub which: Which,
}

#[derive(Subcommand, Debug)]
pub enum Which {
    /// N cores connect to a separate server process.
    Fleet {
        /// How many simulated cores.
        #[arg(long, default_value_t = 10_000)]
        count: usize,
        /// Concurrent connects + handshakes.
        #[arg(long, default_value_t = 64)]
        max_connecting: usize,
    },
    /// Function calls and variable reads over HTTP through connected cores.
    Calls {
        /// Connected cores the calls are spread over.
        #[arg(long, default_value_t = 8)]
        devices: usize,
        /// Seconds per measurement.
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
        /// Concurrencies to measure.
        #[arg(long, value_delimiter = ',', default_value = "1,64")]
        concurrency: Vec<usize>,
    },
    /// Publish-to-receive latency over SSE.
    Events {
        /// Open event streams.
        #[arg(long, default_value_t = 1000)]
        subscribers: usize,
        /// Events published, one every `gap_ms`.
        #[arg(long, default_value_t = 200)]
        events: usize,
        #[arg(long, default_value_t = 10)]
        gap_ms: u64,
        /// First run the same fan-out over bare TCP, without HTTP or the cloud: this
        /// machine's floor.
        #[arg(long)]
        baseline: bool,
        /// Repeat the whole measurement, then print the p99's spread: on a machine whose
        /// speed drifts, one run says little.
        #[arg(long, default_value_t = 1)]
        runs: usize,
    },
    /// Durable password grants after histories of N saved tokens.
    Grants {
        /// Where each size's fresh state directory is made (and removed after).
        #[arg(long)]
        state_dir: PathBuf,
        /// History sizes: tokens saved before measuring.
        #[arg(long, value_delimiter = ',', default_value = "100,10000")]
        tokens: Vec<usize>,
        /// Password grants measured at each size and concurrency.
        #[arg(long, default_value_t = 1000)]
        grants: usize,
        /// Concurrent clients (several share one fsync).
        #[arg(long, value_delimiter = ',', default_value = "1,8")]
        concurrency: Vec<usize>,
    },
}

pub async fn run(opts: BenchOpts) -> anyhow::Result<()> {
    if cfg!(debug_assertions) {
        println!("note: a debug build; run `cargo run --profile perf -- bench …` for real figures");
    }
    match opts.which {
        Which::Fleet {
            count,
            max_connecting,
        } => fleet::run(count, max_connecting).await,
        Which::Calls {
            devices,
            seconds,
            concurrency,
        } => calls::run(devices, Duration::from_secs_f64(seconds), &concurrency).await,
        Which::Events {
            subscribers,
            events,
            gap_ms,
            baseline,
            runs,
        } => {
            let gap = Duration::from_millis(gap_ms);
            events::run(subscribers, events, gap, baseline, runs).await
        }
        Which::Grants {
            state_dir,
            tokens,
            grants,
            concurrency,
        } => grants::run(&state_dir, &tokens, grants, &concurrency).await,
    }
}

/// Latency summary of a sorted sample.
pub struct Summary {
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

pub fn summarize(samples: &mut [Duration]) -> Option<Summary> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    Some(Summary {
        p50: at(0.50),
        p99: at(0.99),
        max: samples[samples.len() - 1],
    })
}

pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}
