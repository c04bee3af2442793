//! The history endpoint (`/__mock/tokens[/:token]`), which answers the forum thread's
//! "when, how and why was my token changed", and the run-time policy switch.

use crate::common;

use common::helpers::*;
use reqwest::Method;
use serde_json::{json, Value};
use spark_mock_server::Profile;

async fn login_as_app(app: &TestApp, client: &str, ua: &str) -> String {
    let form = [
        ("grant_type", "password"),
        ("username", USER),
        ("password", PASSWORD),
        ("client_id", client),
        ("client_secret", "whatever"),
    ];
    let rb = app
        .req(Method::POST, "/oauth/token")
        .header("user-agent", ua)
        .form(&form);
    let r = app.send(rb).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json["access_token"].as_str().unwrap().to_string()
}

fn reason(h: &Value) -> &str {
    h["invalidated"]["reason"].as_str().unwrap_or("(none)")
}

#[tokio::test]
async fn history_tells_who_issued_used_and_replaced_a_token() {
    let app = spawn_with_user(config(Profile::Spark2014)).await;
    app.set_clock("2014-03-01T12:00:00Z").await;
    let first = login_as_app(&app, "python-app", "python-requests/2.2").await;
    let h = app.history(&first).await;
    assert_eq!(
        (&h["status"], &h["user"], &h["policy"]),
        (&json!("valid"), &json!(USER), &json!("single"))
    );
    let issued = &h["issued"];
    assert_eq!(
        (&issued["client"], &issued["grant"]),
        (&json!("python-app"), &json!("password"))
    );
    assert_eq!(
        (&issued["remote_addr"], &issued["user_agent"]),
        (&json!("127.0.0.1"), &json!("python-requests/2.2"))
    );
    assert!(
        issued["at"]
            .as_str()
            .unwrap()
            .starts_with("2014-03-01T12:00:0"),
        "{issued}"
    );
    assert_eq!(
        (&h["last_used"], &h["invalidated"]),
        (&Value::Null, &Value::Null)
    );

    assert!(app.works(&first).await);
    let h = app.history(&first).await;
    assert_eq!(
        (&h["last_used"]["route"], &h["use_count"]),
        (&json!("GET /v1/user"), &json!(1))
    );

    // The mobile app logs in: the script's token dies, and the history says why.
    let second = login_as_app(&app, "spark-ios", "Spark/1.0 CFNetwork").await;
    let h = app.history(&first).await;
    assert_eq!(h["status"], "invalidated");
    assert!(
        reason(&h).starts_with(
            "replaced by a password grant from client spark-ios at 2014-03-01T12:00:0"
        ),
        "{h}"
    );
    assert_eq!(h["invalidated"]["replaced_by"], second.as_str());

    // Every refused use is kept: route and remote address.
    let r = app.get_bearer("/v1/access_tokens/current", &first).await;
    assert_bad_token(&r, Profile::Spark2014, TOKEN_INVALID);
    let r = app
        .send(app.req(Method::PUT, &format!("/v1/user?access_token={first}")))
        .await;
    assert_bad_token(&r, Profile::Spark2014, TOKEN_INVALID);
    let h = app.history(&first).await;
    assert_eq!(h["rejected_count"], 2);
    let routes: Vec<&Value> = h["rejected_uses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| &u["route"])
        .collect();
    assert_eq!(
        routes,
        [
            &json!("GET /v1/access_tokens/current"),
            &json!("PUT /v1/user")
        ]
    );
    assert_eq!(h["rejected_uses"][0]["remote_addr"], "127.0.0.1");
    assert!(h["rejected_uses"][0]["reason"]
        .as_str()
        .unwrap()
        .starts_with("replaced by a password grant"));
    let story = h["story"].to_string();
    assert!(
        story.contains("refused on PUT /v1/user from 127.0.0.1"),
        "{story}"
    );

    // The list holds both, oldest first; unknown tokens are a 404.
    let all = app.tokens_of(USER).await;
    assert_eq!(
        all.iter()
            .map(|t| t["token"].as_str().unwrap())
            .collect::<Vec<_>>(),
        [&first, &second]
    );
    let r = app
        .send(app.req(Method::GET, &format!("/__mock/tokens/{}", "9".repeat(40))))
        .await;
    expect(&r, 404, json!({"ok": false, "error": "Unknown token"}));
}

#[tokio::test]
async fn admin_reset_and_revocations_are_explained() {
    let app = spawn_with_user(config(Profile::Spark2014)).await;
    app.set_clock("2014-03-02T08:00:00Z").await;
    let old = app.login("spark", "spark").await;
    let r = app
        .mock_post(&format!("/__mock/users/{USER}/reset-token"), json!({}))
        .await;
    let new = r["access_token"].as_str().unwrap().to_string();
    assert!(is_token(&new) && new != old);
    assert_eq!(r["invalidated"], json!([old]));
    assert!(reason(&app.history(&old).await)
        .starts_with("reset through the admin API at 2014-03-02T08:00:0"));
    let h = app.history(&new).await;
    assert_eq!(
        (&h["client"], &h["issued"]["grant"]),
        (&json!("spark-build"), &json!("reset"))
    );
    assert!(app.works(&new).await);
    let r = app
        .send(app.req(Method::POST, "/__mock/users/nobody@example.com/reset-token"))
        .await;
    expect(&r, 404, json!({"ok": false, "error": "Unknown user"}));

    let rb = app
        .req(Method::DELETE, &format!("/v1/access_tokens/{new}"))
        .basic_auth(USER, Some(PASSWORD));
    assert_eq!(app.send(rb).await.status, 200);
    let why = reason(&app.history(&new).await).to_string();
    assert!(
        why.starts_with(&format!(
            "revoked by DELETE /v1/access_tokens/{}",
            &new[..8]
        )),
        "{why}"
    );
    assert!(why.contains(" at 2014-03-02T08:00:0"), "{why}");
}

#[tokio::test]
async fn tokens_keep_the_policy_they_were_issued_under() {
    let app = spawn_with_user(config(Profile::Spark2014)).await;
    let a = app.login("spark", "spark").await;
    app.set_policy("multi").await;
    assert_eq!(app.get_json("/__mock/policy").await["policy"], "multi");
    let b = app.login("spark-cli", "client_secret_here").await;
    let c = app.login("spark-ios", "x").await;
    assert!(
        app.works(&a).await && app.works(&b).await && app.works(&c).await,
        "multi grants killed tokens"
    );
    app.set_policy("per-client").await;
    let d = app.login("spark-ios", "x").await;
    assert!(!app.works(&c).await && app.works(&b).await);
    assert!(reason(&app.history(&c).await)
        .starts_with("replaced by a password grant from client spark-ios"));
    for (t, policy) in [
        (&a, "single"),
        (&b, "multi"),
        (&c, "multi"),
        (&d, "per-client"),
    ] {
        let h = app.history(t).await;
        assert_eq!(
            (&h["policy"], &h["issued"]["policy"]),
            (&json!(policy), &json!(policy))
        );
    }
    let r = app
        .send(
            app.req(Method::PUT, "/__mock/policy")
                .json(&json!({"policy": "sometimes"})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.json["error"]
            .as_str()
            .unwrap()
            .contains("unknown token policy `sometimes`"),
        "{}",
        r.text
    );
}
