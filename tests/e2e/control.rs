//! The admin API's inspection and control over HTTP: `/__mock/state`, reset to the seed
//! (keeping or dropping devices), reload of the seed file, the request journal, and the
//! loopback / admin-token guard.

use crate::common;

use common::helpers::*;
use reqwest::Method;
use serde_json::json;
use spark_mock_server::seed::{Seed, SeedDevice, SeedUser};
use spark_mock_server::{AppState, Config, Profile};

fn seeded(profile: Profile, seed: &str) -> Config {
    let dir = temp_dir("seed");
    let path = dir.join("seed.toml");
    std::fs::write(&path, seed).unwrap();
    Config {
        seed_file: Some(path),
        ..config(profile)
    }
}

const SEED: &str = r#"
[[users]]
username = "user@example.com"
password = "secret"
"#;

#[tokio::test]
async fn state_lists_users_tokens_devices_streams_and_faults() {
    let app = spawn_app(seeded(Profile::Particle, SEED)).await;
    let token = app.login("particle", "particle").await;
    app.state.devices().upsert("0123456789abcdef01234567", |d| {
        d.owner = Some(USER.into());
        d.name = Some("sim1".into());
    });
    app.mock_post(
        "/__mock/faults",
        json!({"route": "/v1/devices", "fault": "delay", "ms": 1}),
    )
    .await;
    let stream = app
        .http
        .get(app.url("/v1/devices/events"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let s = app.get_json("/__mock/state").await;
    assert_eq!(s["profile"], "particle");
    assert_eq!(s["policy"], "multi");
    assert_eq!(s["users"][0]["username"], USER);
    assert_eq!(s["users"][0]["valid_tokens"], 1);
    assert_eq!(s["tokens"][0]["token"], token.as_str());
    assert_eq!(s["tokens"][0]["status"], "valid");
    assert_eq!(s["devices"][0]["name"], "sim1");
    assert_eq!(s["devices"][0]["online"], false);
    assert_eq!(s["connections"], 0);
    assert_eq!(s["subscriptions"].as_array().unwrap().len(), 1, "{s}");
    assert_eq!(s["subscriptions"][0]["route"], "/v1/devices/events");
    assert_eq!(s["subscriptions"][0]["user"], USER);
    assert_eq!(s["faults"][0]["fault"], "delay");
    drop(stream);
}

#[tokio::test]
async fn reset_returns_to_the_seed_and_can_keep_devices() {
    let app = spawn_app(seeded(Profile::Spark2014, SEED)).await;
    let token = app.login("spark", "spark").await;
    app.signup("other@example.com", "pw").await;
    app.advance_clock(3600).await;
    app.set_policy("multi").await;
    app.state
        .devices()
        .upsert("0123456789abcdef01234567", |d| d.owner = Some(USER.into()));

    let r = app
        .send(
            app.req(Method::POST, "/__mock/reset")
                .json(&json!({"keep_devices": true})),
        )
        .await;
    expect(&r, 200, json!({"ok": true, "kept_devices": true}));
    assert!(
        !app.works(&token).await,
        "tokens issued after start are gone"
    );
    let s = app.get_json("/__mock/state").await;
    let users: Vec<&str> = s["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(users, [USER]);
    assert_eq!(s["policy"], "single");
    assert_eq!(s["clock"]["offset_secs"], 0);
    assert_eq!(s["devices"].as_array().unwrap().len(), 1);
    assert!(
        app.login("spark", "spark").await.len() == 40,
        "seed user logs in again"
    );

    let r = app.send(app.req(Method::POST, "/__mock/reset")).await;
    expect(&r, 200, json!({"ok": true, "kept_devices": false}));
    assert!(app.get_json("/__mock/state").await["devices"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn reload_reads_new_users_from_the_seed_file() {
    let config = seeded(Profile::Spark2014, SEED);
    let path = config.seed_file.clone().unwrap();
    let app = spawn_app(config).await;
    let token = app.login("spark", "spark").await;
    std::fs::write(
        &path,
        format!("{SEED}\n[[users]]\nusername = \"new@example.com\"\npassword = \"pw2\"\n"),
    )
    .unwrap();
    let r = app.send(app.req(Method::POST, "/__mock/reload")).await;
    expect(&r, 200, json!({"ok": true, "added_users": 1}));
    app.login_user("new@example.com", "pw2", "spark", "spark")
        .await;
    assert!(app.works(&token).await, "a reload keeps existing tokens");
    std::fs::write(&path, "[[users]]\nusername = 1\n").unwrap();
    let r = app.send(app.req(Method::POST, "/__mock/reload")).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(
        r.json["error"].as_str().unwrap().contains("seed.toml"),
        "{}",
        r.text
    );
}

/// What the seed is given in code (the demo's user and cores) stays part of it: a reload of
/// the file keeps it, and a reset after the reload registers the devices again.
#[tokio::test]
async fn a_reload_keeps_the_seed_given_in_code_and_a_reset_restores_it() {
    let config = seeded(Profile::Spark2014, SEED);
    let mut seed = Seed::from_file(config.seed_file.as_ref().unwrap()).unwrap();
    seed.users.push(SeedUser {
        username: "builtin@example.com".into(),
        password: "pw".into(),
        builtin: true,
        ..SeedUser::default()
    });
    seed.devices.push(SeedDevice {
        id: "0123456789abcdef01234567".into(),
        public_key_pem: "the core's key".into(),
        owner: Some("builtin@example.com".into()),
        name: Some("core".into()),
    });
    let app = spawn_state(AppState::with_seed(config, &seed).unwrap()).await;
    let r = app.send(app.req(Method::POST, "/__mock/reload")).await;
    expect(&r, 200, json!({"ok": true, "added_users": 0}));
    let r = app.send(app.req(Method::POST, "/__mock/reset")).await;
    expect(&r, 200, json!({"ok": true, "kept_devices": false}));
    let s = app.get_json("/__mock/state").await;
    let users: Vec<&str> = s["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(users, ["builtin@example.com", USER], "{s}");
    let d = app.state.devices().get("0123456789abcdef01234567");
    let d = d.expect("the seeded device is registered again");
    assert_eq!(
        (
            d.owner.as_deref(),
            d.name.as_deref(),
            d.public_key_pem.as_deref()
        ),
        (
            Some("builtin@example.com"),
            Some("core"),
            Some("the core's key")
        )
    );
}

#[tokio::test]
async fn the_journal_records_who_did_what_and_why_a_token_was_refused() {
    let app = spawn_with_user(config(Profile::Spark2014)).await;
    let old = app.login("python", "x").await;
    let _new = app.login("spark-ios", "x").await;
    let r = app.get_bearer("/v1/user", &old).await;
    assert_eq!(r.status, 400);
    let j = app.get_json("/__mock/requests").await;
    let entries = j["requests"].as_array().unwrap();
    let last = entries.last().unwrap();
    assert_eq!(last["method"], "GET");
    assert_eq!(last["path"], "/v1/user");
    assert_eq!(last["status"], 400);
    assert_eq!(last["token"], format!("{}…", &old[..8]));
    assert_eq!(last["client"], "python");
    assert_eq!(last["user"], USER);
    let why = last["rejected"].as_str().unwrap();
    assert!(
        why.starts_with("replaced by a password grant from client spark-ios"),
        "{why}"
    );
    assert!(last["duration_ms"].as_f64().unwrap() >= 0.0);
    let grant = &entries[entries.len() - 2];
    assert_eq!(
        (
            grant["method"].as_str(),
            grant["path"].as_str(),
            grant["client"].as_str()
        ),
        (Some("POST"), Some("/oauth/token"), Some("spark-ios"))
    );
    assert!(entries
        .iter()
        .all(|e| !e["path"].as_str().unwrap().starts_with("/__mock")));

    let r = app.send(app.req(Method::DELETE, "/__mock/requests")).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        app.get_json("/__mock/requests").await["requests"],
        json!([])
    );
}

#[tokio::test]
async fn route_faults_answer_errors_reproducibly_and_show_in_the_journal() {
    let app = spawn_with_user(config(Profile::Particle)).await;
    let token = app.login("particle", "particle").await;
    let f = app
        .mock_post(
            "/__mock/faults",
            json!({"route": "/v1/user", "method": "GET", "fault": "error", "status": 503}),
        )
        .await;
    let id = f["fault"]["id"].as_u64().unwrap();
    let r = app.get_bearer("/v1/user", &token).await;
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(r.json["ok"], false);
    let j = app.get_json("/__mock/requests").await;
    let last = j["requests"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["status"], 503);
    assert!(
        last["fault"]
            .as_str()
            .unwrap()
            .starts_with(&format!("#{id}")),
        "{last}"
    );
    assert_eq!(app.get_json("/__mock/faults").await["faults"][0]["hits"], 1);
    let r = app
        .send(app.req(Method::DELETE, &format!("/__mock/faults/{id}")))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(app.get_bearer("/v1/user", &token).await.status, 200);

    // "Error with probability p" follows the seeded generator: the same seed, the same run.
    let mut runs = vec![];
    for _ in 0..2 {
        let app = spawn_with_user(config(Profile::Particle)).await;
        let token = app.login("particle", "particle").await;
        app.mock_post(
            "/__mock/faults",
            json!({"route": "/v1/user", "fault": "error", "status": 500, "probability": 0.5}),
        )
        .await;
        let mut seen = vec![];
        for _ in 0..24 {
            seen.push(app.get_bearer("/v1/user", &token).await.status);
        }
        assert!(seen.contains(&500) && seen.contains(&200), "{seen:?}");
        runs.push(seen);
    }
    assert_eq!(runs[0], runs[1]);
    let r = app_bad_fault().await;
    assert_eq!(r.status, 400, "{}", r.text);
}

async fn app_bad_fault() -> Reply {
    let app = spawn_app(config(Profile::Particle)).await;
    app.send(
        app.req(Method::POST, "/__mock/faults")
            .json(&json!({"route": "/v1/user", "fault": "explode"})),
    )
    .await
}

#[tokio::test]
async fn sse_streams_are_cut_after_n_events() {
    let app = spawn_with_user(config(Profile::Particle)).await;
    let token = app.login("particle", "particle").await;
    app.mock_post(
        "/__mock/faults",
        json!({"route": "/v1/devices/events", "fault": "cut_sse", "after_events": 2}),
    )
    .await;
    let resp = app
        .http
        .get(app.url("/v1/devices/events"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    for i in 0..3 {
        let r = app
            .send(
                app.req(Method::POST, "/v1/devices/events")
                    .bearer_auth(&token)
                    .json(&json!({"name": format!("e{i}")})),
            )
            .await;
        assert_eq!(r.status, 200);
    }
    let body = tokio::time::timeout(std::time::Duration::from_secs(10), resp.text())
        .await
        .expect("the stream ends by itself")
        .unwrap();
    assert!(body.starts_with(":ok\n\n"), "{body}");
    assert!(
        body.contains("event: e0\n") && body.contains("event: e1\n"),
        "{body}"
    );
    assert!(!body.contains("event: e2"), "{body}");
}

#[tokio::test]
async fn the_admin_api_answers_loopback_only_unless_given_a_token() {
    use axum::body::Body;
    use axum::extract::ConnectInfo;
    use tower::ServiceExt;

    let remote = |ip: &str| ConnectInfo(std::net::SocketAddr::new(ip.parse().unwrap(), 4000));
    let request = |ip: &str, token: Option<&str>| {
        let mut b = axum::http::Request::get("/__mock/state");
        if let Some(t) = token {
            b = b.header("x-admin-token", t);
        }
        let mut req = b.body(Body::empty()).unwrap();
        req.extensions_mut().insert(remote(ip));
        req
    };
    let state = spark_mock_server::AppState::new(config(Profile::Particle)).unwrap();
    let app = spark_mock_server::app(state);
    assert_eq!(
        app.clone()
            .oneshot(request("127.0.0.1", None))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        app.clone()
            .oneshot(request("10.1.2.3", None))
            .await
            .unwrap()
            .status(),
        403
    );

    let cfg = Config {
        admin_token: Some("s3cret".into()),
        ..config(Profile::Particle)
    };
    let app = spark_mock_server::app(spark_mock_server::AppState::new(cfg).unwrap());
    assert_eq!(
        app.clone()
            .oneshot(request("10.1.2.3", Some("s3cret")))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        app.clone()
            .oneshot(request("127.0.0.1", None))
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        app.clone()
            .oneshot(request("10.1.2.3", Some("wrong")))
            .await
            .unwrap()
            .status(),
        401
    );
}
