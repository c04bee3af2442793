//! Accounts (cloud-api.md §4): sign-up in form and JSON with each profile's answers,
//! `GET /v1/user`, and password changes through `PUT /v1/user`.

use crate::common;

use common::helpers::*;
use reqwest::Method;
use serde_json::json;
use spark_mock_server::Profile;

/// Tokens accumulate, so logging in again does not kill the token under test.
fn multi(profile: Profile) -> spark_mock_server::Config {
    spark_mock_server::Config {
        policy: spark_mock_server::PolicyKind::Multi,
        ..config(profile)
    }
}

#[tokio::test]
async fn spark_2014_signup_always_answers_200_with_ok_and_errors() {
    let app = spawn_app(config(Profile::Spark2014)).await;
    let signup = |form: Vec<(&'static str, &'static str)>| {
        app.send(app.req(Method::POST, "/v1/users").form(&form))
    };
    let r = signup(vec![("username", "a@example.com"), ("password", "pw")]).await;
    assert_eq!((r.status, r.text.as_str()), (200, r#"{"ok":true}"#));
    for missing in [
        vec![("username", "b@example.com")],
        vec![("password", "pw")],
        vec![],
    ] {
        let r = signup(missing).await;
        assert_eq!(r.status, 200);
        assert_eq!(
            r.json,
            json!({"ok": false, "errors": ["username and password required"]})
        );
    }
    // A second sign-up of a name is refused in the same shape and keeps the first password.
    let r = signup(vec![("username", "A@example.com"), ("password", "other")]).await;
    assert_eq!((r.status, &r.json["ok"]), (200, &json!(false)));
    assert!(r.json["errors"][0].is_string(), "{}", r.text);
    let login = [
        ("grant_type", "password"),
        ("username", "a@example.com"),
        ("password", "pw"),
        ("client_id", "spark"),
        ("client_secret", "spark"),
    ];
    assert_eq!(app.grant(&login).await.status, 200);
}

#[tokio::test]
async fn particle_signup_takes_json_and_refuses_with_400() {
    let app = spawn_app(config(Profile::Particle)).await;
    let body = json!({"username": "New@Example.com", "password": "pw",
        "account_info": {"first_name": "Ada", "last_name": "Lovelace"}});
    let r = app
        .send(app.req(Method::POST, "/v1/users").json(&body))
        .await;
    expect(&r, 200, json!({"ok": true}));
    let r = app
        .send(app.req(Method::POST, "/v1/users").json(&body))
        .await;
    assert_eq!(
        (r.status, &r.json),
        (
            400,
            &json!({"ok": false, "error": "user with the username already exists"})
        )
    );
    let r = app
        .send(
            app.req(Method::POST, "/v1/users")
                .json(&json!({"username": "x@example.com"})),
        )
        .await;
    assert_eq!(
        (r.status, &r.json),
        (
            400,
            &json!({"ok": false, "error": "username and password required"})
        )
    );

    let login = [
        ("grant_type", "password"),
        ("username", "new@example.com"),
        ("password", "pw"),
        ("client_id", "particle"),
        ("client_secret", "particle"),
    ];
    let t = app.grant(&login).await.json["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app.get_bearer("/v1/user", &t).await;
    assert_eq!(r.status, 200);
    // The docs' example keys; the username is stored in lower case.
    assert_eq!(
        r.json,
        json!({
            "username": "new@example.com", "subscription_ids": [],
            "account_info": {"first_name": "Ada", "last_name": "Lovelace", "business_account": false},
            "scim_provisioned": false, "no_password": false, "mfa": {"enabled": false},
            "wifi_device_count": 0, "cellular_device_count": 0,
        })
    );
}

#[tokio::test]
async fn password_change_needs_the_current_password() {
    for profile in PROFILES {
        let app = spawn_with_user(multi(profile)).await;
        let t = app.login("spark", "spark").await;
        let put = |body: serde_json::Value| {
            app.send(app.req(Method::PUT, "/v1/user").bearer_auth(&t).json(&body))
        };
        let r = put(json!({"password": "new-secret", "current_password": "wrong"})).await;
        assert_eq!(
            (r.status, &r.json),
            (
                400,
                &json!({"ok": false, "error": "Current password is incorrect"})
            )
        );
        let r = put(json!({"password": "new-secret"})).await;
        assert_eq!(r.status, 400, "{profile}: changed without current_password");
        app.login("spark", "spark").await; // still the old password

        // Without invalidate_tokens the tokens live on.
        let r = put(json!({"password": "new-secret", "current_password": PASSWORD})).await;
        assert_eq!(
            (r.status, &r.json),
            (
                200,
                &json!({"ok": true, "message": "User's password updated."})
            )
        );
        assert!(app.works(&t).await, "{profile}");
        let old = app.password_grant("spark", "spark", &[]).await;
        assert_oauth_error(
            &old,
            profile,
            400,
            "invalid_grant",
            "User credentials are invalid",
        );
        let form = [
            ("grant_type", "password"),
            ("username", USER),
            ("password", "new-secret"),
            ("client_id", "spark"),
            ("client_secret", "spark"),
        ];
        assert_eq!(app.grant(&form).await.status, 200);
    }
}

#[tokio::test]
async fn password_change_with_invalidate_tokens_kills_every_token() {
    for profile in PROFILES {
        let app = spawn_with_user(multi(profile)).await;
        app.set_clock("2031-05-01T10:00:00Z").await;
        let a = app.login("spark", "spark").await;
        let b = app.login("CLI2", "client_secret_here").await;
        // Form encoding, as older clients send it.
        let form = [
            ("password", "new-secret"),
            ("current_password", PASSWORD),
            ("invalidate_tokens", "true"),
        ];
        let r = app
            .send(app.req(Method::PUT, "/v1/user").bearer_auth(&b).form(&form))
            .await;
        assert_eq!(r.status, 200, "{profile}: {}", r.text);
        for t in [&a, &b] {
            assert_bad_token(&app.get_bearer("/v1/user", t).await, profile, TOKEN_INVALID);
            let h = app.history(t).await;
            let why = h["invalidated"]["reason"].as_str().unwrap();
            assert!(
                why.starts_with("password changed at 2031-05-01T10:00:0"),
                "{why}"
            );
            assert_eq!(h["rejected_uses"][0]["route"], "GET /v1/user");
        }
    }
}

/// `POST /v1/user/password-reset` answers as the cloud does, for a known account or not (the
/// answer must not tell), needs no token, and does not touch the password; spark-2014 had no
/// such route.
#[tokio::test]
async fn password_reset_answers_without_telling_whether_the_account_exists() {
    let app = spawn_with_user(config(Profile::Particle)).await;
    let token = app.login("particle", "particle").await;
    for username in [USER, "nobody@example.com"] {
        let r = app
            .send(
                app.req(Method::POST, "/v1/user/password-reset")
                    .json(&json!({ "username": username })),
            )
            .await;
        expect(
            &r,
            200,
            json!({"ok": true, "message": "Password reset email sent."}),
        );
    }
    let r = app
        .send(
            app.req(Method::POST, "/v1/user/password-reset")
                .form(&[("username", "")]),
        )
        .await;
    expect(
        &r,
        400,
        json!({"ok": false, "error": "username is required"}),
    );
    // Nothing changed: the password and the token still work.
    assert!(app.works(&token).await);
    app.login("particle", "particle").await;

    let app = spawn_with_user(config(Profile::Spark2014)).await;
    let r = app
        .send(
            app.req(Method::POST, "/v1/user/password-reset")
                .form(&[("username", USER)]),
        )
        .await;
    expect(&r, 404, json!({"ok": false, "error": "Not Found"}));
}
