//! `spark-mock`: the thin command line over the `spark-mock-server` library.
//!
//! - `bench`: benchmarks that print their figures (fleet, calls, events).
//! - `cli`: the subcommands and their flags (each flag has a `SPARK_MOCK_*` env twin).
//! - `scenario`: `scenario run`, story files with their checks (`spark-mock-scenarios`).
//! - `demo`: the demo's two simulated cores.
//! - `serve`: binding, the banner and graceful shutdown, shared by `serve` and `demo`.
//! - `sim`: the `sim` subcommand, simulated devices from a TOML file (`spark-mock-sim`).
//! - `telemetry`: logging set-up.

mod bench;
mod cli;
mod demo;
mod scenario;
mod serve;
mod sim;
mod telemetry;

use clap::Parser;

/// glibc's malloc serialises the runtime's worker threads on its arena locks under load
/// (perf showed a fifth of a 2-core busy profile in malloc and free); mimalloc keeps
/// per-thread heaps.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = cli::Cli::parse();
    telemetry::init(&args.log);
    match args.command {
        cli::Command::Serve(opts) => serve::serve(opts, None).await,
        cli::Command::Demo(opts) => serve::demo(opts).await,
        cli::Command::Sim(opts) => sim::run(opts).await,
        cli::Command::Bench(opts) => bench::run(opts).await,
        cli::Command::Scenario(opts) => scenario::run(opts).await,
    }
}
