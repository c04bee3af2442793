//! `spark-mock scenario run FILE...`: runs scenario files (see scenarios/README.md) against an
//! in-process spark-mock, or with `--target` against a cloud that is already running, and
//! prints each transcript (or JSON). The exit code is 0 only if every expectation held: 1 when
//! one did not, 2 when a file could not be read or parsed.
//!
//! The runs happen on a thread of their own with a single-threaded runtime, so the server's
//! and the devices' logs can be kept to errors there (`--verbose` shows them at `--log`'s
//! level) without touching the process-wide logger.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use spark_mock_scenarios::{run_file, Report, RunOptions};

#[derive(Args, Debug, Clone)]
pub struct ScenarioOpts {
    #[command(subcommand)]
    pub command: ScenarioCommand,
}

#[derive(Subcommand, Debug, Clone)]
pub enum ScenarioCommand {
    /// Run scenario files and print what happened, step by step.
    Run(RunOpts),
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A numbered transcript with a timeline of every token.
    Text,
    /// A JSON array: one object per scenario with its steps, checks and failures.
    Json,
}

#[derive(Args, Debug, Clone)]
pub struct RunOpts {
    /// Scenario files (TOML).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Run the HTTP steps against this running cloud (e.g. http://127.0.0.1:8080) instead of
    /// an in-process spark-mock. Steps that need control over it are skipped unless it is a
    /// spark-mock; the transcript says which and why.
    #[arg(long, env = "SPARK_MOCK_SCENARIO_TARGET")]
    pub target: Option<String>,
    /// The target spark-mock's admin token (`--admin-token` of its `serve`).
    #[arg(long, env = "SPARK_MOCK_ADMIN_TOKEN")]
    pub admin_token: Option<String>,
    /// Where the server key and the simulated cores' keys are kept between runs (default:
    /// spark-mock-scenario-keys in the system's temporary directory).
    #[arg(long, env = "SPARK_MOCK_SCENARIO_KEY_DIR")]
    pub key_dir: Option<PathBuf>,
    /// Show the server's and the devices' logs (at --log's level), not only errors.
    #[arg(long)]
    pub verbose: bool,
}

pub async fn run(opts: ScenarioOpts) -> anyhow::Result<()> {
    let ScenarioCommand::Run(opts) = opts.command;
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("scenarios".into())
        .spawn(move || {
            let _quiet = (!opts.verbose).then(|| {
                let quiet = tracing_subscriber::fmt()
                    .with_env_filter(tracing_subscriber::EnvFilter::new("error"))
                    .with_target(false)
                    .with_writer(std::io::stderr)
                    .finish();
                tracing::subscriber::set_default(quiet)
            });
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            let _ = tx.send(runtime.map(|rt| rt.block_on(run_all(&opts))));
        })
        .context("cannot start the scenario thread")?;
    let code = rx
        .await
        .context("the scenario thread failed")?
        .context("cannot start a runtime")?;
    if code != 0 {
        std::process::exit(code);
    }
    Ok(())
}

/// Runs every file in order, printing text transcripts as they finish; the exit code.
async fn run_all(opts: &RunOpts) -> i32 {
    let run_opts = RunOptions {
        target: opts.target.clone(),
        admin_token: opts.admin_token.clone(),
        key_dir: opts.key_dir.clone(),
    };
    let mut reports: Vec<Report> = Vec::new();
    for file in &opts.files {
        let report = run_file(file, &run_opts).await;
        if opts.format == Format::Text {
            let mut out = std::io::stdout().lock();
            if report.name.is_empty() {
                if let Some(e) = &report.fatal {
                    eprintln!("error: {e}");
                }
            } else {
                let _ = writeln!(out, "{}", report.text());
            }
            let _ = out.flush();
        }
        reports.push(report);
    }
    let broken = reports.iter().filter(|r| r.name.is_empty()).count();
    let failed = reports.iter().filter(|r| !r.passed).count() - broken;
    match opts.format {
        Format::Json => println!("{}", spark_mock_scenarios::transcript::json(&reports)),
        Format::Text if reports.len() > 1 => {
            let passed = reports.len() - failed - broken;
            let broken = if broken > 0 {
                format!(", {broken} unreadable")
            } else {
                String::new()
            };
            println!(
                "{} scenarios: {passed} passed, {failed} failed{broken}",
                reports.len()
            );
        }
        Format::Text => {}
    }
    if broken > 0 {
        2
    } else if failed > 0 {
        1
    } else {
        0
    }
}
