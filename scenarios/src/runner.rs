//! Runs a scenario: sets up a server (its own, in-process, or the `--target`), the users and
//! the simulated cores, then every step in order: the action, what happened to tokens
//! (from `/__mock/tokens` before and after), and the checks of its `expect`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::devices::Sims;
use crate::format::{Action, Scenario};
use crate::http::{Call, Http, Reply};
use crate::local::{self, LocalServer};
use crate::steps::{self, Background};
use crate::target::{self, Control};
use crate::tokens::{snapshot, Snapshot, Tokens};
use crate::transcript::{Report, StepRecord};

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
    let mut world = match World::start(sc, opts, &mut report.setup).await {
        Ok(w) => w,
        Err(e) => {
            report.fatal = Some(e);
            report.finish();
            return report;
        }
    };
    for (i, step) in sc.steps.iter().enumerate() {
        let rec = world.step(i + 1, step).await;
        report.steps.push(rec);
    }
    report.timeline = world.tokens.lives().to_vec();
    world.shutdown().await;
    report.finish();
    report
}

/// Everything a run holds: the server, its controls, the devices and the tokens seen.
pub(crate) struct World<'a> {
    pub sc: &'a Scenario,
    pub http: Http,
    pub control: Control,
    pub local: Option<LocalServer>,
    pub sims: Sims,
    /// Whether the scenario's devices are running (not under a foreign target).
    pub devices_up: bool,
    pub tokens: Tokens,
    /// `/__mock/tokens` after the last step.
    pub last: Snapshot,
    pub background: BTreeMap<String, Background>,
    admin_token: Option<String>,
}

impl<'a> World<'a> {
    async fn start(
        sc: &'a Scenario,
        opts: &RunOptions,
        setup: &mut Vec<String>,
    ) -> Result<World<'a>, String> {
        let key_dir = opts.key_dir();
        let (http, control, local) = match &opts.target {
            None => {
                let key = local::server_key(Some(&key_dir)).await?;
                let server = LocalServer::start(sc, key).await?;
                setup.push(format!(
                    "spark-mock in-process on {} (profile {}, token policy {}), devices on {}, state in {}",
                    server.base_url(),
                    sc.profile,
                    sc.policy,
                    server.device_addr,
                    server.state_dir().display()
                ));
                let http = Http::new(&server.base_url(), None, true)?;
                (http, Control::Local, Some(server))
            }
            Some(url) => {
                let loopback = url.contains("://127.")
                    || url.contains("://localhost")
                    || url.contains("://[::1]");
                let http = Http::new(url, opts.admin_token.clone(), loopback)?;
                let control = target::detect(&http).await;
                (http, control, None)
            }
        };
        let mut world = World {
            sc,
            sims: Sims::new(sc, &key_dir, opts.admin_token.clone()),
            http,
            control,
            local,
            devices_up: false,
            tokens: Tokens::default(),
            last: Snapshot::new(),
            background: BTreeMap::new(),
            admin_token: opts.admin_token.clone(),
        };
        if world.local.is_none() {
            target::prepare(&world, setup).await;
        }
        if !world.sims.is_empty() {
            match &world.control {
                Control::None(why) => setup.push(format!("devices are not simulated: {why}")),
                _ => match world.sims.start(&world.http).await {
                    Ok(()) => {
                        world.devices_up = true;
                        let names: Vec<&str> = sc.devices.iter().map(|d| d.name.as_str()).collect();
                        setup.push(format!("simulated cores online: {}", names.join(", ")));
                    }
                    Err(e) if world.local.is_some() => return Err(format!("devices: {e}")),
                    Err(e) => setup.push(format!("devices are not simulated: {e}")),
                },
            }
        }
        world.last = world.snapshot().await.unwrap_or_default();
        world.tokens.existing(&world.last);
        Ok(world)
    }

    /// The scenario's users' tokens on the server, when `/__mock` answers.
    pub async fn snapshot(&self) -> Option<Snapshot> {
        if !self.control.admin() {
            return None;
        }
        let users: Vec<String> = self.sc.users.iter().map(|u| u.email.clone()).collect();
        let body = self.http.admin_json("/__mock/tokens").await.ok()?;
        Some(snapshot(&body, &users))
    }

    async fn step(&mut self, n: usize, step: &crate::format::Step) -> StepRecord {
        let mut rec = StepRecord::new(n, step);
        let device_step = matches!(
            step.action,
            Action::DeviceOffline { .. } | Action::DeviceOnline { .. } | Action::Reconnect { .. }
        );
        let skip = self.control.skip_reason(&step.action).or_else(|| {
            (device_step && !self.devices_up)
                .then(|| "the scenario's devices are not running".to_string())
        });
        if let Some(why) = skip {
            rec.text = steps::plan(self.sc, &step.action);
            rec.skipped = Some(why);
            return rec;
        }
        let before = self.last.clone();
        let same_as = step.expect.same_as.as_ref().map(|t| self.resolve(t));
        let outcome = steps::run(self, n, step, &mut rec).await;
        if rec.skipped.is_some() {
            return rec;
        }
        if let Some(after) = self.snapshot().await {
            let killed = self.tokens.observe(&before, &after, n);
            if killed.is_empty() && steps::quiet_on_tokens(&step.action) {
                rec.effects.push(
                    if after == before {
                        "no token changed"
                    } else {
                        "no token died"
                    }
                    .into(),
                );
            }
            rec.effects.extend(killed);
            self.last = after;
        }
        match outcome {
            Ok(outcome) => {
                steps::expect::check(self, step, &outcome, same_as.flatten(), &before, &mut rec)
                    .await
            }
            Err(e) => rec.error = Some(e),
        }
        rec
    }

    /// The token a reference names right now, if any.
    pub fn resolve(&self, t: &crate::format::TokenRef) -> Option<String> {
        use crate::format::TokenRef;
        match t {
            TokenRef::Actor(a) => self.tokens.latest(a).map(str::to_string),
            TokenRef::Saved(s) => self.tokens.saved(s).map(str::to_string),
            TokenRef::Literal(l) => Some(l.clone()),
        }
    }

    /// Restarts the in-process server from its state directory and waits for the devices.
    pub async fn restart(&mut self) -> Result<String, String> {
        let local = self.local.as_mut().ok_or("no in-process server")?;
        let moved = local.restart().await?;
        let base = local.base_url();
        let dir = local.state_dir().display().to_string();
        self.http = Http::new(&base, self.admin_token.clone(), true)?;
        if self.devices_up {
            if moved {
                self.sims.respawn_all(&self.http).await?;
            } else {
                self.sims.wait_all(&self.http).await?;
            }
        }
        let ports = if moved {
            "on new ports"
        } else {
            "on the same ports"
        };
        Ok(format!(
            "the server restarts from {dir} → back {ports} at {base}"
        ))
    }

    /// Sends an API call and returns the reply (a failed request is an error).
    pub async fn send(&self, call: &Call) -> Result<Reply, String> {
        self.http
            .send(call)
            .await
            .map_err(|e| format!("{} {}: {e}", call.method, call.path))
    }

    async fn shutdown(&mut self) {
        for (_, b) in std::mem::take(&mut self.background) {
            b.task.abort();
        }
        self.sims.shutdown().await;
        if let Some(local) = self.local.as_mut() {
            if let Err(e) = local.stop().await {
                tracing::warn!("{e}");
            }
        }
    }
}
