//! `--state-dir`: users, tokens with their history, clients, policy and devices survive a
//! restart, and every acknowledged token survives `kill -9` under concurrent grant load.

use crate::common;

use std::sync::{Arc, Mutex};

use common::bin::*;
use common::helpers::*;
use serde_json::json;
use spark_mock_server::{Config, Profile};

#[tokio::test]
async fn a_restart_brings_back_tokens_history_clients_policy_and_devices() {
    let dir = temp_dir("restart");
    let cfg = || Config {
        state_dir: Some(dir.clone()),
        ..config(Profile::Particle)
    };
    let (old, new, client_id) = {
        let app = spawn_with_user(cfg()).await;
        let old = app.login("particle", "particle").await;
        app.set_policy("single").await;
        let new = app.login("CLI2", "client_secret_here").await;
        assert!(!app.works(&old).await);
        let r = app
            .send(
                app.req(reqwest::Method::POST, "/v1/clients")
                    .bearer_auth(&new)
                    .json(&json!({"name": "My App", "type": "installed"})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        app.state.devices().upsert("0123456789abcdef01234567", |d| {
            d.owner = Some(USER.into());
            d.name = Some("sim1".into());
        });
        app.state.persist().await.unwrap();
        (
            old,
            new,
            r.json["client"]["id"].as_str().unwrap().to_string(),
        )
    };
    let app = spawn_app(cfg()).await;
    assert!(
        app.works(&new).await,
        "an acknowledged token survives the restart"
    );
    let h = app.history(&old).await;
    assert_eq!(h["status"], "invalidated");
    assert!(
        h["death"]
            .as_str()
            .unwrap()
            .starts_with("replaced by a password grant from client CLI2"),
        "{h}"
    );
    assert!(
        h["rejected_uses"].as_array().unwrap().len() == 1,
        "the refused use was kept: {h}"
    );
    assert_eq!(app.get_json("/__mock/policy").await["policy"], "single");
    let clients = app.get_bearer("/v1/clients", &new).await;
    assert_eq!(clients.json["clients"][0]["id"], client_id.as_str());
    let d = app
        .state
        .devices()
        .get("0123456789abcdef01234567")
        .expect("device kept");
    assert_eq!((d.name.as_deref(), d.online), (Some("sim1"), false));
    let files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(files.contains(&"state.json".to_string()), "{files:?}");
}

#[tokio::test]
async fn without_a_state_dir_a_fresh_start_is_a_clean_slate() {
    let token = {
        let app = spawn_with_user(config(Profile::Spark2014)).await;
        app.login("spark", "spark").await
    };
    let app = spawn_app(config(Profile::Spark2014)).await;
    assert!(!app.works(&token).await);
    assert!(app.get_json("/__mock/state").await["users"]
        .as_array()
        .unwrap()
        .is_empty());
}

/// Twenty times: grants from eight concurrent clients, then SIGKILL at a different moment;
/// the restarted server must read its state and know every token it acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_load_never_loses_an_acknowledged_token() {
    let dir = temp_dir("kill9");
    let seed = dir.join("seed.toml");
    std::fs::write(
        &seed,
        format!("[[users]]\nusername = \"{USER}\"\npassword = \"{PASSWORD}\"\n"),
    )
    .unwrap();
    let state_dir = dir.join("state");
    let args = |port: &str| {
        vec![
            "serve".to_string(),
            "--port".into(),
            port.into(),
            "--state-dir".into(),
            state_dir.display().to_string(),
            "--seed".into(),
            seed.display().to_string(),
            "--password-iterations".into(),
            "1".into(),
        ]
    };
    let http = reqwest::Client::new();
    let mut acknowledged: Vec<String> = Vec::new();
    for round in 0..20u32 {
        let a = args("0");
        let argv: Vec<&str> = a.iter().map(String::as_str).collect();
        let mut server = start(&argv, &[("SPARK_MOCK_LOG", "warn")]);
        let base = server.base.clone();
        // Everything acknowledged before this round must still be there.
        for t in &acknowledged {
            let r = http
                .get(format!("{base}/__mock/tokens/{t}"))
                .send()
                .await
                .unwrap();
            assert_eq!(
                r.status(),
                200,
                "round {round}: acknowledged token {t} lost"
            );
        }
        let state = http
            .get(format!("{base}/__mock/state"))
            .send()
            .await
            .unwrap();
        assert_eq!(state.status(), 200, "round {round}: state unreadable");
        let acked = Arc::new(Mutex::new(Vec::<String>::new()));
        let mut workers = Vec::new();
        for w in 0..8 {
            let (http, base, acked) = (http.clone(), base.clone(), acked.clone());
            workers.push(tokio::spawn(async move {
                for _ in 0..200 {
                    let form = [
                        ("grant_type", "password"),
                        ("username", USER),
                        ("password", PASSWORD),
                        ("client_id", if w % 2 == 0 { "spark" } else { "python" }),
                        ("client_secret", "x"),
                    ];
                    let Ok(r) = http
                        .post(format!("{base}/oauth/token"))
                        .form(&form)
                        .send()
                        .await
                    else {
                        return;
                    };
                    if r.status() != 200 {
                        return;
                    }
                    let Ok(body) = r.json::<serde_json::Value>().await else {
                        return;
                    };
                    if let Some(t) = body["access_token"].as_str() {
                        acked.lock().unwrap().push(t.to_string());
                    }
                }
            }));
        }
        // Kill at a different point each round, mid-load.
        let target = 3 + (round as usize * 7) % 40;
        let deadline = std::time::Instant::now() + DEADLINE;
        while acked.lock().unwrap().len() < target && std::time::Instant::now() < deadline {
            tokio::task::yield_now().await;
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        let mut child = server.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        for w in workers {
            let _ = w.await;
        }
        let got = acked.lock().unwrap().clone();
        assert!(
            got.len() >= target.min(1),
            "round {round}: no grant was acknowledged"
        );
        acknowledged.extend(got);
    }
    let a = args("0");
    let argv: Vec<&str> = a.iter().map(String::as_str).collect();
    let server = start(&argv, &[("SPARK_MOCK_LOG", "warn")]);
    let state: serde_json::Value = http
        .get(format!("{}/__mock/state", server.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let known: std::collections::HashSet<&str> = state["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["token"].as_str())
        .collect();
    let lost: Vec<&String> = acknowledged
        .iter()
        .filter(|t| !known.contains(t.as_str()))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged tokens lost",
        lost.len(),
        acknowledged.len()
    );
    let valid = state["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["status"] == "valid")
        .count();
    assert_eq!(
        valid, 1,
        "single policy: exactly one valid token after all the crashes"
    );
}

/// A password grant answered `mfa_required`; its `mfa_token`.
async fn mfa_challenge(app: &TestApp) -> String {
    let r = app.password_grant("particle", "particle", &[]).await;
    assert_eq!(r.status, 403, "{}", r.text);
    r.json["mfa_token"].as_str().unwrap_or_default().to_string()
}

async fn recovery_grant(app: &TestApp, code: &str) -> Reply {
    let mfa_token = mfa_challenge(app).await;
    app.grant(&[
        ("grant_type", "urn:custom:recovery-code"),
        ("mfa_token", &mfa_token),
        ("recovery_code", code),
        ("client_id", "particle"),
        ("client_secret", "particle"),
    ])
    .await
}

/// Multi-factor login survives a restart, and so does a spent recovery code.
#[tokio::test]
async fn a_restart_keeps_mfa_and_spent_recovery_codes() {
    let dir = temp_dir("restart-mfa");
    let cfg = || Config {
        state_dir: Some(dir.clone()),
        ..config(Profile::Particle)
    };
    {
        let app = spawn_with_user(cfg()).await;
        let r = app
            .send(
                app.req(reqwest::Method::PUT, "/__mock/users/user@example.com/mfa")
                    .json(&json!({"otp": "111111", "recovery_codes": ["once-only", "spare"]})),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let r = recovery_grant(&app, "once-only").await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let app = spawn_app(cfg()).await;
    let r = recovery_grant(&app, "once-only").await;
    assert_oauth_error(
        &r,
        Profile::Particle,
        400,
        "invalid_grant",
        "Invalid recovery code",
    );
    let r = recovery_grant(&app, "spare").await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// The state directory's files hold live bearer tokens and password hashes: owner-only,
/// including a snapshot an older version left world-readable.
#[cfg(unix)]
#[tokio::test]
async fn state_files_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir("modes");
    let cfg = || Config {
        state_dir: Some(dir.clone()),
        ..config(Profile::Particle)
    };
    let modes = || -> Vec<(String, u32)> {
        let mut files: Vec<(String, u32)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.file_name() != "server_key.pem")
            .map(|e| {
                let mode = e.metadata().unwrap().permissions().mode() & 0o777;
                (e.file_name().to_string_lossy().into_owned(), mode)
            })
            .collect();
        files.sort();
        files
    };
    {
        let app = spawn_with_user(cfg()).await;
        app.login("particle", "particle").await;
        let files = modes();
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert!(names.contains(&"state.json"), "{files:?}");
        assert!(names.iter().any(|n| n.starts_with("journal-")), "{files:?}");
        assert!(files.iter().all(|(_, m)| *m == 0o600), "{files:?}");
    }
    let snapshot = dir.join("state.json");
    std::fs::set_permissions(&snapshot, std::fs::Permissions::from_mode(0o644)).unwrap();
    let _app = spawn_app(cfg()).await;
    let files = modes();
    assert!(files.iter().all(|(_, m)| *m == 0o600), "{files:?}");
}

/// `GET /__mock/tokens/:token`'s status.
async fn status(app: &TestApp, token: &str) -> u16 {
    let rb = app.req(reqwest::Method::GET, &format!("/__mock/tokens/{token}"));
    app.send(rb).await.status
}

/// A dead token's history stays queryable for the retention window (by the mock's clock,
/// across a restart), then the token is forgotten, and stays forgotten after a restart.
#[tokio::test]
async fn a_dead_token_is_kept_for_the_retention_window_then_forgotten() {
    let dir = temp_dir("retention");
    let cfg = || Config {
        state_dir: Some(dir.clone()),
        token_retention_secs: 10 * 86_400,
        ..config(Profile::Spark2014)
    };
    let (old, new) = {
        let app = spawn_with_user(cfg()).await;
        app.set_policy("single").await;
        let old = app.login("spark", "spark").await;
        let new = app.login("spark", "spark").await;
        assert_eq!(app.history(&old).await["status"], "invalidated");
        app.advance_clock(9 * 86_400).await;
        assert_eq!(status(&app, &old).await, 200, "day 9 of 10");
        (old, new)
    };
    let app = spawn_app(cfg()).await;
    assert_eq!(
        status(&app, &old).await,
        200,
        "still day 9 after the restart"
    );
    app.advance_clock(2 * 86_400).await;
    assert_eq!(status(&app, &old).await, 404, "day 11: forgotten");
    assert!(app.works(&new).await, "a live token is never pruned");
    drop(app);
    let app = spawn_app(cfg()).await;
    assert_eq!(status(&app, &old).await, 404, "forgotten for good");
    assert_eq!(status(&app, &new).await, 200);
}

#[tokio::test]
async fn webhooks_survive_a_restart_and_deliver_after_it() {
    use common::receiver::{Answer, Receiver};
    let dir = temp_dir("webhooks");
    let cfg = || Config {
        state_dir: Some(dir.clone()),
        ..config(Profile::Particle)
    };
    let mut target = Receiver::start().await;
    target.answer(Answer::Reply(200, "ok".into()));
    let hooks = |app: &TestApp, token: &str| {
        app.req(reqwest::Method::GET, "/v1/webhooks")
            .bearer_auth(token.to_string())
    };
    let (token, listed, gone) = {
        let app = spawn_with_user(cfg()).await;
        let token = app.login("particle", "particle").await;
        let create = |event: &str| {
            app.req(reqwest::Method::POST, "/v1/webhooks")
                .bearer_auth(&token)
                .json(&json!({"event": event, "url": target.url("/in")}))
        };
        assert_eq!(app.send(create("temp")).await.status, 201);
        let r = app.send(create("doomed")).await;
        assert_eq!(r.status, 201, "{}", r.text);
        let gone = r.json["id"].as_str().unwrap().to_string();
        let r = app
            .send(
                app.req(reqwest::Method::DELETE, &format!("/v1/webhooks/{gone}"))
                    .bearer_auth(&token),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        // Acknowledged changes only: no explicit save before the restart.
        let listed = app.send(hooks(&app, &token)).await.json;
        (token, listed, gone)
    };
    let app = spawn_app(cfg()).await;
    let after = app.send(hooks(&app, &token)).await.json;
    assert_eq!(
        after, listed,
        "the same webhooks, ids and times after the restart"
    );
    assert_eq!(after.as_array().map(Vec::len), Some(1), "{after}");
    assert!(
        !after.to_string().contains(&gone),
        "a deleted webhook stays deleted"
    );
    // And it delivers without being touched again.
    let rb = app
        .req(reqwest::Method::POST, "/v1/devices/events")
        .bearer_auth(&token)
        .form(&[
            ("name", "temperature"),
            ("data", "21.5"),
            ("private", "true"),
        ]);
    assert_eq!(app.send(rb).await.status, 200);
    let got = tokio::time::timeout(std::time::Duration::from_secs(30), target.next())
        .await
        .expect("the restored webhook delivered");
    assert_eq!((got.method.as_str(), got.uri.as_str()), ("POST", "/in"));
    assert!(got.body.contains("data=21.5"), "{}", got.body);
}
