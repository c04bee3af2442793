//! The console: its page and assets come from the binary, and the admin routes behind it
//! (`/__mock/events`, `/__mock/devices/:id/call/:function`,
//! `/__mock/devices/:id/variables/:name`) work and sit behind the admin guard.

use crate::common;

use std::time::Duration;

use common::fake_device::{connect_fake_device, DEVICE_ID};
use common::helpers::{config, spawn_app, spawn_with_user, TestApp, USER};
use eventsource_stream::Eventsource;
use futures_util::{Stream, StreamExt};
use reqwest::Method;
use serde_json::{json, Value};
use spark_mock_server::{Config, Profile};

#[tokio::test]
async fn the_page_and_its_assets_come_from_the_binary() {
    let app = spawn_app(config(Profile::Spark2014)).await;
    for path in ["/", "/console"] {
        let r = app.send(app.req(Method::GET, path)).await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
        for asset in [
            "/console/dashboard.css",
            "/console/timeline.js",
            "/console/dashboard.js",
        ] {
            assert!(r.text.contains(asset), "{path} links {asset}");
        }
    }
    for (path, kind) in [
        ("/console/dashboard.css", "text/css; charset=utf-8"),
        ("/console/timeline.js", "text/javascript; charset=utf-8"),
        ("/console/dashboard.js", "text/javascript; charset=utf-8"),
        ("/build/build.css", "text/css; charset=utf-8"),
    ] {
        let r = app.send(app.req(Method::GET, path)).await;
        assert_eq!((r.status, r.header("content-type")), (200, Some(kind)));
        assert!(!r.text.is_empty());
        for remote in ["http://", "https://", "//cdn"] {
            assert!(!r.text.contains(remote), "{path} must not fetch {remote}…");
        }
    }
}

/// The admin stream's JSON messages.
async fn feed(app: &TestApp, query: &str) -> impl Stream<Item = Value> {
    let resp = app
        .http
        .get(app.url(&format!("/__mock/events{query}")))
        .send()
        .await
        .expect("stream");
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    resp.bytes_stream()
        .eventsource()
        .filter_map(|e| async move {
            e.ok()
                .and_then(|e| serde_json::from_str::<Value>(&e.data).ok())
        })
}

async fn next_matching(
    stream: &mut (impl Stream<Item = Value> + Unpin),
    want: impl Fn(&Value) -> bool,
) -> Value {
    let wait = async {
        while let Some(v) = stream.next().await {
            if want(&v) {
                return v;
            }
        }
        panic!("the stream ended");
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .expect("a matching message in time")
}

#[tokio::test]
async fn the_admin_stream_carries_every_event_and_change_notices() {
    let app = spawn_with_user(config(Profile::Particle)).await;
    app.signup("other@example.com", "pw").await;
    let mine = app.login("particle", "particle").await;
    let mut stream = Box::pin(feed(&app, "").await);
    let publish = app
        .req(Method::POST, "/v1/devices/events")
        .bearer_auth(&mine)
        .form(&[
            ("name", "secret"),
            ("data", "<b>42</b>"),
            ("private", "true"),
        ]);
    assert_eq!(app.send(publish).await.status, 200);
    let e = next_matching(&mut stream, |v| v["kind"] == "event").await;
    assert_eq!(
        (&e["name"], &e["data"], &e["public"], &e["owner"]),
        (
            &json!("secret"),
            &json!("<b>42</b>"),
            &json!(false),
            &json!(USER)
        ),
        "private events of every user are on the admin stream: {e}"
    );
    app.login("particle", "particle").await;
    let changed = next_matching(&mut stream, |v| v["kind"] == "changed").await;
    let parts = changed["parts"].as_array().expect("parts");
    assert!(parts.contains(&json!("tokens")), "{changed}");
}

#[tokio::test]
async fn functions_and_variables_are_reachable_from_the_console() {
    let app = spawn_with_user(config(Profile::Spark2014)).await;
    let _device = connect_fake_device(&app.state, USER, "lamp");
    let mut stream = Box::pin(feed(&app, "").await);
    let call = |who: &str, function: &str| {
        app.req(
            Method::POST,
            &format!("/__mock/devices/{who}/call/{function}"),
        )
        .json(&json!({"arg": "on"}))
    };
    let r = app.send(call(DEVICE_ID, "led")).await;
    assert_eq!(
        (r.status, &r.json),
        (
            200,
            &json!({"ok": true, "id": DEVICE_ID, "function": "led", "return_value": 1})
        ),
        "{}",
        r.text
    );
    let e = next_matching(&mut stream, |v| v["name"] == "led").await;
    assert_eq!(
        (&e["data"], &e["coreid"]),
        (&json!("on"), &json!(DEVICE_ID))
    );
    assert_eq!(
        app.send(call("lamp", "LED")).await.status,
        200,
        "by name, any case"
    );
    let r = app
        .get_json(&format!("/__mock/devices/{DEVICE_ID}/variables/state"))
        .await;
    assert_eq!(r["result"], "on");
    let r = app
        .get_json("/__mock/devices/lamp/variables/temperature")
        .await;
    assert_eq!((&r["result"], &r["type"]), (&json!(21.5), &json!("double")));
    assert_eq!(app.send(call(DEVICE_ID, "nope")).await.status, 404);
    assert_eq!(app.send(call("no-such-device", "led")).await.status, 404);
    let fault = json!({"device": DEVICE_ID, "fault": "offline"});
    app.mock_post("/__mock/faults", fault).await;
    let r = app.send(call(DEVICE_ID, "led")).await;
    assert_eq!(
        r.status, 503,
        "an injected fault applies as for the owner: {}",
        r.text
    );
}

#[tokio::test]
async fn the_console_routes_sit_behind_the_admin_guard() {
    let app = spawn_with_user(Config {
        admin_token: Some("s3cret".to_string()),
        ..config(Profile::Spark2014)
    })
    .await;
    let r = app.send(app.req(Method::GET, "/__mock/events")).await;
    assert_eq!(r.status, 401);
    let r = app
        .send(app.req(
            Method::POST,
            &format!("/__mock/devices/{DEVICE_ID}/call/led"),
        ))
        .await;
    assert_eq!(r.status, 401);
    let stream = feed(&app, "?admin_token=s3cret").await;
    drop(stream);
    // The page itself holds no data and is served to anyone; its script passes the
    // admin token on from its own URL.
    assert_eq!(app.send(app.req(Method::GET, "/")).await.status, 200);
}
