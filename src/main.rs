//! `spark-mock`: the thin command line over the `spark-mock-server` library.
//!
//! - `cli`: the subcommands and their flags (each flag has a `SPARK_MOCK_*` env twin).
//! - `serve`: binding, the banner and graceful shutdown, shared by `serve` and `demo`.
//! - `telemetry`: logging set-up.

mod cli;
mod serve;
mod telemetry;

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = cli::Cli::parse();
    telemetry::init(&args.log);
    match args.command {
        cli::Command::Serve(opts) => serve::serve(opts, None).await,
        cli::Command::Demo(opts) => serve::demo(opts).await,
    }
}
