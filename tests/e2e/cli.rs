//! The `spark-mock` binary: `serve --port 0` prints the bound address, serves, and exits 0
//! on SIGTERM after a graceful shutdown; every flag has a `SPARK_MOCK_*` twin.

use crate::common;

use common::bin::*;
use serde_json::json;
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

/// SIGHUP re-reads the seed file, like `POST /__mock/reload`, and the server keeps serving.
#[tokio::test]
async fn sighup_reloads_the_seed_file() {
    let dir = common::helpers::temp_dir("sighup");
    let seed = dir.join("seed.toml");
    std::fs::write(
        &seed,
        "[[users]]\nusername = \"a@example.com\"\npassword = \"pw\"\n",
    )
    .unwrap();
    let path = seed.display().to_string();
    let server = start(
        &[
            "serve",
            "--port",
            "0",
            "--seed",
            &path,
            "--password-iterations",
            "1",
        ],
        &[],
    );
    std::fs::write(
        &seed,
        "[[users]]\nusername = \"a@example.com\"\npassword = \"pw\"\n[[users]]\nusername = \"b@example.com\"\npassword = \"pw2\"\n",
    )
    .unwrap();
    let pid = server.child.as_ref().unwrap().id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap()
        .success());
    let http = reqwest::Client::new();
    let form = [
        ("grant_type", "password"),
        ("username", "b@example.com"),
        ("password", "pw2"),
        ("client_id", "spark"),
        ("client_secret", "spark"),
    ];
    // The reload runs on the server's own task; poll for it, bounded.
    let mut status = 0;
    for _ in 0..100 {
        status = http
            .post(format!("{}/oauth/token", server.base))
            .form(&form)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status, 200, "the new seed user can log in after SIGHUP");
    let (code, _) = server.terminate();
    assert_eq!(code, Some(0));
}

/// A user error is one line on stderr and exit status 1, even with `RUST_BACKTRACE` set: no
/// stack trace, no `Debug` dump.
#[test]
fn user_errors_are_one_line_without_a_backtrace() {
    let missing = common::helpers::temp_dir("missing").join("seed.toml");
    let path = missing.display().to_string();
    let out = command(
        &["serve", "--port", "0", "--seed", &path],
        &[("RUST_BACKTRACE", "1")],
    )
    .output()
    .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("error: cannot read seed file {path}: No such file or directory (os error 2)\n")
    );

    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    let out = command(&["demo", "--port", &port], &[("RUST_BACKTRACE", "full")])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let prefix = format!("error: cannot listen on 127.0.0.1:{port}: ");
    assert!(
        err.starts_with(&prefix) && err.lines().count() == 1,
        "one line, no backtrace: {err}"
    );
}
