//! Event streams and publishing end to end: the exact SSE bytes, prefix matching, the
//! visibility rules between two users, device publishes, and API events reaching device
//! subscriptions.

use crate::common;

use std::time::Duration;

use common::helpers::*;
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{json, Value};
use spark_mock_server::{Config, Profile};
use spark_mock_sim::{SimDevice, SimEvent};

/// Reads an SSE response until `want` events arrived (or 10 s passed); returns the raw text.
async fn read_events(resp: reqwest::Response, want: usize) -> String {
    let mut body = resp.bytes_stream();
    let mut text = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(Ok(chunk)) = body.next().await {
            text.push_str(&String::from_utf8_lossy(&chunk));
            if text.matches("event: ").count() >= want {
                break;
            }
        }
    })
    .await;
    text
}

fn events_in(text: &str) -> Vec<(String, Value)> {
    text.split("\n\n")
        .filter_map(|block| {
            let name = block.lines().find_map(|l| l.strip_prefix("event: "))?;
            let data = block.lines().find_map(|l| l.strip_prefix("data: "))?;
            Some((name.to_string(), serde_json::from_str(data).ok()?))
        })
        .collect()
}

async fn open(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    let r = app
        .http
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{path}");
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    r
}

async fn publish(app: &TestApp, token: &str, body: Value) {
    let r = app
        .send(
            app.req(Method::POST, "/v1/devices/events")
                .bearer_auth(token)
                .json(&body),
        )
        .await;
    expect(&r, 200, json!({"ok": true}));
}

#[tokio::test]
async fn the_stream_format_and_prefix_matching() {
    for profile in PROFILES {
        let app = spawn_with_user(config(profile)).await;
        let token = app.login("particle", "particle").await;
        let stream = open(&app, "/v1/devices/events/temp?nonce=449.66", &token).await;
        publish(&app, &token, json!({"name": "humidity", "data": "1"})).await;
        publish(
            &app,
            &token,
            json!({"name": "temperature", "data": "25.3", "private": true}),
        )
        .await;
        let r = app
            .send(
                app.req(Method::POST, "/v1/devices/events")
                    .bearer_auth(&token)
                    .form(&[("name", "temp"), ("private", "True"), ("ttl", "30")]),
            )
            .await;
        assert_eq!(r.status, 200);
        let text = read_events(stream, 2).await;
        assert!(text.starts_with(":ok\n\n"), "{text:?}");
        let evs = events_in(&text);
        assert_eq!(
            evs.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
            ["temperature", "temp"]
        );
        let (_, d) = &evs[0];
        let keys: Vec<&String> = d.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["data", "ttl", "published_at", "coreid"]);
        assert_eq!(d["data"], "25.3");
        let at = d["published_at"].as_str().unwrap();
        assert!(at.ends_with('Z') && at.len() == 24, "{at}");
        match profile {
            Profile::Spark2014 => {
                assert_eq!(d["ttl"], "60");
                assert_eq!(evs[1].1["ttl"], "30");
                assert_eq!(
                    d["coreid"].as_str().unwrap().len(),
                    24,
                    "the publisher's user id"
                );
            }
            Profile::Particle => {
                assert_eq!(d["ttl"], 60);
                assert_eq!(d["coreid"], "api");
            }
        }
        assert_eq!(evs[1].1["data"], Value::Null);
    }
}

#[tokio::test]
async fn private_events_stay_with_their_owner() {
    let app = spawn_app(config(Profile::Particle)).await;
    app.signup("a@example.com", "pa").await;
    app.signup("b@example.com", "pb").await;
    let ta = app
        .login_user("a@example.com", "pa", "particle", "particle")
        .await;
    let tb = app
        .login_user("b@example.com", "pb", "particle", "particle")
        .await;
    let b_fire = open(&app, "/v1/events", &tb).await;
    let b_mine = open(&app, "/v1/devices/events", &tb).await;
    let a_mine = open(&app, "/v1/devices/events", &ta).await;
    publish(
        &app,
        &ta,
        json!({"name": "a-private", "data": "x", "private": "true"}),
    )
    .await;
    publish(
        &app,
        &ta,
        json!({"name": "a-public", "data": "y", "private": "false"}),
    )
    .await;
    publish(&app, &tb, json!({"name": "b-done", "private": true})).await;
    let fire = read_events(b_fire, 2).await;
    let names = |t: &str| events_in(t).into_iter().map(|e| e.0).collect::<Vec<_>>();
    assert_eq!(
        names(&fire),
        ["a-public", "b-done"],
        "B's firehose: public events and B's own"
    );
    assert_eq!(names(&read_events(b_mine, 1).await), ["b-done"]);
    assert_eq!(
        names(&read_events(a_mine, 2).await),
        ["a-private", "a-public"]
    );
}

/// Someone else's device shows its public events, and only those, whether the stream names
/// it by id or by name (cloud-api.md §6: "public events only if you do not own it"; a
/// name is accepted wherever an id is). By name it used to be 403 while by id it was 200.
#[tokio::test]
async fn another_users_device_shows_its_public_events_by_id_and_by_name() {
    const B_DEV: &str = "bbbbbbbbbbbbbbbbbbbbbbbb";
    for profile in PROFILES {
        let app = spawn_app(config(profile)).await;
        app.signup("a@example.com", "pa").await;
        app.signup("b@example.com", "pb").await;
        let ta = app
            .login_user("a@example.com", "pa", "spark", "spark")
            .await;
        let tb = app
            .login_user("b@example.com", "pb", "spark", "spark")
            .await;
        app.state.devices().upsert(B_DEV, |d| {
            d.owner = Some("b@example.com".into());
            d.name = Some("bdev".into());
        });
        let by_id = open(&app, &format!("/v1/devices/{B_DEV}/events"), &ta).await;
        let by_name = open(&app, "/v1/devices/bdev/events", &ta).await;
        let by_name_prefixed = open(&app, "/v1/devices/bdev/events/te", &ta).await;
        let owners = open(&app, "/v1/devices/bdev/events", &tb).await;
        let devices = app.state.devices();
        devices.device_event(B_DEV, "secret".into(), Some("s".into()), 60, false);
        devices.device_event(B_DEV, "temp".into(), Some("21".into()), 60, true);
        let names = |t: &str| events_in(t).into_iter().map(|e| e.0).collect::<Vec<_>>();
        for (what, stream) in [
            ("id", by_id),
            ("name", by_name),
            ("prefix", by_name_prefixed),
        ] {
            assert_eq!(
                names(&read_events(stream, 1).await),
                ["temp"],
                "{profile}: A's stream of B's device by {what}"
            );
        }
        assert_eq!(names(&read_events(owners, 2).await), ["secret", "temp"]);
        // A device nobody has is still Permission Denied.
        for target in ["nosuchdevice", "ffffffffffffffffffffffff"] {
            let r = app
                .get_bearer(&format!("/v1/devices/{target}/events"), &ta)
                .await;
            assert_eq!(
                (r.status, &r.json["error"]),
                (403, &json!("Permission Denied")),
                "{profile}: {target}"
            );
        }
    }
}

#[tokio::test]
async fn bad_tokens_get_json_before_any_stream() {
    for profile in PROFILES {
        let app = spawn_app(config(profile)).await;
        let r = app
            .get_bearer("/v1/events", "0000000000000000000000000000000000000000")
            .await;
        assert_bad_token(&r, profile, TOKEN_INVALID);
    }
}

#[tokio::test]
async fn devices_publish_to_streams_and_receive_api_events() {
    for profile in PROFILES {
        let cfg = Config {
            device_timeout: Duration::from_millis(500),
            ..config(profile)
        };
        let app = common::devices::spawn_cloud(cfg).await;
        app.signup(USER, PASSWORD).await;
        let token = app.login("particle", "particle").await;
        let dev = SimDevice::builder("0123456789abcdef01234567")
            .name("sim1")
            .publish("heartbeat", Duration::from_millis(50), "beat")
            .subscribe("lights");
        let handle = app.add_device(dev, Some(USER)).await;
        let stream = open(&app, "/v1/devices/sim1/events", &token).await;
        let mut sim_events = handle.events();
        publish(
            &app,
            &token,
            json!({"name": "lights/kitchen", "data": "on", "private": true}),
        )
        .await;
        let got = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                if let Ok(SimEvent::EventReceived { name, data }) = sim_events.recv().await {
                    return (name, data);
                }
            }
        })
        .await
        .expect("the device received the API event");
        assert_eq!(got, ("lights/kitchen".to_string(), "on".to_string()));
        let text = read_events(stream, 2).await;
        let evs = events_in(&text);
        let beat = evs
            .iter()
            .find(|e| e.0 == "heartbeat")
            .expect("device publish on the stream");
        assert_eq!(beat.1["data"], "beat");
        assert_eq!(beat.1["coreid"], "0123456789abcdef01234567");
    }
}
