//! The report: the transcript's shape, the JSON for machines, and a failed expectation.

mod support;

use std::path::Path;

use serde_json::Value;
use spark_mock_scenarios::{parse_str, run, transcript};

use support::{opts, story};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_transcript_numbers_steps_and_says_which_token_died_and_why() {
    let report = story("a-phone-login-kills-script-token.toml").await;
    let text = report.text();
    let line3 = text.lines().find(|l| l.starts_with("3. ")).expect("step 3");
    assert!(
        line3.starts_with("3. phone (spark-ios) logs in as marcel@example.com → 200, new token "),
        "{line3}"
    );
    assert!(line3.contains("; killed python's "), "{line3}");
    assert!(
        line3.contains("(replaced by a password grant from client spark-ios at "),
        "{line3}"
    );
    let timeline = text.split("Timeline:\n").nth(1).expect("timeline");
    assert!(
        timeline
            .lines()
            .next()
            .unwrap()
            .contains("died at step 3: replaced by"),
        "{timeline}"
    );
    assert!(
        text.contains("PASS: 5 steps, 12 checks, 0 failed"),
        "{text}"
    );

    let json: Value = serde_json::from_str(&transcript::json(&[report])).expect("json");
    let one = &json[0];
    assert_eq!(one["passed"], true);
    assert_eq!(one["failures"], serde_json::json!([]));
    assert_eq!(one["steps"].as_array().map(Vec::len), Some(5));
    assert_eq!(one["steps"][2]["kind"], "login");
    assert_eq!(one["steps"][2]["status"], 200);
    assert!(one["steps"][2]["effects"][0]
        .as_str()
        .unwrap()
        .starts_with("killed python's"));
    assert_eq!(
        one["steps"][3]["checks"][0],
        serde_json::json!({"ok": true, "what": "status 400"})
    );
    assert_eq!(one["timeline"][0]["holder"], "python");
    assert_eq!(one["timeline"][0]["died_at_step"], 3);
}

const WRONG: &str = r#"
name = "a wrong belief"
[[user]]
email = "marcel@example.com"
password = "pw"
[[actor]]
name = "python"
client = "python-script"
[[actor]]
name = "phone"
client = "spark-ios"
[[step]]
do = "login"
actor = "python"
[[step]]
do = "login"
actor = "phone"
expect = { valid = ["python"] }
[[step]]
do = "list"
actor = "python"
expect = { status = 200 }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expectation_that_does_not_hold_fails_the_scenario() {
    let sc = parse_str(WRONG, "wrong.toml", Path::new(".")).expect("parses");
    let report = run(&sc, &opts()).await;
    let text = report.text();
    assert!(!report.passed, "{text}");
    assert_eq!(report.failures.len(), 2, "{text}");
    assert!(
        report.failures[0].starts_with("step 2 (line 15): expected python's "),
        "{text}"
    );
    assert!(
        report.failures[0].contains(
            " is valid: it is invalidated: replaced by a password grant from client spark-ios"
        ),
        "{text}"
    );
    assert!(
        report.failures[1].starts_with("step 3 (line 19): expected status 200: got 400"),
        "{text}"
    );
    assert!(
        text.contains("   ✗ expected status 200 — got 400"),
        "{text}"
    );
    assert!(text.contains("FAIL: 3 steps, 2 checks, 2 failed"), "{text}");
}
