//! The `spark-mock` binary: `serve --port 0` prints the bound address, serves, and exits 0
//! on SIGTERM after a graceful shutdown; every flag has a `SPARK_MOCK_*` twin.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_spark-mock");
const DEADLINE: Duration = Duration::from_secs(30);

/// A running binary, its stdout lines, and the URL from its "listening on" line.
struct Server {
    child: Option<Child>,
    lines: Receiver<String>,
    base: String,
    banner: String,
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
fn command_for(program: &str, args: &[&str], env: &[(&str, &str)]) -> Command {
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

fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    command_for(BIN, args, env)
}

/// Starts the binary and reads stdout until the banner names the address (no sleeping).
fn start(args: &[&str], env: &[(&str, &str)]) -> Server {
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
    fn terminate(mut self) -> (Option<i32>, Vec<String>) {
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

#[tokio::test]
async fn serve_on_port_0_then_sigterm_exits_0() {
    let server = start(&["serve", "--port", "0"], &[]);
    assert!(
        server.base.starts_with("http://127.0.0.1:"),
        "{}",
        server.banner
    );
    assert!(
        !server.base.ends_with(":0"),
        "the banner must show the bound port: {}",
        server.banner
    );
    assert!(
        server
            .banner
            .contains("(profile spark-2014, token policy single)"),
        "{}",
        server.banner
    );
    let http = reqwest::Client::new();
    let r = http
        .get(format!("{}/server/health", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap(),
        json!({"ok": true})
    );
    // spark-2014 behaviour: an unknown token is 400 invalid_grant.
    let r = http
        .get(format!("{}/v1/user", server.base))
        .bearer_auth("0".repeat(40))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // `http` still holds an idle keep-alive connection: shutdown must not wait for it.
    let (code, rest) = server.terminate();
    assert_eq!(code, Some(0), "stdout after SIGTERM: {rest:?}");
    assert!(rest.iter().any(|l| l == "spark-mock stopped"), "{rest:?}");
}

/// Whoever reads "listening on" may signal at once, so the handler must already be in place.
/// bash's builtin `kill` signals within microseconds of the banner; before the fix most of
/// these runs died from SIGTERM's default action (status 143).
#[test]
fn sigterm_right_after_the_banner_is_still_graceful() {
    let script = r#"for i in 1 2 3 4 5 6 7 8 9 10; do
        coproc S { exec "$0" serve --port 0 2>/dev/null; }
        pid=$S_PID
        read -r banner <&"${S[0]}"
        kill -TERM "$pid"
        wait "$pid"
        echo "exit $?"
    done"#;
    let out = command_for("bash", &["-c", script, BIN], &[])
        .output()
        .expect("bash");
    let text = String::from_utf8_lossy(&out.stdout);
    let exits: Vec<&str> = text.lines().collect();
    assert_eq!(exits, ["exit 0"; 10], "{text}");
}

#[tokio::test]
async fn env_twins_choose_the_profile_and_policy() {
    let server = start(
        &["serve"],
        &[("SPARK_MOCK_PORT", "0"), ("SPARK_MOCK_PROFILE", "particle")],
    );
    assert!(
        server
            .banner
            .contains("(profile particle, token policy multi)"),
        "{}",
        server.banner
    );
    let http = reqwest::Client::new();
    let r = http
        .get(format!("{}/v1/user", server.base))
        .bearer_auth("0".repeat(40))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.text().await.unwrap(),
        r#"{"error":"invalid_token","error_description":"The access token provided is invalid."}"#
    );
    assert_eq!(server.terminate().0, Some(0));

    let server = start(
        &["serve", "--port", "0", "--policy", "per-client"],
        &[("SPARK_MOCK_PROFILE", "particle")],
    );
    assert!(
        server
            .banner
            .contains("(profile particle, token policy per-client)"),
        "{}",
        server.banner
    );
    assert_eq!(server.terminate().0, Some(0));
}

#[test]
fn a_bad_profile_is_a_clear_usage_error() {
    let out = command(
        &["serve", "--port", "0"],
        &[("SPARK_MOCK_PROFILE", "sparkle")],
    )
    .output()
    .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown profile `sparkle`: expected `spark-2014` or `particle`"),
        "{err}"
    );
}
