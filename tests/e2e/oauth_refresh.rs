//! The particle-only grants (cloud-api.md §1): refresh_token and client_credentials are
//! refused in spark-2014, and the refresh grant's error rows in particle.

use crate::common;

use common::helpers::*;
use spark_mock_server::Profile;

const UNAUTHORISED: &str = "The grant type is unauthorised for this client_id";

#[tokio::test]
async fn refresh_and_client_credentials_are_particle_only() {
    let app = spawn_with_user(config(Profile::Spark2014)).await;
    let p = Profile::Spark2014;
    let base = [("client_id", "spark"), ("client_secret", "spark")];
    for grant in ["refresh_token", "client_credentials"] {
        let mut form = vec![
            ("grant_type", grant),
            ("refresh_token", "0123456789abcdef0123456789abcdef01234567"),
        ];
        form.extend(base);
        let r = app.grant(&form).await;
        assert_oauth_error(&r, p, 400, "invalid_client", UNAUTHORISED);
    }
    // The first password grant has no refresh token in the 2014 shape.
    let r = app.password_grant("spark", "spark", &[]).await;
    assert!(r.json.get("refresh_token").is_none(), "{}", r.text);
}

#[tokio::test]
async fn refresh_grant_errors_in_particle() {
    let p = Profile::Particle;
    let app = spawn_with_user(config(p)).await;
    let r = app.password_grant("particle", "particle", &[]).await;
    let refresh = r.json["refresh_token"]
        .as_str()
        .expect("refresh_token")
        .to_string();
    assert!(is_token(&refresh));
    let refresh_as = |client: &'static str, secret: &'static str, token: String| {
        let app = &app;
        async move {
            app.grant(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", token.as_str()),
                ("client_id", client),
                ("client_secret", secret),
            ])
            .await
        }
    };
    let r = app
        .grant(&[
            ("grant_type", "refresh_token"),
            ("client_id", "particle"),
            ("client_secret", "particle"),
        ])
        .await;
    assert_oauth_error(
        &r,
        p,
        400,
        "invalid_request",
        "No \"refresh_token\" parameter",
    );
    let r = refresh_as("particle", "particle", "f".repeat(40)).await;
    assert_oauth_error(&r, p, 400, "invalid_grant", "Invalid refresh token");
    // Only the client that received it may use it.
    let r = refresh_as("CLI2", "client_secret_here", refresh.clone()).await;
    assert_oauth_error(&r, p, 400, "invalid_grant", "Invalid refresh token");
    // It works once, for a new access token, and is then revoked.
    let r = refresh_as("particle", "particle", refresh.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let fresh = r.json["access_token"].as_str().unwrap().to_string();
    assert!(app.works(&fresh).await);
    assert_eq!(
        app.history(&fresh).await["issued"]["grant"],
        "refresh_token"
    );
    let r = refresh_as("particle", "particle", refresh).await;
    assert_oauth_error(&r, p, 400, "invalid_grant", "Invalid refresh token");
    // Refresh tokens last 14 days.
    let next = fresh_refresh_token(&app).await;
    app.advance_clock(14 * 86_400 + 1).await;
    let r = refresh_as("particle", "particle", next).await;
    assert_oauth_error(&r, p, 400, "invalid_grant", "Refresh token has expired");
    // A client with no owner cannot use client_credentials.
    let r = app
        .grant(&[
            ("grant_type", "client_credentials"),
            ("client_id", "particle"),
            ("client_secret", "particle"),
        ])
        .await;
    assert_oauth_error(&r, p, 400, "invalid_client", UNAUTHORISED);
}

async fn fresh_refresh_token(app: &TestApp) -> String {
    let r = app.password_grant("particle", "particle", &[]).await;
    r.json["refresh_token"]
        .as_str()
        .expect("refresh_token")
        .to_string()
}
