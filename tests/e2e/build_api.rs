//! The Build IDE's JSON calls (`POST /build/api/sign_in`, `GET /build/api/access_token`) in
//! the shapes of cloud-api.md §8, and the token the Build page shows under each policy.

use crate::common;

use common::helpers::{config, spawn_with_user, TestApp, PASSWORD, USER};
use common::web::Browser;
use reqwest::Method;
use serde_json::{json, Value};
use spark_mock_server::Profile;

async fn sign_in(app: &TestApp, password: &str) -> (u16, Value) {
    let rb = app
        .req(Method::POST, "/build/api/sign_in")
        .json(&json!({"username": USER, "password": password}));
    let r = app.send(rb).await;
    (r.status, r.json)
}

async fn access_token(app: &TestApp, auth: Option<&str>) -> (u16, Value) {
    let mut rb = app.req(Method::GET, "/build/api/access_token");
    if let Some(a) = auth {
        rb = rb.bearer_auth(a);
    }
    let r = app.send(rb).await;
    (r.status, r.json)
}

/// `2014-05-19T13:31:05Z`.
fn is_zulu_seconds(s: &str) -> bool {
    s.len() == 20 && s.as_bytes()[10] == b'T' && s.ends_with('Z') && !s.contains('.')
}

/// `2014-03-23T15:51:07+00:00`.
fn is_offset_seconds(s: &str) -> bool {
    s.len() == 25 && s.as_bytes()[10] == b'T' && s.ends_with("+00:00") && !s.contains('.')
}

#[tokio::test]
async fn sign_in_returns_a_devise_session_token_and_never_rotates_the_cloud_token() {
    let app = spawn_with_user(config(Profile::Spark2014)).await;
    let script = app.login("python-script", "x").await;
    let (status, body) = sign_in(&app, PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["username"], USER);
    let auth = body["auth_token"]["token"].as_str().expect("token");
    assert_eq!(auth.len(), 20, "{auth}");
    assert!(auth
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
    let expires = body["auth_token"]["expires_at"].as_str().expect("expiry");
    assert!(is_zulu_seconds(expires), "{expires}");
    let (status, body) = access_token(&app, Some(auth)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["access_token"], script.as_str());
    let at = body["access_token_expires_at"].as_str().expect("expiry");
    assert!(is_offset_seconds(at), "{at}");
    assert_eq!(body.as_object().map(|o| o.len()), Some(2), "{body}");
    assert!(
        app.works(&script).await,
        "signing in to Build must not rotate"
    );
}

#[tokio::test]
async fn sign_in_accepts_a_form_body_too() {
    let app = spawn_with_user(config(Profile::Particle)).await;
    let rb = app
        .req(Method::POST, "/build/api/sign_in")
        .form(&[("username", USER), ("password", PASSWORD)]);
    let r = app.send(rb).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn json_errors_are_devise_shaped() {
    let app = spawn_with_user(config(Profile::Spark2014)).await;
    assert_eq!(
        sign_in(&app, "wrong").await,
        (401, json!({"error": "Invalid email or password."}))
    );
    let unauthenticated = json!({"error": "You need to sign in or sign up before continuing."});
    assert_eq!(
        access_token(&app, None).await,
        (401, unauthenticated.clone())
    );
    assert_eq!(
        access_token(&app, Some("78n4xGh2aC_V8awk4jsA")).await,
        (401, unauthenticated)
    );
    let (_, body) = sign_in(&app, PASSWORD).await;
    let auth = body["auth_token"]["token"].as_str().expect("token");
    app.advance_clock(15 * 86_400).await;
    assert_eq!(
        access_token(&app, Some(auth)).await,
        (
            401,
            json!({"error": "Your session expired. Please sign in again to continue."})
        )
    );
}

#[tokio::test]
async fn a_token_that_never_expires_has_a_null_expiry() {
    let app = spawn_with_user(config(Profile::Spark2014)).await;
    let forever = app
        .login_with("python-script", "x", &[("expires_in", "0")])
        .await;
    let (_, body) = sign_in(&app, PASSWORD).await;
    let auth = body["auth_token"]["token"].as_str().expect("token");
    assert_eq!(
        access_token(&app, Some(auth)).await,
        (
            200,
            json!({"access_token": forever, "access_token_expires_at": null})
        )
    );
}

#[tokio::test]
async fn per_client_build_shows_its_own_token_and_multi_the_newest() {
    let app = spawn_with_user(config(Profile::Spark2014)).await;
    app.set_policy("per-client").await;
    let script = app.login("python-script", "x").await;
    let mut browser = Browser::new(&app);
    let build = browser.login_and_read_token(USER, PASSWORD).await;
    assert_ne!(build, script, "per-client: Build has its own token");
    assert!(app.works(&script).await && app.works(&build).await);
    let phone = app.login("spark-ios", "x").await;
    assert_eq!(browser.settings_token().await, build);
    app.set_policy("multi").await;
    let newest = app.login("spark-ios", "x").await;
    assert_eq!(browser.settings_token().await, newest);
    for t in [&script, &build, &phone, &newest] {
        assert!(app.works(t).await, "multi keeps every token");
    }
}

#[tokio::test]
async fn an_expired_token_is_shown_dead_with_a_reset_button() {
    let app = spawn_with_user(config(Profile::Spark2014)).await;
    let mut browser = Browser::new(&app);
    let token = browser.login_and_read_token(USER, PASSWORD).await;
    // Day 85: the session has expired, the token has not; signing in again reuses it.
    app.advance_clock(85 * 86_400).await;
    assert_eq!(browser.login_and_read_token(USER, PASSWORD).await, token);
    // Day 91: the token has expired under a live session. The page says so rather than
    // replacing it behind the user's back, and offers the button.
    app.advance_clock(6 * 86_400).await;
    let page = browser.get("/build/settings").await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(
        page.text.contains("Your access token has expired"),
        "{}",
        page.text
    );
    assert!(page.text.contains(r#"data-status="expired""#));
    let csrf = common::web::csrf_field(&page.text);
    let r = browser
        .post("/build/settings/reset", &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status, 303);
    let fresh = browser.settings_token().await;
    assert_ne!(fresh, token);
    assert!(app.works(&fresh).await);
}
