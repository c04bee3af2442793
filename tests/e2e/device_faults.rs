//! Device faults over HTTP with a simulated core: offline, latency, no answer, a dropped
//! connection and refused reconnects; each visible in `/__mock/state` and the journal.

use crate::common;

use std::time::Duration;

use common::helpers::*;
use reqwest::Method;
use serde_json::json;
use spark_mock_server::{Config, Profile};
use spark_mock_sim::SimDevice;

const ID: &str = "0123456789abcdef01234567";

/// Under a paused clock (see [`common::devices::pace_paused_clock`]): the 400 ms device
/// timeouts take no real time.
async fn setup() -> (TestApp, String, spark_mock_sim::DeviceHandle) {
    common::devices::pace_paused_clock();
    let cfg = Config {
        device_timeout: Duration::from_millis(400),
        ..config(Profile::Spark2014)
    };
    let app = common::devices::spawn_cloud(cfg).await;
    app.signup(USER, PASSWORD).await;
    let token = app.login("spark", "spark").await;
    let dev = SimDevice::builder(ID)
        .name("sim1")
        .function("led", |_| 1)
        .with_connection(|c| {
            c.backoff_min = Duration::from_millis(20);
            c.backoff_max = Duration::from_millis(50);
        });
    let handle = app.add_device(dev, Some(USER)).await;
    (app, token, handle)
}

async fn led(app: &TestApp, token: &str) -> Reply {
    app.send(
        app.req(Method::POST, "/v1/devices/sim1/led")
            .bearer_auth(token)
            .form(&[("args", "on")]),
    )
    .await
}

async fn wait_online(app: &TestApp, online: bool) {
    let what = if online { "online" } else { "offline" };
    app.wait_device(ID, what, |d| d.online == online).await;
}

#[tokio::test(start_paused = true)]
async fn offline_disconnects_and_refuses_until_removed() {
    let (app, token, handle) = setup().await;
    let f = app
        .mock_post(
            "/__mock/faults",
            json!({"device": "sim1", "fault": "offline"}),
        )
        .await;
    wait_online(&app, false).await;
    expect(
        &led(&app, &token).await,
        408,
        json!({"error": "Timed out."}),
    );
    let last = app.get_json("/__mock/requests").await["requests"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert!(
        last["fault"].as_str().unwrap().contains("Offline"),
        "{last}"
    );
    let state = app.get_json("/__mock/state").await;
    assert_eq!(state["devices"][0]["online"], false);
    assert_eq!(state["faults"][0]["fault"], "offline");
    // The simulator keeps trying; the fault refuses it until removed.
    let sessions = handle.status().sessions;
    let id = f["fault"]["id"].as_u64().unwrap();
    app.send(app.req(Method::DELETE, &format!("/__mock/faults/{id}")))
        .await;
    tokio::time::timeout(Duration::from_secs(20), handle.wait_sessions(sessions + 1))
        .await
        .unwrap()
        .unwrap();
    wait_online(&app, true).await;
    assert_eq!(led(&app, &token).await.json["return_value"], 1);
}

#[tokio::test(start_paused = true)]
async fn no_answer_times_out_and_latency_within_the_timeout_still_answers() {
    let (app, token, _h) = setup().await;
    app.mock_post(
        "/__mock/faults",
        json!({"device": "sim1", "fault": "no_answer"}),
    )
    .await;
    expect(
        &led(&app, &token).await,
        408,
        json!({"error": "Timed out."}),
    );
    app.send(app.req(Method::DELETE, "/__mock/faults")).await;
    app.mock_post(
        "/__mock/faults",
        json!({"device": ID, "fault": "latency", "ms": 50}),
    )
    .await;
    assert_eq!(led(&app, &token).await.json["return_value"], 1);
    app.send(app.req(Method::DELETE, "/__mock/faults")).await;
    app.mock_post(
        "/__mock/faults",
        json!({"device": ID, "fault": "latency", "ms": 5000}),
    )
    .await;
    expect(
        &led(&app, &token).await,
        408,
        json!({"error": "Timed out."}),
    );
}

#[tokio::test(start_paused = true)]
async fn drop_and_refuse_reconnect_follow_the_clock() {
    let (app, token, handle) = setup().await;
    app.mock_post("/__mock/faults", json!({"device": "sim1", "fault": "drop"}))
        .await;
    tokio::time::timeout(Duration::from_secs(20), handle.wait_sessions(2))
        .await
        .unwrap()
        .unwrap();
    wait_online(&app, true).await;
    assert_eq!(led(&app, &token).await.json["return_value"], 1);

    app.mock_post(
        "/__mock/faults",
        json!({"device": "sim1", "fault": "refuse_reconnect", "secs": 3600}),
    )
    .await;
    wait_online(&app, false).await;
    app.advance_clock(3601).await;
    tokio::time::timeout(Duration::from_secs(20), handle.wait_sessions(3))
        .await
        .unwrap()
        .unwrap();
    wait_online(&app, true).await;
    assert!(
        app.get_json("/__mock/faults").await["faults"]
            .as_array()
            .unwrap()
            .is_empty(),
        "the fault expired"
    );
}
