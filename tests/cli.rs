//! The `spark-mock` binary: `serve --port 0` prints the bound address, serves, and exits 0
//! on SIGTERM after a graceful shutdown; every flag has a `SPARK_MOCK_*` twin.

mod common;

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
