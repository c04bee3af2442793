//! `--rate-limits`: the particle cloud's documented limits, counted per source IP on the
//! mock's clock; off by default.

use crate::common;

use common::helpers::*;
use reqwest::Method;
use spark_mock_server::{Config, Profile};

fn limited(profile: Profile) -> Config {
    Config {
        rate_limits: true,
        ..config(profile)
    }
}

#[tokio::test]
async fn ten_failed_logins_lock_the_ip_out_for_thirty_minutes() {
    let app = spawn_with_user(limited(Profile::Particle)).await;
    for _ in 0..10 {
        let r = app
            .grant(&[
                ("grant_type", "password"),
                ("username", USER),
                ("password", "wrong"),
                ("client_id", "particle"),
                ("client_secret", "particle"),
            ])
            .await;
        assert_eq!(r.status, 400);
    }
    let r = app.password_grant("particle", "particle", &[]).await;
    assert_oauth_error(
        &r,
        Profile::Particle,
        429,
        "rate_limit_exceeded",
        "Too many requests",
    );
    let journal = app.get_json("/__mock/requests").await;
    assert_eq!(
        journal["requests"].as_array().unwrap().last().unwrap()["status"],
        429
    );
    app.advance_clock(29 * 60).await;
    assert_eq!(
        app.password_grant("particle", "particle", &[]).await.status,
        429
    );
    app.advance_clock(2 * 60).await;
    assert_eq!(
        app.password_grant("particle", "particle", &[]).await.status,
        200
    );
}

#[tokio::test]
async fn a_hundred_signups_per_five_minutes() {
    let app = spawn_app(limited(Profile::Particle)).await;
    for i in 0..100 {
        let r = app
            .send(app.req(Method::POST, "/v1/users").form(&[
                ("username", format!("u{i}@example.com")),
                ("password", "pw".into()),
            ]))
            .await;
        assert_eq!(r.status, 200, "signup {i}: {}", r.text);
    }
    let r = app
        .send(
            app.req(Method::POST, "/v1/users")
                .form(&[("username", "late@example.com"), ("password", "pw")]),
        )
        .await;
    expect(
        &r,
        429,
        serde_json::json!({"ok": false, "error": "Too many requests"}),
    );
    app.advance_clock(300).await;
    let r = app
        .send(
            app.req(Method::POST, "/v1/users")
                .form(&[("username", "late@example.com"), ("password", "pw")]),
        )
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn off_by_default() {
    let app = spawn_with_user(config(Profile::Particle)).await;
    for _ in 0..12 {
        let r = app
            .grant(&[
                ("grant_type", "password"),
                ("username", USER),
                ("password", "wrong"),
                ("client_id", "particle"),
                ("client_secret", "particle"),
            ])
            .await;
        assert_eq!(r.status, 400);
    }
    assert_eq!(
        app.password_grant("particle", "particle", &[]).await.status,
        200
    );
}
