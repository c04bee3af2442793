//! The real clients of the conformance suite, particle-cli 3.43.1 and particle-api-js 12.0.3
//! (client-dialects.md §2, §3): installed from the repository's npm lock file into
//! `target/clients` once (`install`), and run as bounded child processes.
//!
//! Node 20 and npm are required. Without them, or when the registry cannot be reached,
//! every conformance test fails with a message that says so; `SPARK_MOCK_SKIP_CLIENTS=1`
//! is the explicit opt-out (CI never sets it).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::install;

pub const SKIP_VAR: &str = "SPARK_MOCK_SKIP_CLIENTS";
/// The longest any one client process may run before it is killed and the test fails.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// The installed clients.
#[derive(Clone, Debug)]
pub struct Clients {
    /// `target/clients`, the npm prefix.
    pub dir: PathBuf,
}

impl Clients {
    pub fn node_modules(&self) -> PathBuf {
        self.dir.join("node_modules")
    }

    /// `target/clients/node_modules/.bin/particle`.
    pub fn particle(&self) -> PathBuf {
        self.node_modules().join(".bin").join("particle")
    }

    /// `node <script> <args>` with `NODE_PATH` pointing at the installed packages.
    pub fn node(&self, script: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new("node");
        cmd.arg(script)
            .args(args)
            .env("NODE_PATH", self.node_modules())
            .env("TZ", "UTC");
        cmd
    }
}

/// The clients, installing them first if needed (see `install`); `None` when the user opted
/// out with `SPARK_MOCK_SKIP_CLIENTS=1` (the caller returns early, and the skip is said on
/// stderr). Panics with a clear message when Node, npm or the registry is missing.
pub async fn clients(test: &str) -> Option<Clients> {
    if install::skip_requested(SKIP_VAR) {
        install::tell(&format!(
            "{test}: SKIPPED, because {SKIP_VAR} is set (no real clients run)"
        ));
        return None;
    }
    let found = tokio::task::spawn_blocking(install::ensure)
        .await
        .expect("install thread");
    match found {
        Ok(dir) => Some(Clients { dir }),
        Err(msg) => panic!("{msg}"),
    }
}

/// What a finished client process printed, with ANSI escape sequences removed.
#[derive(Clone, Debug)]
pub struct Output {
    /// The exit code; `None` when it was killed.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
    pub what: String,
}

impl Output {
    /// Asserts the exit code, stdout and stderr exactly.
    #[track_caller]
    pub fn expect(&self, code: i32, stdout: &str, stderr: &str) {
        assert_eq!(
            (self.code, self.stdout.as_str(), self.stderr.as_str()),
            (Some(code), stdout, stderr),
            "`{}`: exit code, stdout, stderr",
            self.what
        );
    }

    /// Asserts a successful run.
    #[track_caller]
    pub fn expect_ok(&self, stdout: &str) {
        self.expect(0, stdout, "");
    }
}

/// Removes CSI sequences (`ESC [ params final`): the CLI's spinner writes `ESC[2K ESC[1G`
/// even when its output is not a terminal, and its prompts move the cursor.
pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            } else {
                chars.next();
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// A client process in the background. Dropping it kills the process.
pub struct Running {
    child: Option<Child>,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
    what: String,
}

fn reader(mut r: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

impl Running {
    /// Starts `cmd` with piped output and `stdin` written to it (or no stdin at all).
    pub fn spawn(mut cmd: Command, stdin: Option<&str>, what: &str) -> Running {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{what}`: {e}"));
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes())
                .unwrap_or_else(|e| panic!("`{what}`: writing stdin: {e}"));
        }
        let stdout = child.stdout.take().map(reader);
        let stderr = child.stderr.take().map(reader);
        Running {
            child: Some(child),
            stdout,
            stderr,
            what: what.to_string(),
        }
    }

    /// Waits at most `limit`, killing the process when it runs longer.
    pub fn wait_for(mut self, limit: Duration) -> Output {
        let mut child = self.child.take().expect("running");
        let deadline = Instant::now() + limit;
        let mut timed_out = false;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() >= deadline => {
                    timed_out = true;
                    let _ = child.kill();
                    break child.wait().ok();
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => panic!("`{}`: waiting: {e}", self.what),
            }
        };
        let join = |h: Option<JoinHandle<String>>| {
            h.map(|h| h.join().unwrap_or_default())
                .map(|s| strip_ansi(&s))
                .unwrap_or_default()
        };
        Output {
            code: if timed_out {
                None
            } else {
                status.and_then(|s| s.code())
            },
            stdout: join(self.stdout.take()),
            stderr: join(self.stderr.take()),
            timed_out,
            what: self.what.clone(),
        }
    }

    /// Waits at most [`TIMEOUT`]; a process that runs longer is killed and fails the test.
    pub fn wait(self) -> Output {
        let out = self.wait_for(TIMEOUT);
        assert!(
            !out.timed_out,
            "`{}` did not finish within {} s and was killed\n--- stdout:\n{}\n--- stderr:\n{}",
            out.what,
            TIMEOUT.as_secs(),
            out.stdout,
            out.stderr
        );
        out
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// One particle-cli identity: its own HOME (and so its own `~/.particle`), pointed at a
/// spark-mock URL with `particle config set apiUrl`.
#[derive(Debug)]
pub struct Cli {
    pub home: PathBuf,
    bin: PathBuf,
}

impl Cli {
    /// A fresh HOME named after `label` with no settings at all.
    pub fn blank(clients: &Clients, label: &str) -> Cli {
        Cli {
            home: super::helpers::temp_dir(&format!("cli-{label}")),
            bin: clients.particle(),
        }
    }

    /// A fresh HOME pointed at `api`: the `~/.particle/particle.config.json` that
    /// `particle config set apiUrl <api>` writes (the session test runs that command once;
    /// the other identities save the second it takes).
    pub fn new(clients: &Clients, label: &str, api: &str) -> Cli {
        let cli = Cli::blank(clients, label);
        cli.write_config(&serde_json::json!({ "apiUrl": api }));
        cli
    }

    /// A fresh HOME whose stored login is `token` for `USER`, as a CLI left with a token
    /// that has since become invalid.
    pub fn with_stored_token(clients: &Clients, label: &str, api: &str, token: &str) -> Cli {
        let cli = Cli::blank(clients, label);
        cli.write_config(&serde_json::json!({
            "apiUrl": api,
            "access_token": token,
            "username": super::helpers::USER,
        }));
        cli
    }

    fn write_config(&self, config: &serde_json::Value) {
        let dir = self.home.join(".particle");
        std::fs::create_dir_all(&dir).expect("~/.particle");
        std::fs::write(dir.join("particle.config.json"), config.to_string())
            .expect("particle.config.json");
    }

    /// `particle <args>` as a command: this HOME, no update checks, dates in UTC.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.args(args)
            .env("HOME", &self.home)
            .env("PARTICLE_DISABLE_UPDATE", "true")
            .env("TZ", "UTC")
            .env_remove("FORCE_COLOR");
        cmd
    }

    fn what(args: &[&str]) -> String {
        format!("particle {}", args.join(" "))
    }

    /// Starts `particle <args>` in the background.
    pub fn spawn(&self, args: &[&str]) -> Running {
        Running::spawn(self.command(args), None, &Self::what(args))
    }

    /// Runs `particle <args>` to the end (bounded by [`TIMEOUT`]) with no stdin.
    pub async fn particle(&self, args: &[&str]) -> Output {
        self.particle_stdin(args, None).await
    }

    /// Runs `particle <args>` with `stdin` typed in.
    pub async fn particle_stdin(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let cmd = self.command(args);
        let what = Self::what(args);
        let stdin = stdin.map(str::to_string);
        tokio::task::spawn_blocking(move || Running::spawn(cmd, stdin.as_deref(), &what).wait())
            .await
            .expect("client thread")
    }

    /// `~/.particle/particle.config.json`.
    pub fn config(&self) -> serde_json::Value {
        let path = self.home.join(".particle").join("particle.config.json");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// The access token this CLI stored at login.
    pub fn token(&self) -> String {
        self.config()["access_token"]
            .as_str()
            .expect("a stored access_token")
            .to_string()
    }
}

impl Drop for Cli {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.home);
        }
    }
}

/// The conformance cloud's devices: `sim1` online and owned, a spare online unclaimed
/// device, and `dormant`, owned and offline with its Describe cached.
pub const SIM1_ID: &str = "0123456789abcdef01234567";
pub const SPARE_ID: &str = "0123456789abcdef01234568";
pub const DORMANT_ID: &str = "0123456789abcdef01234569";
/// A second user with multi-factor login (particle profile), and the code it accepts.
pub const MFA_USER: &str = "mfa@example.com";
pub const MFA_OTP: &str = "123456";
/// A never-expiring token for `USER` from the seed file.
pub const SEED_TOKEN: &str = "5eed000000000000000000000000000000000001";

/// A cloud started in-process (HTTP and device port on port 0) from a seed file with the
/// user `USER`/`PASSWORD` and `SEED_TOKEN`, with the devices above connected through the
/// real protocol.
pub struct Cloud {
    pub app: super::helpers::TestApp,
    /// The owned core (flash tests read its status); held so it stays connected.
    pub sim1: spark_mock_sim::DeviceHandle,
    /// Held so the spare core stays connected while the cloud is in use.
    _spare: spark_mock_sim::DeviceHandle,
    seed_dir: PathBuf,
}

impl Drop for Cloud {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.seed_dir);
    }
}

pub async fn cloud(
    profile: spark_mock_server::Profile,
    policy: Option<spark_mock_server::PolicyKind>,
) -> Cloud {
    use super::helpers::{config, temp_dir, PASSWORD, USER};
    use spark_mock_sim::SimDevice;

    let seed_dir = temp_dir("conformance-seed");
    let seed = seed_dir.join("seed.toml");
    std::fs::write(
        &seed,
        format!(
            "[[users]]\nusername = \"{USER}\"\npassword = \"{PASSWORD}\"\n\n\
             [[users.tokens]]\ntoken = \"{SEED_TOKEN}\"\nclient = \"spark\"\nexpires_in = 0\n\n\
             [[users]]\nusername = \"{MFA_USER}\"\npassword = \"{PASSWORD}\"\n\
             mfa_otp = \"{MFA_OTP}\"\n"
        ),
    )
    .expect("seed file");
    let base = config(profile);
    let config = spark_mock_server::Config {
        seed_file: Some(seed),
        // An online device that does not answer fails after this; an offline one at once.
        device_timeout: Duration::from_secs(2),
        policy: policy.unwrap_or(base.policy),
        ..base
    };
    let app = super::devices::spawn_cloud(config).await;
    let sim1 = SimDevice::builder(SIM1_ID)
        .name("sim1")
        .function("led", |arg| i32::from(arg == "on"))
        .variable_int("temp", || 42)
        .variable_double("humidity", || 51.5)
        .variable_bool("door", || true)
        .variable_string("status", || "ok".to_string());
    let sim1 = app.add_device(sim1, Some(USER)).await;
    let dormant = SimDevice::builder(DORMANT_ID)
        .name("dormant")
        .function("led", |_| 1)
        .variable_int("temp", || 7);
    let dormant = app.add_device(dormant, Some(USER)).await;
    dormant.shutdown().await;
    app.wait_device(DORMANT_ID, "offline", |d| !d.online).await;
    let spare = app
        .add_device(SimDevice::builder(SPARE_ID).name("spare"), None)
        .await;
    Cloud {
        app,
        sim1,
        _spare: spare,
        seed_dir,
    }
}
