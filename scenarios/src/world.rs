//! What a run holds ([`World`]): the server and how much of it the runner controls, the
//! simulated cores, the tokens seen and the requests running in the background. The steps
//! act on it; the runner (`runner`) walks the scenario through it.

use std::collections::BTreeMap;
use std::path::Path;

use tokio::task::JoinHandle;

use crate::devices::Sims;
use crate::format::{Scenario, TokenRef};
use crate::http::{Call, Http, Reply};
use crate::local::{self, LocalServer};
use crate::target::{self, Control};
use crate::tokens::{snapshot, Snapshot, Tokens};

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

/// A request running in the background until its `await` step.
pub(crate) struct Background {
    pub task: JoinHandle<Result<Reply, String>>,
    pub started_at: usize,
    pub actor: String,
    pub token: String,
    pub what: String,
}

impl<'a> World<'a> {
    /// Reaches the server (the runner's own when `target` is `None`), prepares a target,
    /// brings the devices online and takes the first token snapshot. What it did goes to
    /// `setup`, one line each.
    pub async fn start(
        sc: &'a Scenario,
        target: Option<&str>,
        admin_token: Option<String>,
        key_dir: &Path,
        setup: &mut Vec<String>,
    ) -> Result<World<'a>, String> {
        let (http, control, local) = match target {
            None => own_server(sc, key_dir, setup).await?,
            Some(url) => target_server(url, admin_token.clone()).await?,
        };
        let mut world = World {
            sc,
            sims: Sims::new(sc, key_dir, admin_token.clone()),
            http,
            control,
            local,
            devices_up: false,
            tokens: Tokens::default(),
            last: Snapshot::new(),
            background: BTreeMap::new(),
            admin_token,
        };
        if world.local.is_none() {
            target::prepare(sc, &world.http, &world.control, setup).await;
        }
        world.start_devices(setup).await?;
        world.last = world.snapshot().await.unwrap_or_default();
        world.tokens.existing(&world.last);
        Ok(world)
    }

    /// Starts the scenario's cores where the runner may; only the runner's own server
    /// makes their failure fatal.
    async fn start_devices(&mut self, setup: &mut Vec<String>) -> Result<(), String> {
        if self.sims.is_empty() {
            return Ok(());
        }
        if let Control::None(why) = &self.control {
            setup.push(format!("devices are not simulated: {why}"));
            return Ok(());
        }
        match self.sims.start(&self.http).await {
            Ok(()) => {
                self.devices_up = true;
                let names: Vec<&str> = self.sc.devices.iter().map(|d| d.name.as_str()).collect();
                setup.push(format!("simulated cores online: {}", names.join(", ")));
            }
            Err(e) if self.local.is_some() => return Err(format!("devices: {e}")),
            Err(e) => setup.push(format!("devices are not simulated: {e}")),
        }
        Ok(())
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

    /// The token a reference names right now, if any.
    pub fn resolve(&self, t: &TokenRef) -> Option<String> {
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

    /// Aborts background requests, stops the devices and the runner's own server.
    pub async fn shutdown(&mut self) {
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

/// The runner's own in-process server, with the cached server key.
async fn own_server(
    sc: &Scenario,
    key_dir: &Path,
    setup: &mut Vec<String>,
) -> Result<(Http, Control, Option<LocalServer>), String> {
    let key = local::server_key(Some(key_dir)).await?;
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
    Ok((http, Control::Local, Some(server)))
}

/// A cloud that is already running, and how much of it the runner can steer.
async fn target_server(
    url: &str,
    admin_token: Option<String>,
) -> Result<(Http, Control, Option<LocalServer>), String> {
    let loopback =
        url.contains("://127.") || url.contains("://localhost") || url.contains("://[::1]");
    let http = Http::new(url, admin_token, loopback)?;
    let control = target::detect(&http).await;
    Ok((http, control, None))
}
