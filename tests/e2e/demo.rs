//! `spark-mock demo` run as a user would, doing what the README tells users to do: its
//! cores answer the banner's curl lines, come back after `POST /__mock/reset`, and keep
//! their names when a second device of the same name turns up for the demo user.

use crate::common;

use std::time::{Duration, Instant};

use common::bin::*;
use serde_json::{json, Value};

const TOKEN: &str = "5ee0de7000000000000000000000000000000001";
const DEMO_USER: &str = "demo@spark-mock.local";

fn demo() -> Server {
    start(&["demo", "--port", "0", "--password-iterations", "1"], &[])
}

async fn get(http: &reqwest::Client, url: String) -> (u16, Value) {
    let r = http.get(url).bearer_auth(TOKEN).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// Waits, bounded, until the demo user's `coffee` and `garden` are both connected.
async fn wait_for_both_cores(http: &reqwest::Client, base: &str, after: &str) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let (_, list) = get(http, format!("{base}/v1/devices")).await;
        let mut online: Vec<&str> = list
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| d["connected"] == true)
            .filter_map(|d| d["name"].as_str())
            .collect();
        online.sort_unstable();
        if online == ["coffee", "garden"] {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "coffee and garden not both online {after} within {DEADLINE:?}: {list}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn temperature(http: &reqwest::Client, base: &str) -> (u16, Value) {
    get(http, format!("{base}/v1/devices/coffee/temperature")).await
}

fn assert_temperature(reply: (u16, Value)) {
    let (status, v) = reply;
    assert_eq!(status, 200, "{v}");
    assert!(
        v["result"]
            .as_f64()
            .is_some_and(|t| (18.0..=26.0).contains(&t)),
        "{v}"
    );
}

#[tokio::test]
async fn demo_runs_two_cores_that_answer_the_banner_lines() {
    let server = demo();
    let http = reqwest::Client::new();
    wait_for_both_cores(&http, &server.base, "after start").await;
    let r: Value = http
        .post(format!("{}/v1/devices/coffee/brew", server.base))
        .bearer_auth(TOKEN)
        .form(&[("arg", "espresso")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["return_value"], 1);
    assert_temperature(temperature(&http, &server.base).await);
    let (code, _) = server.terminate();
    assert_eq!(code, Some(0));
}

/// The reset returns to the seed, and the demo's cores are part of it: registered again,
/// they reconnect, instead of retrying forever without a key.
#[tokio::test]
async fn the_demo_cores_come_back_after_a_reset() {
    let server = demo();
    let http = reqwest::Client::new();
    wait_for_both_cores(&http, &server.base, "after start").await;
    let r = http
        .post(format!("{}/__mock/reset", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body, json!({"ok": true, "kept_devices": false}));
    let (_, list) = get(&http, format!("{}/v1/devices", server.base)).await;
    assert!(
        list.as_array().is_some_and(|l| l.len() == 2),
        "the seeded cores are registered again at once: {list}"
    );
    wait_for_both_cores(&http, &server.base, "after the reset").await;
    assert_temperature(temperature(&http, &server.base).await);
    let (code, _) = server.terminate();
    assert_eq!(code, Some(0));
}

/// `sim` registers devices through `/__mock/devices`; one named `coffee` for the demo user
/// is refused, so the banner's `coffee` lines keep reaching the demo's core.
#[tokio::test]
async fn a_second_coffee_for_the_demo_user_is_refused() {
    let server = demo();
    let http = reqwest::Client::new();
    wait_for_both_cores(&http, &server.base, "after start").await;
    let (_, all) = get(&http, format!("{}/__mock/devices", server.base)).await;
    let pem = all[0]["public_key_pem"].clone();
    let coffee = all
        .as_array()
        .and_then(|a| a.iter().find(|d| d["name"] == "coffee"))
        .map(|d| d["id"].clone())
        .expect("the demo's coffee");
    let other = "53ff6f065067544840551187";
    let r = http
        .post(format!("{}/__mock/devices", server.base))
        .json(&json!({"id": other, "public_key_pem": pem, "owner": DEMO_USER, "name": "coffee"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let text = format!(
        "{DEMO_USER} already has a device named coffee ({}): names are unique per owner, so \
         {other} was not registered",
        coffee.as_str().unwrap_or_default()
    );
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"ok": false, "error": text})
    );
    assert_temperature(temperature(&http, &server.base).await);
    let (code, _) = server.terminate();
    assert_eq!(code, Some(0));
}
