//! Runs a scenario: sets up a server (its own, in-process, or the `--target`), the users and
//! the simulated cores, then every step in order: the action, what happened to tokens
//! (from `/__mock/tokens` before and after), and the checks of its `expect`.

use std::path::{Path, PathBuf};

use crate::format::{Action, Scenario, Step};
use crate::steps;
use crate::tokens::Snapshot;
use crate::transcript::{Report, StepRecord};
use crate::world::World;

/// How to run: against the runner's own server (the default) or a target.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// A cloud that is already running (`http://host:port`). Steps that need control over
    /// it are skipped unless it is a spark-mock.
    pub target: Option<String>,
    /// `X-Admin-Token` for a target spark-mock started with `--admin-token`.
    pub admin_token: Option<String>,
    /// Where the server key and device keys are cached between runs (default: a directory
    /// under the system's temporary directory).
    pub key_dir: Option<PathBuf>,
}

impl RunOptions {
    fn key_dir(&self) -> PathBuf {
        self.key_dir
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join("spark-mock-scenario-keys"))
    }
}

/// Parses and runs one file. A file that does not parse gives a report with its error.
pub async fn run_file(path: impl AsRef<Path>, opts: &RunOptions) -> Report {
    match crate::parse_file(path.as_ref()) {
        Ok(sc) => run(&sc, opts).await,
        Err(e) => Report::unparsable(&path.as_ref().display().to_string(), &e),
    }
}

/// Runs a parsed scenario.
pub async fn run(sc: &Scenario, opts: &RunOptions) -> Report {
    let mut report = Report::new(sc);
    let key_dir = opts.key_dir();
    let target = opts.target.as_deref();
    let admin_token = opts.admin_token.clone();
    let mut world = match World::start(sc, target, admin_token, &key_dir, &mut report.setup).await {
        Ok(w) => w,
        Err(e) => {
            report.fatal = Some(e);
            report.finish();
            return report;
        }
    };
    for (i, step) in sc.steps.iter().enumerate() {
        let rec = run_step(&mut world, i + 1, step).await;
        report.steps.push(rec);
    }
    report.timeline = world.tokens.lives().to_vec();
    world.shutdown().await;
    report.finish();
    report
}

/// One step: skipped when the target cannot run it, else its action, what happened to
/// the tokens, and its checks.
async fn run_step(w: &mut World<'_>, n: usize, step: &Step) -> StepRecord {
    let mut rec = StepRecord::new(n, step);
    if let Some(why) = skip_reason(w, &step.action) {
        rec.text = steps::plan(w.sc, &step.action);
        rec.skipped = Some(why);
        return rec;
    }
    let before = w.last.clone();
    let same_as = step.expect.same_as.as_ref().map(|t| w.resolve(t));
    let outcome = steps::run(w, n, step, &mut rec).await;
    if rec.skipped.is_some() {
        return rec;
    }
    observe_tokens(w, n, &step.action, &before, &mut rec).await;
    match outcome {
        Ok(outcome) => {
            steps::expect::check(w, step, &outcome, same_as.flatten(), &before, &mut rec).await
        }
        Err(e) => rec.error = Some(e),
    }
    rec
}

/// Why `action` cannot run against this server, or with these devices.
fn skip_reason(w: &World<'_>, action: &Action) -> Option<String> {
    let device_step = matches!(
        action,
        Action::DeviceOffline { .. } | Action::DeviceOnline { .. } | Action::Reconnect { .. }
    );
    w.control.skip_reason(action).or_else(|| {
        (device_step && !w.devices_up).then(|| "the scenario's devices are not running".to_string())
    })
}

/// Compares `/__mock/tokens` with the snapshot `before` the step: the tokens that died are
/// the step's effects (or that none did, where that is worth saying).
async fn observe_tokens(
    w: &mut World<'_>,
    n: usize,
    action: &Action,
    before: &Snapshot,
    rec: &mut StepRecord,
) {
    let Some(after) = w.snapshot().await else {
        return;
    };
    let killed = w.tokens.observe(before, &after, n);
    if killed.is_empty() && steps::quiet_on_tokens(action) {
        rec.effects.push(
            if after == *before {
                "no token changed"
            } else {
                "no token died"
            }
            .into(),
        );
    }
    rec.effects.extend(killed);
    w.last = after;
}
