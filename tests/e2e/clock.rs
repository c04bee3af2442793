//! Clock-driven expiry through `/__mock/clock`: no sleeping, exact expired-token errors,
//! and the history saying so.

use crate::common;

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

const OUT_OF_RANGE: &str =
    "the clock must stay between 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z";

/// Issue 12: a clock pushed past what a time can hold panicked on its addition, and every
/// later request that read the clock dropped the connection. Such moves are now a 400 that
/// leaves the clock where it was, and everything that adds to its time keeps working.
#[tokio::test]
async fn out_of_range_clock_moves_are_refused_and_nothing_panics() {
    for profile in PROFILES {
        let app = spawn_with_user(config(profile)).await;
        app.set_clock("9999-12-31T00:00:00Z").await;
        let move_clock =
            |body: serde_json::Value| app.send(app.req(Method::POST, "/__mock/clock").json(&body));
        // Repeated as before the fix: 100 years at a time overflowed after ~2,600 steps.
        for i in 0..3000 {
            let r = move_clock(json!({"advance_secs": 100 * 365 * 86_400_i64})).await;
            assert_eq!(
                (r.status, &r.json),
                (400, &json!({"ok": false, "error": OUT_OF_RANGE})),
                "{profile}: step {i}"
            );
        }
        for body in [
            json!({"advance_secs": i64::MAX}),
            json!({"advance_secs": i64::MIN}),
            json!({"advance_secs": "-9223372036854775807"}),
            json!({"set": "9999-12-31T23:59:59-01:00"}),
            json!({"set": "0000-01-01T00:00:00+01:00"}),
        ] {
            let r = move_clock(body.clone()).await;
            assert_eq!(
                (r.status, &r.json),
                (400, &json!({"ok": false, "error": OUT_OF_RANGE})),
                "{profile}: {body}"
            );
        }
        let clock = app.get_json("/__mock/clock").await;
        assert!(
            clock["now"]
                .as_str()
                .unwrap()
                .starts_with("9999-12-31T00:0"),
            "the clock did not move: {clock}"
        );

        // Everything that adds to the clock's time still answers: default and long token
        // lifetimes, refresh tokens, Build sessions, rate-limit windows and the state.
        let t = app.login("spark", "spark").await;
        assert!(app.works(&t).await);
        let long = app
            .login_with("spark", "spark", &[("expires_in", "3153600000")])
            .await;
        assert!(app.works(&long).await);
        let mut browser = common::web::Browser::new(&app);
        let shown = browser.login_and_read_token(USER, PASSWORD).await;
        assert!(app.works(&shown).await);
        assert_eq!(app.get_bearer("/v1/devices", &shown).await.status, 200);
        let state = app.send(app.req(Method::GET, "/__mock/state")).await;
        assert_eq!(state.status, 200, "{}", state.text);

        // The last second of 9999 is in range, and so is the way back.
        app.set_clock("9999-12-31T23:59:59Z").await;
        app.advance_clock(-100 * 365 * 86_400).await;
        app.set_clock("0000-01-01T00:00:00Z").await;
        let r = move_clock(json!({"advance_secs": -1})).await;
        assert_eq!(r.status, 400, "{}", r.text);
        app.mock_post("/__mock/clock", json!({"reset": true})).await;
        assert!(app.works(&shown).await);
    }
}

/// A saved clock offset no move could have left is a clear start-up error (it panicked,
/// exit 101).
#[tokio::test]
async fn a_bad_saved_clock_offset_is_a_clear_start_up_error() {
    let dir = temp_dir("bad-offset");
    {
        let app = spawn_with_user(spark_mock_server::Config {
            state_dir: Some(dir.clone()),
            ..config(Profile::Particle)
        })
        .await;
        app.advance_clock(86_400).await;
        // A login is saved before its answer, and the clock's offset with it.
        app.login("particle", "particle").await;
        app.state.persist().await.expect("save");
        app.state.close_journal();
    }
    // The offset is in the journal; fold it into state.json, as a later start-up would.
    let segments = spark_mock_server::persist::files::list_segments(&dir).expect("segments");
    spark_mock_server::persist::compact::compact(&dir, &segments).expect("compact");
    let file = dir.join(spark_mock_server::persist::SNAPSHOT_FILE);
    let mut snap: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).expect("state file")).expect("json");
    assert_eq!(snap["clock_offset_secs"], json!(86_400));
    snap["clock_offset_secs"] = json!(i64::MAX);
    std::fs::write(&file, snap.to_string()).expect("write");

    let dir_arg = dir.display().to_string();
    let out = common::bin::command(&["serve", "--port", "0", "--state-dir", &dir_arg], &[])
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("is not a spark-mock state file")
            && err.contains(&format!("clock_offset_secs {}", i64::MAX))
            && err.contains(OUT_OF_RANGE),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
