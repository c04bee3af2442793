//! Successful `/oauth/token` responses (cloud-api.md §1 "Success"): shapes and headers per
//! profile, expires_in / expires_at, the credential placements real clients use, and
//! `Authorization: Bearer null` being ignored.

use crate::common;

use common::helpers::*;
use reqwest::Method;
use serde_json::Value;
use spark_mock_server::Profile;

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

#[tokio::test]
async fn success_shape_and_headers_per_profile() {
    let app = spawn_with_user(config(Profile::Spark2014)).await;
    let r = app.password_grant("spark", "spark", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(keys(&r.json), ["access_token", "token_type", "expires_in"]);
    assert_eq!(r.json["token_type"], "bearer");
    assert_eq!(r.json["expires_in"], 7_776_000);
    assert!(is_token(r.json["access_token"].as_str().unwrap()));
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    assert_eq!(r.header("pragma"), Some("no-cache"));
    assert_eq!(
        r.header("content-type"),
        Some("application/json; charset=utf-8")
    );

    let app = spawn_with_user(config(Profile::Particle)).await;
    let r = app
        .password_grant("particle", "particle", &[("scope", "devices:list")])
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        keys(&r.json),
        [
            "token_type",
            "access_token",
            "expires_in",
            "refresh_token",
            "scope"
        ]
    );
    assert_eq!(r.json["token_type"], "bearer");
    assert_eq!(r.json["expires_in"], 7_776_000);
    assert_eq!(r.json["scope"], "devices:list");
    let (access, refresh) = (
        r.json["access_token"].as_str().unwrap(),
        r.json["refresh_token"].as_str().unwrap(),
    );
    assert!(is_token(access) && is_token(refresh) && access != refresh);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("pragma"), Some("no-cache"));
}

#[tokio::test]
async fn tokens_are_fresh_40_char_lowercase_hex() {
    let app = spawn_with_user(config(Profile::Particle)).await;
    let mut seen = std::collections::HashSet::new();
    for _ in 0..10 {
        let t = app.login("particle", "particle").await;
        assert!(is_token(&t), "{t}");
        assert!(seen.insert(t), "a token was issued twice");
    }
}

#[tokio::test]
async fn expires_in_and_expires_at_choose_the_lifetime() {
    for profile in PROFILES {
        let app = spawn_with_user(config(profile)).await;
        let (id, secret) = ("particle", "particle");
        app.set_clock("2029-12-31T23:59:00Z").await;
        let r = app
            .password_grant(id, secret, &[("expires_in", "60")])
            .await;
        assert_eq!(r.json["expires_in"], 60, "{profile}: {}", r.text);
        let r = app
            .password_grant(id, secret, &[("expires_at", "2030-01-01T00:00:00.000Z")])
            .await;
        assert_eq!(r.json["expires_in"], 60, "{profile}: {}", r.text);
        let t = r.json["access_token"].as_str().unwrap();
        assert_eq!(
            app.history(t).await["expires_at"],
            "2030-01-01T00:00:00.000Z"
        );

        // 0 and null mean "never expires": particle reports 0 and gives no refresh token.
        for never in [("expires_in", "0"), ("expires_at", "null")] {
            let r = app.password_grant(id, secret, &[never]).await;
            assert_eq!(r.status, 200, "{profile} {never:?}: {}", r.text);
            assert_eq!(r.json["expires_in"], 0, "{profile} {never:?}");
            assert!(
                r.json.get("refresh_token").is_none(),
                "{profile} {never:?}: {}",
                r.text
            );
            let t = r.json["access_token"].as_str().unwrap().to_string();
            assert_eq!(app.history(&t).await["expires_at"], Value::Null);
            app.advance_clock(10 * 365 * 86_400).await;
            assert!(
                app.works(&t).await,
                "{profile}: a never-expiring token expired"
            );
        }
        // Without either, the 90-day default.
        let r = app.password_grant(id, secret, &[]).await;
        assert_eq!(r.json["expires_in"], 7_776_000);
        // Garbage lifetimes are refused, not ignored.
        let r = app
            .password_grant(id, secret, &[("expires_in", "soon")])
            .await;
        assert_oauth_error(
            &r,
            profile,
            400,
            "invalid_request",
            "Invalid expires_in parameter",
        );
    }
}

#[tokio::test]
async fn client_credentials_in_basic_or_form_and_bearer_header_ignored() {
    for profile in PROFILES {
        let app = spawn_with_user(config(profile)).await;
        let user = [
            ("grant_type", "password"),
            ("username", USER),
            ("password", PASSWORD),
        ];
        // HTTP Basic client:secret (the 2014 docs' `spark:spark`).
        let rb = app
            .req(Method::POST, "/oauth/token")
            .basic_auth("spark", Some("spark"));
        let r = app.send(rb.form(&user)).await;
        assert_eq!(r.status, 200, "{profile}: {}", r.text);
        assert_eq!(
            app.history(r.json["access_token"].as_str().unwrap()).await["client"],
            "spark"
        );
        // Form fields, with particle-cli's `Authorization: Bearer null`.
        let mut form = user.to_vec();
        form.extend([
            ("client_id", "CLI2"),
            ("client_secret", "client_secret_here"),
        ]);
        let rb = app
            .req(Method::POST, "/oauth/token")
            .header("authorization", "Bearer null");
        let r = app.send(rb.form(&form)).await;
        assert_eq!(r.status, 200, "{profile}: {}", r.text);
        let cli = r.json["access_token"].as_str().unwrap().to_string();
        // `token create` sends the current token as Bearer: still just a grant.
        form[3..].copy_from_slice(&[
            ("client_id", "user"),
            ("client_secret", "client_secret_here"),
        ]);
        let rb = app.req(Method::POST, "/oauth/token").bearer_auth(&cli);
        let r = app.send(rb.form(&form)).await;
        assert_eq!(r.status, 200, "{profile}: {}", r.text);
        // The username is matched case-insensitively.
        let mixed = [
            ("grant_type", "password"),
            ("username", "User@Example.COM"),
            ("password", PASSWORD),
            ("client_id", "spark"),
            ("client_secret", "spark"),
        ];
        assert_eq!(app.grant(&mixed).await.status, 200, "{profile}");
    }
    // Basic is tried first: a wrong Basic secret is not rescued by good form fields.
    let app = spawn_with_user(config(Profile::Particle)).await;
    let rb = app
        .req(Method::POST, "/oauth/token")
        .basic_auth("particle", Some("wrong"));
    let form = [
        ("grant_type", "password"),
        ("username", USER),
        ("password", PASSWORD),
        ("client_id", "particle"),
        ("client_secret", "particle"),
    ];
    let r = app.send(rb.form(&form)).await;
    assert_oauth_error(
        &r,
        Profile::Particle,
        400,
        "invalid_client",
        "Client credentials are invalid",
    );
}
