//! The three token placements (header, query, form body) and every row of the
//! "Bearer-auth failures" table (cloud-api.md §2), in both profiles.

use crate::common;

use common::helpers::*;
use reqwest::Method;
use serde_json::json;
use spark_mock_server::Profile;

fn one_method(profile: Profile) -> &'static str {
    match profile {
        Profile::Spark2014 => {
            "Only one method may be used to authenticate at a time (Auth header, GET or POST)."
        }
        // The fork's text has two spaces after "header,".
        Profile::Particle => {
            "Only one method may be used to authenticate at a time (Auth header,  GET or POST)."
        }
    }
}

#[tokio::test]
async fn the_token_works_in_each_of_the_three_places() {
    for profile in PROFILES {
        let app = spawn_with_user(config(profile)).await;
        let t = app.login("spark", "spark").await;
        // 1. Authorization header.
        let r = app.get_bearer("/v1/user", &t).await;
        assert_eq!(
            (r.status, &r.json["username"]),
            (200, &json!(USER)),
            "{profile}"
        );
        // 2. Query string.
        let r = app
            .send(app.req(Method::GET, &format!("/v1/user?access_token={t}")))
            .await;
        assert_eq!(
            (r.status, &r.json["username"]),
            (200, &json!(USER)),
            "{profile}"
        );
        // 3. Form body, on PUT and on DELETE (2014 clients' logout / remove).
        let r = app
            .send(
                app.req(Method::PUT, "/v1/user")
                    .form(&[("access_token", t.as_str())]),
            )
            .await;
        assert_eq!(r.status, 200, "{profile}: {}", r.text);
        assert_eq!(app.history(&t).await["last_used"]["route"], "PUT /v1/user");
        let rb = app
            .req(Method::DELETE, "/v1/access_tokens/current")
            .form(&[("access_token", t.as_str())]);
        let r = app.send(rb).await;
        assert_eq!(
            (r.status, &r.json),
            (200, &json!({"ok": true})),
            "{profile}: {}",
            r.text
        );
        assert!(
            !app.works(&t).await,
            "{profile}: logout by form body did not revoke"
        );
        assert_eq!(app.history(&t).await["use_count"], 4);
    }
}

#[tokio::test]
async fn more_than_one_placement_is_refused_with_the_profile_text() {
    for profile in PROFILES {
        let app = spawn_with_user(config(profile)).await;
        let t = app.login("spark", "spark").await;
        let q = format!("/v1/user?access_token={t}");
        let both = [
            app.req(Method::GET, &q).bearer_auth(&t),
            app.req(Method::PUT, "/v1/user")
                .bearer_auth(&t)
                .form(&[("access_token", t.as_str())]),
            app.req(Method::PUT, &q)
                .form(&[("access_token", t.as_str())]),
            app.req(
                Method::DELETE,
                &format!("/v1/access_tokens/current?access_token={t}"),
            )
            .form(&[("access_token", t.as_str())]),
        ];
        for rb in both {
            let r = app.send(rb).await;
            assert_oauth_error(&r, profile, 400, "invalid_request", one_method(profile));
        }
        assert!(
            app.works(&t).await,
            "{profile}: a refused logout revoked the token"
        );
    }
}

#[tokio::test]
async fn malformed_header_body_on_get_and_non_form_body_are_refused() {
    for profile in PROFILES {
        let app = spawn_with_user(config(profile)).await;
        let t = app.login("spark", "spark").await;
        // The header must match `Bearer\s(\S+)`.
        for header in [
            format!("Token {t}"),
            "Bearer".into(),
            format!("bearer {t}"),
            format!("Bearer  {t}"),
            "Basic dXNlcjpwdw==".into(),
        ] {
            let r = app
                .send(
                    app.req(Method::GET, "/v1/user")
                        .header("authorization", &header),
                )
                .await;
            assert_oauth_error(&r, profile, 400, "invalid_request", "Malformed auth header");
        }
        let r = app
            .send(
                app.req(Method::GET, "/v1/user")
                    .form(&[("access_token", t.as_str())]),
            )
            .await;
        let text = "Method cannot be GET When putting the token in the body.";
        assert_oauth_error(&r, profile, 400, "invalid_request", text);
        let text = "When putting the token in the body, content type must be application/x-www-form-urlencoded.";
        let r = app
            .send(
                app.req(Method::PUT, "/v1/user")
                    .json(&json!({"access_token": t})),
            )
            .await;
        assert_oauth_error(&r, profile, 400, "invalid_request", text);
        let rb = app
            .req(Method::DELETE, "/v1/access_tokens/current")
            .json(&json!({"access_token": t}));
        assert_oauth_error(&app.send(rb).await, profile, 400, "invalid_request", text);
        assert!(app.works(&t).await);
    }
}

#[tokio::test]
async fn missing_unknown_and_dead_tokens() {
    for profile in PROFILES {
        let app = spawn_with_user(config(profile)).await;
        for (method, path) in [
            (Method::GET, "/v1/user"),
            (Method::GET, "/v1/access_tokens/current"),
            (Method::DELETE, "/v1/access_tokens"),
            (Method::PUT, "/v1/user"),
        ] {
            let r = app.send(app.req(method, path)).await;
            assert_oauth_error(
                &r,
                profile,
                400,
                "invalid_request",
                "The access token was not found",
            );
        }
        // Unknown: 400 invalid_grant in 2014, 401 invalid_token today; same text.
        let r = app.get_bearer("/v1/user", &"0".repeat(40)).await;
        assert_bad_token(&r, profile, TOKEN_INVALID);
        let r = app
            .send(app.req(Method::GET, "/v1/user?access_token=nonsense"))
            .await;
        assert_bad_token(&r, profile, TOKEN_INVALID);
        // A revoked token reads like an unknown one to the client.
        let t = app.login("spark", "spark").await;
        let r = app
            .send(
                app.req(Method::DELETE, "/v1/access_tokens/current")
                    .bearer_auth(&t),
            )
            .await;
        assert_eq!(r.status, 200);
        for path in ["/v1/user", "/v1/access_tokens/current"] {
            assert_bad_token(&app.get_bearer(path, &t).await, profile, TOKEN_INVALID);
        }
    }
}
