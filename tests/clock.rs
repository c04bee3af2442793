//! Clock-driven expiry through `/__mock/clock`: no sleeping, exact expired-token errors,
//! and the history saying so.

mod common;

use common::helpers::*;
use reqwest::Method;
use serde_json::json;
use spark_mock_server::Profile;

#[tokio::test]
async fn the_clock_expires_tokens_without_sleeping() {
    for profile in PROFILES {
        let app = spawn_with_user(config(profile)).await;
        let t = app
            .login_with("spark", "spark", &[("expires_in", "60")])
            .await;
        assert!(app.works(&t).await);
        app.advance_clock(30).await;
        assert!(app.works(&t).await, "{profile}: expired early");
        app.advance_clock(31).await;
        let r = app.get_bearer("/v1/user", &t).await;
        assert_bad_token(&r, profile, TOKEN_EXPIRED);
        let h = app.history(&t).await;
        assert_eq!(h["status"], "expired");
        assert!(
            h["death"].as_str().unwrap().starts_with("expired at "),
            "{h}"
        );
        assert!(h["rejected_uses"][0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("expired at "));
        assert!(h["story"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s.as_str().unwrap().ends_with(" expired")));
        // Not listed any more.
        let rb = app
            .req(Method::GET, "/v1/access_tokens")
            .basic_auth(USER, Some(PASSWORD));
        assert_eq!(app.send(rb).await.json, json!([]));

        // `set` jumps to a date; tokens compare against it.
        app.set_clock("2040-01-01T00:00:00Z").await;
        let t = app
            .login_with("spark", "spark", &[("expires_at", "2040-01-01T00:10:00Z")])
            .await;
        assert!(app.works(&t).await);
        app.set_clock("2040-01-01T00:10:01+00:00").await;
        assert_bad_token(
            &app.get_bearer("/v1/user", &t).await,
            profile,
            TOKEN_EXPIRED,
        );
        let clock = app.get_json("/__mock/clock").await;
        assert!(
            clock["now"]
                .as_str()
                .unwrap()
                .starts_with("2040-01-01T00:10:0"),
            "{clock}"
        );
    }
}

#[tokio::test]
async fn clock_requests_are_validated() {
    let app = spawn_app(config(Profile::Particle)).await;
    for body in [
        json!({"advance_secs": "soon"}),
        json!({"set": "yesterday"}),
        json!({}),
    ] {
        let r = app
            .send(app.req(Method::POST, "/__mock/clock").json(&body))
            .await;
        assert_eq!((r.status, &r.json["ok"]), (400, &json!(false)), "{body}");
        assert!(r.json["error"].is_string());
    }
}
