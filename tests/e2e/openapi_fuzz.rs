//! Fuzzes the OpenAPI document of `GET /__mock/openapi.json` with schemathesis (PyPI,
//! pinned in `common::fuzz`), per profile, against a server on loopback port 0 seeded with
//! a user and a never-expiring token, owning a simulated core that is online (functions,
//! variables of each type) and one that is offline: every response must be documented
//! (status, content type, headers, body schema) and none may be a server error. Prints
//! the case count. `SPARK_MOCK_SKIP_FUZZ=1` skips it (no python3 or PyPI).

use crate::common;

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::clients::Running;
use common::fuzz::{self, SKIP_VAR};
use common::helpers::{config, temp_dir, TestApp};
use common::install::{skip_requested, tell};
use serde_json::Value;
use spark_mock_server::{Config, Profile};
use spark_mock_sim::{Behaviour, DeviceHandle, SimDevice};

const TOKEN: &str = "f0221234567890abcdef1234567890abcdef0001";
const USER: &str = "fuzz@example.com";
/// The demo's `coffee` core, whose id and names the document gives as examples.
const ONLINE: &str = "5ee0de7000000000000c0ffe";
const OFFLINE: &str = "f022000000000000000000b2";
/// Cases per operation and phase; about 15 s per profile on an idle 2-core machine.
/// `SPARK_MOCK_FUZZ_EXAMPLES=N` fuzzes harder (and the run limit grows with it).
const MAX_EXAMPLES: u64 = 25;
/// A run of `MAX_EXAMPLES` that takes longer is killed and fails the test.
const RUN_LIMIT: Duration = Duration::from_secs(150);

fn max_examples() -> u64 {
    std::env::var("SPARK_MOCK_FUZZ_EXAMPLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(MAX_EXAMPLES)
}

/// Operations left out of the fuzz run, and why. Event streams (marked
/// `x-spark-mock-stream` in the document) are left out too: they never end.
const LEFT_OUT: &[(&str, &str)] = &[
    ("DELETE /v1/user", "deletes the fuzzing account"),
    (
        "PUT /v1/user",
        "`invalidate_tokens` kills the fuzzing token",
    ),
    ("DELETE /v1/access_tokens", "revokes the fuzzing token"),
    (
        "DELETE /v1/access_tokens/current",
        "revokes the fuzzing token",
    ),
    (
        "POST /__mock/users/{username}/reset-token",
        "replaces the fuzzing token (schemathesis learns the username from GET /v1/user)",
    ),
    (
        "PUT /__mock/users/{username}/mfa",
        "may kill the fuzzing token",
    ),
    (
        "DELETE /__mock/users/{username}/mfa",
        "its twin is left out",
    ),
    (
        "POST /__mock/faults",
        "injects delays and errors into the routes being fuzzed",
    ),
];

/// Left out in the particle profile only: a publish fires the webhooks the fuzzer created,
/// at URLs it made up, which would leave loopback. spark-2014 has no webhooks.
/// And without auth there, the token in the path is its own proof: schemathesis finds the
/// fuzzing token in `/__mock/tokens` and revokes it.
const PARTICLE_LEFT_OUT: &[&str] = &[
    "POST /v1/devices/events",
    "DELETE /v1/access_tokens/{token}",
];

fn seed(dir: &std::path::Path) -> String {
    let path = dir.join("seed.toml");
    let text = format!(
        "[[users]]\nusername = \"{USER}\"\npassword = \"fuzz-password\"\n\n\
         [[users.tokens]]\ntoken = \"{TOKEN}\"\nexpires_in = 0\n"
    );
    std::fs::write(&path, text).expect("seed file");
    path.display().to_string()
}

/// "2682 generated, 2682 passed" → 2682.
fn case_count(output: &str) -> Option<u64> {
    output
        .lines()
        .find(|l| l.contains(" generated,"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// The cloud for one profile, with its two cores; `reached` counts the calls and reads
/// that got to the online one.
async fn cloud(profile: Profile, seed: String, reached: Arc<AtomicU32>) -> (TestApp, DeviceHandle) {
    let app = common::devices::spawn_cloud(Config {
        seed_file: Some(seed.into()),
        device_timeout: Duration::from_secs(2),
        ..config(profile)
    })
    .await;
    let count = move |r: &Arc<AtomicU32>| {
        r.fetch_add(1, Ordering::Relaxed);
    };
    let (r1, r2, r3) = (reached.clone(), reached.clone(), reached);
    let core = SimDevice::builder(ONLINE)
        .name("coffee")
        .function("brew", move |arg| {
            count(&r1);
            if arg.is_empty() {
                -1
            } else {
                1
            }
        })
        .function_behaviour("len", Behaviour::ArgLength)
        .variable_double("temperature", move || {
            count(&r2);
            21.5
        })
        .variable_int("cups", || 3)
        .variable_bool("door", || true)
        .variable_string("status", move || {
            count(&r3);
            "ok".to_string()
        });
    let handle = app.add_device(core, Some(USER)).await;
    let pem = common::devices::device_key().public_pem().expect("pem");
    app.state.devices().provision(OFFLINE, &pem);
    app.state.devices().upsert(OFFLINE, |d| {
        d.owner = Some(USER.to_string());
        d.name = Some("sleepy".to_string());
    });
    (app, handle)
}

fn fuzz(schemathesis: &std::path::Path, profile: Profile, name: &str) -> u64 {
    let dir = temp_dir(&format!("fuzz-{name}"));
    let seed = seed(&dir);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let reached = Arc::new(AtomicU32::new(0));
    let (server, core) = rt.block_on(cloud(profile, seed, reached.clone()));
    let doc = spark_mock_server::openapi::document(profile);
    let mut left_out: Vec<String> = LEFT_OUT.iter().map(|(op, _)| op.to_string()).collect();
    if profile == Profile::Particle {
        left_out.extend(PARTICLE_LEFT_OUT.iter().map(|s| s.to_string()));
    }
    for item in doc["paths"]
        .as_object()
        .into_iter()
        .flat_map(|p| p.values())
    {
        for op in item.as_object().into_iter().flat_map(|m| m.values()) {
            if op["x-spark-mock-stream"] == Value::Bool(true) {
                left_out.push(op["operationId"].as_str().unwrap_or_default().to_string());
            }
        }
    }
    let examples = max_examples();
    let mut cmd = Command::new(schemathesis);
    cmd.current_dir(&dir)
        .env("NO_COLOR", "1")
        .arg("run")
        .arg(format!("{}/__mock/openapi.json", server.base))
        .args(["--url", &server.base])
        .args(["--header", &format!("Authorization: Bearer {TOKEN}")])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,\
             response_headers_conformance,response_schema_conformance",
        ])
        .args(["--max-examples", &examples.to_string()])
        .args(["--request-timeout", "20"])
        .args(["--suppress-health-check", "all"])
        .arg("--no-color");
    for op in &left_out {
        cmd.arg(format!("--exclude-operation-id={op}"));
    }
    let limit = RUN_LIMIT * u32::try_from(examples.div_ceil(MAX_EXAMPLES)).unwrap_or(u32::MAX);
    let out = Running::spawn(cmd, None, "schemathesis run").wait_for(limit);
    let output = format!("{}\n{}", out.stdout, out.stderr);
    assert!(
        !out.timed_out,
        "{name}: schemathesis did not finish within {limit:?}:\n{output}"
    );
    assert_eq!(
        out.code,
        Some(0),
        "{name}: schemathesis found failures (or could not run):\n{output}"
    );
    let cases = case_count(&output).unwrap_or_else(|| panic!("no case count in:\n{output}"));
    assert!(cases > 1000, "{name}: only {cases} cases:\n{output}");
    assert!(
        reached.load(Ordering::Relaxed) > 0,
        "{name}: no case reached the simulated core:\n{output}"
    );
    let total: usize = doc["paths"]
        .as_object()
        .map(|p| {
            p.values()
                .filter_map(Value::as_object)
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0);
    tell(&format!(
        "openapi fuzz ({name}): {cases} cases, 0 failures, {} of {total} operations, {} \
         reached the simulated core (schemathesis {})",
        total - left_out.len(),
        reached.load(Ordering::Relaxed),
        fuzz::VERSION
    ));
    drop(core);
    drop(server);
    drop(rt);
    let _ = std::fs::remove_dir_all(&dir);
    cases
}

#[test]
fn schemathesis_finds_no_undocumented_response_and_no_server_error() {
    if skip_requested(SKIP_VAR) {
        tell(&format!(
            "openapi_fuzz: SKIPPED, because {SKIP_VAR} is set (schemathesis not run)"
        ));
        return;
    }
    let schemathesis = fuzz::ensure().unwrap_or_else(|e| panic!("{e}"));
    let spark = fuzz(&schemathesis, Profile::Spark2014, "spark-2014");
    let particle = fuzz(&schemathesis, Profile::Particle, "particle");
    tell(&format!(
        "openapi fuzz: {} cases in both profiles",
        spark + particle
    ));
}
