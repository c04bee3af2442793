//! The forum thread's race, made exact: twenty concurrent password grants for one user
//! under `single` leave exactly one valid token, and the history says why each other died.

use crate::common;

use std::collections::{HashMap, HashSet};

use common::helpers::*;
use reqwest::Method;
use serde_json::Value;
use spark_mock_server::{Config, PolicyKind, Profile};

// Server handlers run on two worker threads, so the grants really race.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_grants_under_single_leave_one_valid_token() {
    let app = spawn_with_user(Config {
        policy: PolicyKind::Single,
        ..config(Profile::Spark2014)
    })
    .await;
    let clients = ["spark-ios", "spark-android", "spark-cli", "python-app"];
    let grants = (0..20).map(|i| {
        let (app, client) = (&app, clients[i % clients.len()]);
        async move { app.login(client, "secret").await }
    });
    let issued: Vec<String> = futures_util::future::join_all(grants).await;
    assert_eq!(
        issued.iter().collect::<HashSet<_>>().len(),
        20,
        "a token was issued twice"
    );

    let valid = app.valid_tokens(USER).await;
    assert_eq!(valid.len(), 1, "{valid:?}");
    let history = app.tokens_of(USER).await;
    assert_eq!(history.len(), 20);
    let by_token: HashMap<&str, &Value> = history
        .iter()
        .map(|h| (h["token"].as_str().unwrap(), h))
        .collect();
    for h in history.iter().filter(|h| h["token"] != valid[0].as_str()) {
        assert_eq!(h["status"], "invalidated");
        // Each death names the grant that caused it: its client and the moment it was issued.
        let successor = by_token[h["invalidated"]["replaced_by"]
            .as_str()
            .expect("replaced_by")];
        let expected = format!(
            "replaced by a password grant from client {} at {}",
            successor["client"].as_str().unwrap(),
            successor["issued"]["at"].as_str().unwrap()
        );
        assert_eq!(h["invalidated"]["reason"], expected.as_str());
        // And never before the token itself was issued.
        let (issued, died) = (h["issued"]["at"].as_str(), h["invalidated"]["at"].as_str());
        assert!(issued <= died, "issued {issued:?}, invalidated {died:?}");
    }
    // The survivor is the last one issued (timestamps have millisecond resolution).
    let at = |h: &Value| h["issued"]["at"].as_str().unwrap().to_string();
    let newest = history.iter().map(at).max().unwrap();
    assert_eq!(at(by_token[valid[0].as_str()]), newest);
    let rb = app
        .req(Method::GET, "/v1/access_tokens")
        .basic_auth(USER, Some(PASSWORD));
    let listed = app.send(rb).await.json;
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    assert_eq!(listed[0]["token"], valid[0].as_str());
}
