//! Multi-factor login (particle profile, cloud-api.md §1): a password grant for an MFA user
//! answers 403 `mfa_required` with an `mfa_token`, and `urn:custom:mfa-otp` or
//! `urn:custom:recovery-code` finishes it. spark-2014 had no second factor.

use crate::common;

use common::helpers::*;
use serde_json::json;
use spark_mock_server::{Config, Profile};

const SEED: &str = r#"
[[users]]
username = "user@example.com"
password = "secret"
mfa_otp = "123456"
mfa_recovery_codes = ["aaaa-bbbb", "cccc-dddd"]
"#;

fn seeded(profile: Profile) -> Config {
    let path = temp_dir("mfa").join("seed.toml");
    std::fs::write(&path, SEED).unwrap();
    Config {
        seed_file: Some(path),
        ..config(profile)
    }
}

/// The password grant's `mfa_token`, after checking the whole 403 answer.
async fn challenge(app: &TestApp) -> String {
    let r = app.password_grant("particle", "particle", &[]).await;
    assert_eq!(r.status, 403, "{}", r.text);
    let mfa_token = r.json["mfa_token"].as_str().unwrap_or_default().to_string();
    assert!(!mfa_token.is_empty(), "{}", r.text);
    assert_eq!(
        r.json,
        json!({
            "error": "mfa_required",
            "error_description": "Multi-factor authentication required",
            "mfa_token": mfa_token,
        })
    );
    assert_eq!(r.header("cache-control"), Some("no-store"));
    mfa_token
}

/// Unknown, expired, spent, or another client's: the same answer.
#[track_caller]
fn assert_bad_mfa_token(r: &Reply) {
    assert_oauth_error(
        r,
        Profile::Particle,
        400,
        "invalid_grant",
        "Invalid or expired mfa token",
    );
}

async fn otp_grant(app: &TestApp, mfa_token: &str, otp: &str) -> Reply {
    app.grant(&[
        ("grant_type", "urn:custom:mfa-otp"),
        ("mfa_token", mfa_token),
        ("otp", otp),
        ("client_id", "particle"),
        ("client_secret", "particle"),
    ])
    .await
}

#[tokio::test]
async fn the_password_alone_gets_no_token_and_the_otp_grant_finishes_the_login() {
    let app = spawn_app(seeded(Profile::Particle)).await;
    let mfa_token = challenge(&app).await;
    assert!(app.valid_tokens(USER).await.is_empty());

    let r = otp_grant(&app, &mfa_token, "000000").await;
    assert_oauth_error(&r, Profile::Particle, 400, "invalid_grant", "Invalid otp");
    let r = otp_grant(&app, &mfa_token, "123456").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let token = r.json["access_token"].as_str().unwrap().to_string();
    assert!(r.json["refresh_token"].is_string(), "{}", r.text);
    assert!(app.works(&token).await);
    assert_eq!(
        app.history(&token).await["issued"]["grant"],
        "urn:custom:mfa-otp"
    );

    // The mfa_token is spent.
    let r = otp_grant(&app, &mfa_token, "123456").await;
    assert_bad_mfa_token(&r);
    let user = app.get_bearer("/v1/user", &token).await;
    assert_eq!(user.json["mfa"], json!({"enabled": true}), "{}", user.text);
}

#[tokio::test]
async fn otp_grant_errors() {
    let app = spawn_app(seeded(Profile::Particle)).await;
    let mfa_token = challenge(&app).await;
    for form in [
        vec![("otp", "123456")],
        vec![("mfa_token", mfa_token.as_str())],
        vec![("mfa_token", mfa_token.as_str()), ("otp", "")],
    ] {
        let mut f = vec![
            ("grant_type", "urn:custom:mfa-otp"),
            ("client_id", "particle"),
            ("client_secret", "particle"),
        ];
        f.extend(form);
        let r = app.grant(&f).await;
        assert_oauth_error(
            &r,
            Profile::Particle,
            400,
            "invalid_request",
            "You must provide otp and mfa token.",
        );
    }
    // Another client cannot finish this client's login.
    let r = app
        .grant(&[
            ("grant_type", "urn:custom:mfa-otp"),
            ("mfa_token", &mfa_token),
            ("otp", "123456"),
            ("client_id", "particle-api"),
            ("client_secret", "particle-api"),
        ])
        .await;
    assert_bad_mfa_token(&r);
    // Five minutes later the mfa_token has expired (the injectable clock, no waiting).
    app.advance_clock(301).await;
    let r = otp_grant(&app, &mfa_token, "123456").await;
    assert_bad_mfa_token(&r);
}

#[tokio::test]
async fn each_recovery_code_works_once() {
    let app = spawn_app(seeded(Profile::Particle)).await;
    let recover = |mfa_token: String, code: &'static str| {
        let app = &app;
        async move {
            app.grant(&[
                ("grant_type", "urn:custom:recovery-code"),
                ("mfa_token", &mfa_token),
                ("recovery_code", code),
                ("client_id", "particle"),
                ("client_secret", "particle"),
            ])
            .await
        }
    };
    let r = recover(challenge(&app).await, "aaaa-bbbb").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let token = r.json["access_token"].as_str().unwrap().to_string();
    assert_eq!(
        app.history(&token).await["issued"]["grant"],
        "urn:custom:recovery-code"
    );

    let r = recover(challenge(&app).await, "aaaa-bbbb").await;
    assert_oauth_error(
        &r,
        Profile::Particle,
        400,
        "invalid_grant",
        "Invalid recovery code",
    );
    let r = recover(challenge(&app).await, "cccc-dddd").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = recover(challenge(&app).await, "").await;
    assert_oauth_error(
        &r,
        Profile::Particle,
        400,
        "invalid_request",
        "You must provide recovery code and mfa token.",
    );
}

#[tokio::test]
async fn spark_2014_has_no_second_factor() {
    let app = spawn_app(seeded(Profile::Spark2014)).await;
    let r = app.password_grant("spark", "spark", &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = otp_grant(&app, "whatever", "123456").await;
    assert_oauth_error(
        &r,
        Profile::Spark2014,
        400,
        "invalid_client",
        "The grant type is unauthorised for this client_id",
    );
}

/// The admin switch: turning MFA on with `invalidate_tokens` kills the user's tokens, the
/// history says why, and the next password login needs the code; turning it off restores the
/// plain password grant.
#[tokio::test]
async fn turning_mfa_on_at_run_time_kills_tokens_and_changes_the_login() {
    let app = spawn_with_user(config(Profile::Particle)).await;
    let script = app.login("particle", "particle").await;

    let r = app
        .send(
            app.req(reqwest::Method::PUT, "/__mock/users/user@example.com/mfa")
                .json(&json!({"otp": "424242", "invalidate_tokens": true})),
        )
        .await;
    expect(
        &r,
        200,
        json!({"ok": true, "mfa": {"enabled": true}, "invalidated": [script]}),
    );
    assert!(!app.works(&script).await);
    let story = app.history(&script).await["story"].to_string();
    assert!(story.contains("multi-factor login turned on"), "{story}");

    let mfa_token = challenge(&app).await;
    let r = otp_grant(&app, &mfa_token, "424242").await;
    assert_eq!(r.status, 200, "{}", r.text);

    let r = app
        .send(app.req(
            reqwest::Method::DELETE,
            "/__mock/users/user@example.com/mfa",
        ))
        .await;
    expect(
        &r,
        200,
        json!({"ok": true, "mfa": {"enabled": false}, "invalidated": []}),
    );
    app.login("particle", "particle").await;

    let r = app
        .send(
            app.req(reqwest::Method::PUT, "/__mock/users/nobody@example.com/mfa")
                .json(&json!({"otp": "1"})),
        )
        .await;
    expect(&r, 404, json!({"ok": false, "error": "Unknown user"}));
    let r = app
        .send(
            app.req(reqwest::Method::PUT, "/__mock/users/user@example.com/mfa")
                .json(&json!({"otp": 5})),
        )
        .await;
    expect(
        &r,
        400,
        json!({"ok": false, "error": "otp must be a non-empty string or null"}),
    );
}
