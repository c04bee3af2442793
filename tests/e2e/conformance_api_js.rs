//! Conformance with particle-api-js 12.0.3 (installed from the npm registry into
//! target/clients): `tests/clients/api_js.mjs` drives the library against spark-mock in
//! each profile and asserts exact statuses and bodies, the event stream included
//! (client-dialects.md §3). The script exits non-zero and names the step on any mismatch.
//!
//! Needs Node 20 and npm; `SPARK_MOCK_SKIP_CLIENTS=1` skips (CI never sets it).

use crate::common;

use std::path::Path;

use common::clients::{self, Running, DORMANT_ID, SIM1_ID, SPARE_ID};
use common::helpers::*;
use serde_json::Value;
use spark_mock_server::Profile;

async fn api_js(profile: Profile) {
    let test = format!("api_js({profile})");
    let Some(c) = clients::clients(&test).await else {
        return;
    };
    let cloud = clients::cloud(profile, None).await;
    let app = &cloud.app;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/api_js.mjs");
    let profile_name = profile.to_string();
    let args = [
        app.base.as_str(),
        profile_name.as_str(),
        SIM1_ID,
        SPARE_ID,
        DORMANT_ID,
    ];
    let cmd = c.node(&script, &args);
    let what = format!("node tests/clients/api_js.mjs {}", args.join(" "));
    let out = tokio::task::spawn_blocking(move || Running::spawn(cmd, None, &what).wait())
        .await
        .expect("node thread");
    assert!(
        out.code == Some(0) && out.stderr.is_empty(),
        "the particle-api-js script failed (exit {:?}):\n{}{}",
        out.code,
        out.stdout,
        out.stderr
    );
    let ok = format!("particle-api-js 12.0.3 against {profile}: OK (");
    assert!(
        out.stdout.starts_with(&ok) && out.stdout.ends_with(" checks)\n"),
        "{out:?}"
    );

    // The server saw the library itself: every request carried its User-Agent (the event
    // streams, which the library opens with Node's http module, carry none).
    let journal = app.get_json("/__mock/requests").await;
    let requests = journal["requests"].as_array().expect("requests");
    assert!(requests.len() > 40, "{journal}");
    for r in requests {
        let path = r["path"].as_str().unwrap_or_default();
        let ua = &r["user_agent"];
        if path.contains("/events") && r["method"] == "GET" {
            assert_eq!(ua, &Value::Null, "{r}");
        } else {
            assert_eq!(
                ua, "particle-api-js/12.0.3 (https://github.com/particle-iot/particle-api-js)",
                "{r}"
            );
        }
    }
    // Every token the script was given is dead at the end: logged out or revoked.
    assert!(app.valid_tokens(USER).await.is_empty(), "tokens left valid");
}

#[tokio::test]
async fn particle_api_js_against_particle() {
    api_js(Profile::Particle).await;
}

#[tokio::test]
async fn particle_api_js_against_spark_2014() {
    api_js(Profile::Spark2014).await;
}
