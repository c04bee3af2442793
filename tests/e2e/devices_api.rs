//! The device half of the API end to end: simulated cores connected through the real
//! protocol, driven over HTTP in both profiles: list, detail, calls in every argument
//! dialect, variables of every type, rename, signal, claim and release, ping, errors.

use crate::common;

use std::time::Duration;

use common::helpers::*;
use reqwest::Method;
use serde_json::json;
use spark_mock_server::{Config, Profile};
use spark_mock_sim::{Behaviour, DeviceHandle, SimDevice, SimEvent};

pub const DEV_ID: &str = "0123456789abcdef01234567";

fn core() -> spark_mock_sim::SimDeviceBuilder {
    SimDevice::builder(DEV_ID)
        .name("sim1")
        .function("led", |arg| i32::from(arg == "on"))
        .function_behaviour("len", Behaviour::ArgLength)
        .function_behaviour("hang", Behaviour::Hang)
        .variable_int("temp", || 42)
        .variable_double("humidity", || 51.5)
        .variable_bool("door", || true)
        .variable_string("status", || "ok".to_string())
}

async fn cloud(profile: Profile) -> (TestApp, String, DeviceHandle) {
    let config = Config {
        device_timeout: Duration::from_millis(500),
        ..config(profile)
    };
    let app = common::devices::spawn_cloud(config).await;
    app.signup(USER, PASSWORD).await;
    let token = app.login("particle", "particle").await;
    let handle = app.add_device(core(), Some(USER)).await;
    (app, token, handle)
}

async fn call(
    app: &TestApp,
    token: &str,
    path: &str,
    rb: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
) -> Reply {
    app.send(rb(app.req(Method::POST, path).bearer_auth(token)))
        .await
}

#[tokio::test]
async fn list_and_detail_have_each_profiles_fields() {
    for profile in PROFILES {
        let (app, token, _dev) = cloud(profile).await;
        let list = app.get_bearer("/v1/devices", &token).await;
        assert_eq!(list.status, 200);
        let d = &list.json[0];
        match profile {
            Profile::Spark2014 => {
                let keys: Vec<&String> = d.as_object().unwrap().keys().collect();
                assert_eq!(keys, ["id", "name", "last_app", "last_heard", "connected"]);
                assert_eq!(
                    (d["id"].as_str(), d["connected"].as_bool()),
                    (Some(DEV_ID), Some(true))
                );
            }
            Profile::Particle => {
                assert_eq!(
                    (d["connected"].as_bool(), d["online"].as_bool()),
                    (Some(true), Some(true))
                );
                assert_eq!(d["last_ip_address"], "127.0.0.1");
                assert_eq!(d["platform_id"], 0);
                // A stock Core's Hello says product 0xFFFF: reported as its platform, 0.
                assert_eq!(d["product_id"], 0);
                assert!(d["last_heard"].as_str().unwrap().ends_with('Z'));
                assert!(d.get("last_handshake_at").is_some());
            }
        }
        let detail = app.get_bearer("/v1/devices/sim1", &token).await;
        assert_eq!(detail.status, 200, "{}", detail.text);
        assert_eq!(
            detail.json["variables"],
            json!({"door": "bool", "humidity": "double", "status": "string", "temp": "int32"})
        );
        let mut fns: Vec<&str> = detail.json["functions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap())
            .collect();
        fns.sort();
        assert_eq!(fns, ["hang", "led", "len"]);
        if profile == Profile::Spark2014 {
            let keys: Vec<&String> = detail.json.as_object().unwrap().keys().collect();
            assert_eq!(
                keys,
                [
                    "id",
                    "name",
                    "connected",
                    "variables",
                    "functions",
                    "cc3000_patch_version"
                ]
            );
        }
    }
}

#[tokio::test]
async fn functions_take_every_argument_dialect() {
    for profile in PROFILES {
        let (app, token, _dev) = cloud(profile).await;
        let r = call(&app, &token, "/v1/devices/sim1/led", |rb| {
            rb.json(&json!({"args": "on"}))
        })
        .await;
        assert_eq!(
            (r.status, &r.json["return_value"]),
            (200, &json!(1)),
            "{}",
            r.text
        );
        assert_eq!(r.json["id"], DEV_ID);
        for (field, value, want) in [
            ("arg", "four", 4),
            ("args", "hello", 5),
            ("params", "a,b,c", 5),
            ("whatever", "xy", 2),
        ] {
            let r = call(&app, &token, &format!("/v1/devices/{DEV_ID}/len"), |rb| {
                rb.form(&[(field, value)])
            })
            .await;
            assert_eq!(r.json["return_value"], want, "{field}={value}: {}", r.text);
        }
        let r = call(&app, &token, "/v1/devices/sim1/len", |rb| {
            rb.json(&json!({"arg": "abc"}))
        })
        .await;
        assert_eq!(r.json["return_value"], 3);
        let r = call(&app, &token, "/v1/devices/sim1/len?format=raw", |rb| {
            rb.form(&[("arg", "abcdef")])
        })
        .await;
        assert_eq!((r.status, r.text.as_str()), (200, "6"));
        assert!(r.header("content-type").unwrap().starts_with("text/plain"));
        // The token in the form body, as 2014 clients sent it.
        let r = app
            .send(
                app.req(Method::POST, "/v1/devices/sim1/led")
                    .form(&[("access_token", token.as_str()), ("args", "on")]),
            )
            .await;
        assert_eq!(r.json["return_value"], 1, "{}", r.text);
    }
}

/// Paused clock: a function that never answers waits out the 500 ms device timeout in no real time.
#[tokio::test(start_paused = true)]
async fn function_errors_per_profile() {
    common::devices::pace_paused_clock();
    for profile in PROFILES {
        let (app, token, dev) = cloud(profile).await;
        let r = call(&app, &token, "/v1/devices/sim1/nofn", |rb| {
            rb.json(&json!({"args": "x"}))
        })
        .await;
        let msg = match profile {
            Profile::Spark2014 => "Function not found",
            Profile::Particle => "Function nofn not found",
        };
        expect(&r, 404, json!({"ok": false, "error": msg}));
        let long = "x".repeat(64);
        let r = call(&app, &token, "/v1/devices/sim1/len", |rb| {
            rb.json(&json!({"args": long}))
        })
        .await;
        assert_eq!(
            (r.status, &r.json["ok"]),
            (400, &json!(false)),
            "{}",
            r.text
        );
        let ok63 = "x".repeat(63);
        let r = call(&app, &token, "/v1/devices/sim1/len", |rb| {
            rb.json(&json!({"args": ok63}))
        })
        .await;
        assert_eq!(r.json["return_value"], 63);
        // A function that never answers, then a device that is gone.
        let timed_out = |r: &Reply| match profile {
            Profile::Spark2014 => expect(r, 408, json!({"error": "Timed out."})),
            Profile::Particle => expect(r, 400, json!({"ok": false, "error": "Timed out."})),
        };
        timed_out(
            &call(&app, &token, "/v1/devices/sim1/hang", |rb| {
                rb.json(&json!({}))
            })
            .await,
        );
        dev.shutdown().await;
        app.wait_device(DEV_ID, "offline", |d| !d.online).await;
        timed_out(
            &call(&app, &token, "/v1/devices/sim1/led", |rb| {
                rb.json(&json!({"args": "on"}))
            })
            .await,
        );
        timed_out(&app.get_bearer("/v1/devices/sim1/temp", &token).await);
        let list = app.get_bearer("/v1/devices", &token).await;
        assert_eq!(list.json[0]["connected"], false);
    }
}

#[tokio::test]
async fn variables_keep_their_type_in_each_profiles_shape() {
    for profile in PROFILES {
        let (app, token, _dev) = cloud(profile).await;
        for (name, value) in [
            ("temp", json!(42)),
            ("humidity", json!(51.5)),
            ("door", json!(true)),
            ("status", json!("ok")),
        ] {
            let r = app
                .get_bearer(&format!("/v1/devices/sim1/{name}"), &token)
                .await;
            assert_eq!(r.status, 200, "{}", r.text);
            assert_eq!((&r.json["name"], &r.json["result"]), (&json!(name), &value));
            match profile {
                Profile::Spark2014 => {
                    assert_eq!(r.json["cmd"], "VarReturn");
                    let info = &r.json["coreInfo"];
                    assert_eq!(
                        (&info["deviceID"], &info["connected"], &info["last_app"]),
                        (&json!(DEV_ID), &json!(true), &json!(""))
                    );
                    assert!(info["last_heard"].is_string());
                }
                Profile::Particle => {
                    assert!(r.json.get("cmd").is_none());
                    let info = &r.json["coreInfo"];
                    assert_eq!(
                        (&info["name"], &info["deviceID"], &info["connected"]),
                        (&json!("sim1"), &json!(DEV_ID), &json!(true))
                    );
                    assert!(info["last_handshake_at"].is_string());
                }
            }
        }
        let r = app
            .get_bearer("/v1/devices/sim1/humidity?format=raw", &token)
            .await;
        assert_eq!(r.text, "51.5");
        let r = app
            .get_bearer(&format!("/v1/devices/sim1/temp?access_token={token}"), "")
            .await;
        assert_eq!(r.status, 400, "two placements at once are refused");
        let r = app
            .send(app.req(
                Method::GET,
                &format!("/v1/devices/sim1/temp?access_token={token}"),
            ))
            .await;
        assert_eq!(r.json["result"], 42);
        let r = app.get_bearer("/v1/devices/sim1/nope", &token).await;
        expect(&r, 404, json!({"ok": false, "error": "Variable not found"}));
    }
}

#[tokio::test]
async fn rename_signal_notes_and_ping() {
    for profile in PROFILES {
        let (app, token, dev) = cloud(profile).await;
        let put = |path: &str, body: serde_json::Value| {
            app.req(Method::PUT, path).bearer_auth(&token).json(&body)
        };
        let r = app
            .send(put("/v1/devices/sim1", json!({"name": "kitchen"})))
            .await;
        match profile {
            Profile::Spark2014 => expect(&r, 200, json!({"ok": true, "name": "kitchen"})),
            Profile::Particle => {
                assert_eq!(
                    (&r.json["id"], &r.json["name"]),
                    (&json!(DEV_ID), &json!("kitchen"))
                );
                assert!(r.json["updated_at"].is_string());
            }
        }
        assert_eq!(
            app.get_bearer("/v1/devices/kitchen/temp", &token)
                .await
                .json["result"],
            42
        );
        let mut events = dev.events();
        let r = app
            .send(
                app.req(Method::PUT, "/v1/devices/kitchen")
                    .bearer_auth(&token)
                    .form(&[("signal", "1")]),
            )
            .await;
        expect(
            &r,
            200,
            json!({"id": DEV_ID, "connected": true, "signaling": true}),
        );
        let got = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                if let Ok(SimEvent::Signal { on }) = events.recv().await {
                    return on;
                }
            }
        })
        .await
        .expect("the simulator saw the signal");
        assert!(got);
        let r = app
            .send(put("/v1/devices/kitchen", json!({"signal": "0"})))
            .await;
        assert_eq!(r.json["signaling"], false);
        let r = app
            .send(put("/v1/devices/kitchen", json!({"notes": "on the shelf"})))
            .await;
        assert_eq!(r.json["notes"], "on the shelf");
        let r = app
            .send(
                app.req(Method::PUT, "/v1/devices/kitchen/ping")
                    .bearer_auth(&token),
            )
            .await;
        expect(&r, 200, json!({"online": true, "ok": true}));
        let r = app.send(put("/v1/devices/kitchen", json!({}))).await;
        assert_eq!(r.status, 400);
    }
}
