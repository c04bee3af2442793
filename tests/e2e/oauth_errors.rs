//! Every row of the `/oauth/token` error table (cloud-api.md §1), in both profiles, with
//! the exact error, description, status and body shape.

use crate::common;

use common::helpers::*;
use reqwest::Method;
use serde_json::json;
use spark_mock_server::{ClientCheck, Profile};

const NOT_FORM: &str = "Method must be POST with application/x-www-form-urlencoded encoding";
const BAD_GRANT_TYPE: &str = "Invalid or missing grant_type parameter";
const BAD_CLIENT_ID: &str = "Invalid or missing client_id parameter";
const MISSING_SECRET: &str = "Missing client_secret parameter";
const MISSING_USER: &str = "Missing parameters. \"username\" and \"password\" are required";
const BAD_USER: &str = "User credentials are invalid";

#[tokio::test]
async fn request_and_client_errors_in_both_profiles() {
    for profile in PROFILES {
        let app = spawn_with_user(config(profile)).await;
        let token = |rb| app.send(rb);
        // Not POST, or not form-encoded (a GET too, as in lib 1.5.3).
        let r = token(app.req(Method::GET, "/oauth/token")).await;
        assert_oauth_error(&r, profile, 400, "invalid_request", NOT_FORM);
        let body = json!({"grant_type": "password", "username": USER, "password": PASSWORD,
            "client_id": "spark", "client_secret": "spark"});
        let r = token(app.req(Method::POST, "/oauth/token").json(&body)).await;
        assert_oauth_error(&r, profile, 400, "invalid_request", NOT_FORM);
        let r = token(
            app.req(Method::PUT, "/oauth/token")
                .form(&[("grant_type", "password")]),
        )
        .await;
        assert_oauth_error(&r, profile, 400, "invalid_request", NOT_FORM);

        // Missing or unknown grant_type; checked before the client.
        let r = app
            .grant(&[("username", USER), ("password", PASSWORD)])
            .await;
        assert_oauth_error(&r, profile, 400, "invalid_request", BAD_GRANT_TYPE);
        let r = app
            .grant(&[("grant_type", "magic"), ("client_id", "spark")])
            .await;
        assert_oauth_error(&r, profile, 400, "invalid_request", BAD_GRANT_TYPE);
        let r = app.grant(&[("grant_type", "")]).await;
        assert_oauth_error(&r, profile, 400, "invalid_request", BAD_GRANT_TYPE);

        // client_id missing, too short, or with characters outside [a-z0-9-_].
        let r = app
            .grant(&[("grant_type", "password"), ("client_secret", "x")])
            .await;
        assert_oauth_error(&r, profile, 400, "invalid_client", BAD_CLIENT_ID);
        for bad in ["ab", "has space", "é-client", &"x".repeat(41)] {
            let r = app.password_grant(bad, "secret", &[]).await;
            assert_oauth_error(&r, profile, 400, "invalid_client", BAD_CLIENT_ID);
        }
        // A missing or empty secret, in the form or in Basic.
        let r = app
            .grant(&[("grant_type", "password"), ("client_id", "spark")])
            .await;
        assert_oauth_error(&r, profile, 400, "invalid_client", MISSING_SECRET);
        let r = app.password_grant("spark", "", &[]).await;
        assert_oauth_error(&r, profile, 400, "invalid_client", MISSING_SECRET);
        let rb = app
            .req(Method::POST, "/oauth/token")
            .basic_auth("spark", Some(""));
        let r = token(rb.form(&[("grant_type", "password")])).await;
        assert_oauth_error(&r, profile, 400, "invalid_client", MISSING_SECRET);

        // Password grant without username or password: invalid_client, not invalid_grant.
        for form in [
            vec![("username", USER)],
            vec![("password", PASSWORD)],
            vec![("username", USER), ("password", "")],
        ] {
            let mut f = vec![
                ("grant_type", "password"),
                ("client_id", "spark"),
                ("client_secret", "spark"),
            ];
            f.extend(form);
            let r = app.grant(&f).await;
            assert_oauth_error(&r, profile, 400, "invalid_client", MISSING_USER);
        }
        // Wrong password, unknown user.
        let r = app
            .grant(&[
                ("grant_type", "password"),
                ("username", USER),
                ("password", "wrong"),
                ("client_id", "spark"),
                ("client_secret", "spark"),
            ])
            .await;
        assert_oauth_error(&r, profile, 400, "invalid_grant", BAD_USER);
        let r = app
            .grant(&[
                ("grant_type", "password"),
                ("username", "nobody@example.com"),
                ("password", PASSWORD),
                ("client_id", "spark"),
                ("client_secret", "spark"),
            ])
            .await;
        assert_oauth_error(&r, profile, 400, "invalid_grant", BAD_USER);
        assert!(
            app.valid_tokens(USER).await.is_empty(),
            "{profile}: a failed grant issued a token"
        );
    }
}

#[tokio::test]
async fn client_table_checks_credentials_in_each_profile_text() {
    // particle checks its table by default; spark-2014 only when told to.
    let cases = [
        (
            Profile::Particle,
            ClientCheck::Table,
            "Client credentials are invalid",
        ),
        (
            Profile::Spark2014,
            ClientCheck::Table,
            "The client credentials are invalid",
        ),
    ];
    for (profile, check, text) in cases {
        let app = spawn_with_user(spark_mock_server::Config {
            client_check: check,
            ..config(profile)
        })
        .await;
        let r = app.password_grant("particle", "wrong-secret", &[]).await;
        assert_oauth_error(&r, profile, 400, "invalid_client", text);
        let r = app.password_grant("no-such-client", "whatever", &[]).await;
        assert_oauth_error(&r, profile, 400, "invalid_client", text);
        // The documented pairs are in the table.
        app.login("particle", "particle").await;
        app.login("CLI2", "client_secret_here").await;
    }
    // spark-2014 by default: "Any client ID will work right now".
    let app = spawn_with_user(config(Profile::Spark2014)).await;
    for (id, secret) in [
        ("spark", "spark"),
        ("Spark", "Spark"),
        ("spark-cli", "client_secret_here"),
        ("my_app", "x"),
    ] {
        app.login(id, secret).await;
    }
}
