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

use std::process::ExitCode;

use clap::Parser;

/// glibc's malloc serialises the runtime's worker threads on its arena locks under load
/// (perf showed a fifth of a 2-core busy profile in malloc and free); mimalloc keeps
/// per-thread heaps.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A user error (a missing file, a port in use) is one line on stderr and exit status 1,
/// whatever the environment: returning the error from `main` would print its `Debug` form,
/// a stack trace included when `RUST_BACKTRACE` is set.
#[tokio::main]
async fn main() -> ExitCode {
    let args = cli::Cli::parse();
    telemetry::init(&args.log);
    let done = match args.command {
        cli::Command::Serve(opts) => serve::serve(opts, None).await,
        cli::Command::Demo(opts) => serve::demo(opts).await,
        cli::Command::Sim(opts) => sim::run(opts).await,
        cli::Command::Bench(opts) => bench::run(opts).await,
        cli::Command::Scenario(opts) => scenario::run(opts).await,
    };
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            use std::io::Write as _;
            let _ = writeln!(std::io::stderr(), "error: {}", one_line(&e));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, each cause once: many errors already name their
/// source in their own message ("cannot read seed file x: No such file or directory").
fn one_line(e: &anyhow::Error) -> String {
    let mut line = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !line.contains(&cause) {
            line.push_str(": ");
            line.push_str(&cause);
        }
    }
    line
}
