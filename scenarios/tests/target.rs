//! `--target`: the same HTTP steps against a server started separately. A spark-mock is
//! steered through `/__mock` (only the restart is skipped); a cloud whose `/__mock` is out of
//! reach gets the API steps only, and the report says which steps were skipped and why.

mod support;

use std::path::PathBuf;
use std::sync::Arc;

use spark_mock_protocol::ServerKey;
use spark_mock_scenarios::{parse_str, run, run_file, RunOptions};
use spark_mock_server::TriggerOnDrop;
use spark_mock_server::{AppState, Config};
use tokio::net::TcpListener;

use support::{opts, story_path};

/// The server key the runner caches (generated here first if this test runs first).
fn server_key() -> Arc<ServerKey> {
    let dir = opts().key_dir.expect("key dir");
    let path = dir.join("server_key.pem");
    if let Some(key) = std::fs::read(&path)
        .ok()
        .and_then(|b| ServerKey::load(&b).ok())
    {
        return Arc::new(key);
    }
    Arc::new(ServerKey::generate(&mut rand::rngs::OsRng).expect("server key"))
}

/// A spark-mock with a device port, started apart from the runner; stops when dropped.
async fn spawn_cloud(admin_token: Option<&str>) -> (String, TriggerOnDrop) {
    spawn_cloud_with(Config::default(), admin_token).await
}

async fn spawn_cloud_with(base: Config, admin_token: Option<&str>) -> (String, TriggerOnDrop) {
    let config = Config {
        password_iterations: 1,
        server_key: Some(server_key()),
        admin_token: admin_token.map(str::to_string),
        ..base
    };
    let state = AppState::new(config).expect("state");
    let http = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let devices = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", http.local_addr().expect("addr"));
    let stop = state.shutdown().trigger_on_drop();
    tokio::spawn(spark_mock_server::run_with_devices(
        http,
        Some(devices),
        state,
    ));
    (url, stop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_spark_mock_runs_everything_but_the_restart() {
    let (url, _stop) = spawn_cloud(None).await;
    let o = RunOptions {
        target: Some(url.clone()),
        ..opts()
    };
    let report = run_file(story_path("j-restart-keeps-tokens.toml"), &o).await;
    let text = report.text();
    println!("{text}");
    assert!(report.passed, "{text}");
    assert_eq!(report.skipped.len(), 1, "{text}");
    assert!(
        report.skipped[0]
            .starts_with("step 3 (restart-server): restarting needs the runner's own server"),
        "{text}"
    );
    assert!(
        text.contains("3. [skipped] the server restarts: restarting needs"),
        "{text}"
    );
    assert!(
        text.contains(&format!("target {url}: a spark-mock")),
        "{text}"
    );
    assert!(
        text.contains("signed up marcel@example.com → 200"),
        "{text}"
    );
    // The token story is told from the target's own history.
    assert!(text.contains("killed python's"), "{text}");

    // The seed story too, devices included: the cores connect to the target's device port.
    let report = run_file(story_path("a-phone-login-kills-script-token.toml"), &o).await;
    assert!(report.passed, "{}", report.text());
    assert!(report.skipped.is_empty());
}

const MFA_USER: &str = r#"
name = "A user with multi-factor login on a target"
profile = "particle"

[[user]]
email = "erin@example.com"
password = "second-factor"
mfa_otp = "314159"

[[actor]]
name = "cli"
client = "particle"

[[step]]
do = "login"
actor = "cli"
expect = { status = 403, error = "mfa_required" }

[[step]]
do = "login"
actor = "cli"
otp = "314159"
expect = { status = 200, token = "new" }

[[step]]
do = "enable-mfa"
user = "erin@example.com"
otp = "271828"
invalidate_tokens = true
expect = { invalid = ["cli"] }

[[step]]
do = "login"
actor = "cli"
otp = "271828"
expect = { status = 200, token = "new", valid = ["cli"] }
"#;

/// Against a spark-mock target, `mfa_otp` users get multi-factor login through `/__mock`
/// after sign-up, and `enable-mfa` runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_spark_mock_gets_mfa_users() {
    let particle = Config::for_profile(spark_mock_server::Profile::Particle);
    let (url, _stop) = spawn_cloud_with(particle, None).await;
    let o = RunOptions {
        target: Some(url),
        ..opts()
    };
    let sc = parse_str(MFA_USER, "mfa.toml", &PathBuf::from(".")).expect("parses");
    let report = run(&sc, &o).await;
    let text = report.text();
    assert!(report.passed, "{text}");
    assert!(
        text.contains(
            "multi-factor login for erin@example.com (PUT /__mock/users/erin@example.com/mfa) → 200"
        ),
        "{text}"
    );
}

const FOREIGN: &str = r#"
name = "API steps only"
profile = "spark-2014"
policy = "single"

[[user]]
email = "dave@example.com"
password = "rest-client"

[[actor]]
name = "python"
client = "python-script"

[[actor]]
name = "phone"
client = "spark-ios"

[[device]]
id = "53ff6f065067544840551187"
name = "core"

[[step]]
do = "login"
actor = "python"
expect = { status = 200, token = "new" }

[[step]]
do = "list"
actor = "python"
expect = { status = 200 }

[[step]]
do = "advance-clock"
days = 91

[[step]]
do = "reset-token"
user = "dave@example.com"

[[step]]
do = "device-offline"
device = "core"

[[step]]
do = "login"
actor = "phone"
expect = { status = 200, token = "new", valid = ["phone"], invalid = ["python"] }

[[step]]
do = "list"
actor = "python"
expect = { status = 400, error = "invalid_grant" }

[[step]]
do = "check"
[step.expect.history.python]
status = "invalidated"

[[step]]
do = "restart-server"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_cloud_gets_the_api_steps_and_the_rest_is_reported_skipped() {
    // A spark-mock whose admin API wants a token the runner does not have stands for any
    // other cloud: /__mock/health does not answer 200.
    let (url, _stop) = spawn_cloud(Some("not-for-the-runner")).await;
    let sc = parse_str(FOREIGN, "foreign.toml", &PathBuf::from(".")).expect("parses");
    let report = run(
        &sc,
        &RunOptions {
            target: Some(url),
            ..opts()
        },
    )
    .await;
    let text = report.text();
    println!("{text}");
    assert!(report.passed, "{text}");
    let skipped: Vec<&str> = report.skipped.iter().map(String::as_str).collect();
    assert_eq!(skipped.len(), 3, "{text}");
    for (n, kind) in [(3, "advance-clock"), (5, "device-offline")] {
        let prefix = format!("step {n} ({kind}): needs control over the server through /__mock");
        assert!(
            skipped.iter().any(|s| s.starts_with(&prefix)),
            "{prefix}\n{text}"
        );
    }
    assert!(
        skipped
            .iter()
            .any(|s| s.starts_with("step 9 (restart-server): restarting needs")),
        "{text}"
    );
    // Reset Token needs no control: it goes through the Build pages, as a person would.
    assert!(
        text.contains("4. dave@example.com presses Reset Token on the Settings page"),
        "{text}"
    );
    assert!(
        text.contains("devices are not simulated: the target is not a spark-mock"),
        "{text}"
    );
    assert!(text.contains("(probed with GET /v1/devices)"), "{text}");
    assert!(text.contains("(skipped: needs /__mock/tokens)"), "{text}");
    // With nothing from /__mock, the timeline knows a token died only from its refusal.
    assert!(
        text.contains("died at step 7: refused: invalid_grant"),
        "{text}"
    );

    // With its admin token the same server is a spark-mock the runner can steer.
    let (url, _stop2) = spawn_cloud(Some("admin-secret")).await;
    let o = RunOptions {
        target: Some(url.clone()),
        admin_token: Some("admin-secret".into()),
        ..opts()
    };
    let sc = parse_str(LOGIN_ONLY, "login.toml", &PathBuf::from(".")).expect("parses");
    let report = run(&sc, &o).await;
    let text = report.text();
    assert!(report.passed && report.skipped.is_empty(), "{text}");
    assert!(
        text.contains(&format!("target {url}: a spark-mock")),
        "{text}"
    );
}

const LOGIN_ONLY: &str = r#"
name = "login"
[[user]]
email = "x@example.com"
password = "pw"
[[actor]]
name = "python"
client = "python-script"
[[step]]
do = "login"
actor = "python"
[[step]]
do = "advance-clock"
days = 91
expect = { invalid = ["python"] }
[[step]]
do = "check"
[step.expect.history.python]
status = "expired"
"#;
