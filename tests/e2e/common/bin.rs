//! Runs the `spark-mock` binary as a user would: with a clean environment, reading its
//! stdout for the "listening on" banner instead of sleeping.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_spark-mock");
pub const DEADLINE: Duration = Duration::from_secs(30);

/// A running binary, its stdout lines, and the URL from its "listening on" line.
pub struct Server {
    pub child: Option<Child>,
    pub lines: Receiver<String>,
    pub base: String,
    pub banner: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The binary (or `program`) with no `SPARK_MOCK_*` or `RUST_LOG` from the outer
/// environment, plus `env`.
pub fn command_for(program: &str, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(args);
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("SPARK_MOCK_") || k == "RUST_LOG")
    {
        cmd.env_remove(k);
    }
    // Never the shared default device port (5683): tests run side by side.
    cmd.env("SPARK_MOCK_DEVICE_PORT", "0");
    cmd.envs(env.iter().copied());
    cmd
}

pub fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    command_for(BIN, args, env)
}

/// Starts the binary and reads stdout until the banner names the address (no sleeping).
pub fn start(args: &[&str], env: &[(&str, &str)]) -> Server {
    let mut child = command(args, env)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, lines) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut server = Server {
        child: Some(child),
        lines,
        base: String::new(),
        banner: String::new(),
    };
    loop {
        let line = server
            .lines
            .recv_timeout(DEADLINE)
            .expect("no \"listening on\" line");
        if let Some(rest) = line.split("listening on http://").nth(1) {
            let addr = rest.split_whitespace().next().unwrap();
            server.base = format!("http://{addr}");
            server.banner = line;
            return server;
        }
    }
}

impl Server {
    /// Sends SIGTERM and returns the exit code and the rest of stdout.
    pub fn terminate(mut self) -> (Option<i32>, Vec<String>) {
        let mut child = self.child.take().unwrap();
        let pid = child.id();
        let sent = Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("kill");
        assert!(sent.success());
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait());
        });
        let status = rx.recv_timeout(DEADLINE).unwrap_or_else(|_| {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("no exit within {DEADLINE:?} of SIGTERM");
        });
        let rest = self.lines.iter().collect();
        (status.expect("wait").code(), rest)
    }
}
