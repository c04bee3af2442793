//! Ownership on every device and event route: with two users and their devices, no route
//! leaks another user's device, private events or variables; claim and release follow it.

use crate::common;

use std::time::Duration;

use common::helpers::*;
use reqwest::Method;
use serde_json::json;
use spark_mock_server::{Config, Profile};
use spark_mock_sim::SimDevice;

const A_DEV: &str = "aaaaaaaaaaaaaaaaaaaaaaaa";
const B_DEV: &str = "bbbbbbbbbbbbbbbbbbbbbbbb";
const FREE_DEV: &str = "cccccccccccccccccccccccc";

async fn two_users(
    profile: Profile,
) -> (TestApp, String, String, Vec<spark_mock_sim::DeviceHandle>) {
    let cfg = Config {
        device_timeout: Duration::from_millis(500),
        ..config(profile)
    };
    let app = common::devices::spawn_cloud(cfg).await;
    app.signup("a@example.com", "pa").await;
    app.signup("b@example.com", "pb").await;
    let ta = app
        .login_user("a@example.com", "pa", "particle", "particle")
        .await;
    let tb = app
        .login_user("b@example.com", "pb", "particle", "particle")
        .await;
    let dev = |id: &str, name: &str| {
        SimDevice::builder(id)
            .name(name)
            .function("led", |_| 1)
            .variable_int("secret", || 7)
    };
    let handles = vec![
        app.add_device(dev(A_DEV, "adev"), Some("a@example.com"))
            .await,
        app.add_device(dev(B_DEV, "bdev"), Some("b@example.com"))
            .await,
        app.add_device(dev(FREE_DEV, "free"), None).await,
    ];
    (app, ta, tb, handles)
}

#[tokio::test]
async fn no_route_lets_b_touch_as_device() {
    for profile in PROFILES {
        let (app, ta, tb, _h) = two_users(profile).await;
        let list = app.get_bearer("/v1/devices", &tb).await;
        let ids: Vec<&str> = list
            .json
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, [B_DEV], "B lists only B's device");
        let denied = json!({
            "error": "Permission Denied",
            "info": format!("I didn't recognize that device name or ID, try opening https://api.particle.io/v1/devices?access_token={tb}"),
        });
        for target in [A_DEV, "adev", "nosuchdevice", "ffffffffffffffffffffffff"] {
            let routes = [
                (Method::GET, format!("/v1/devices/{target}")),
                (Method::PUT, format!("/v1/devices/{target}")),
                (Method::DELETE, format!("/v1/devices/{target}")),
                (Method::POST, format!("/v1/devices/{target}/led")),
                (Method::GET, format!("/v1/devices/{target}/secret")),
                (Method::PUT, format!("/v1/devices/{target}/ping")),
            ];
            for (method, path) in routes {
                let r = app
                    .send(
                        app.req(method.clone(), &path)
                            .bearer_auth(&tb)
                            .json(&json!({"name": "stolen", "args": "x"})),
                    )
                    .await;
                expect(&r, 403, denied.clone());
                let _ = method;
            }
        }
        // Nothing changed on A's side.
        let d = app.get_bearer("/v1/devices/adev", &ta).await;
        assert_eq!((d.status, &d.json["name"]), (200, &json!("adev")));
        assert_eq!(
            app.get_bearer("/v1/devices/adev/secret", &ta).await.json["result"],
            7
        );
    }
}

/// Every device route checks the token first (from any placement, form body included),
/// then the device: without a valid token the answer is the token error, never a 403 that
/// would tell which devices exist; unclaimed devices are refused like other users'.
#[tokio::test]
async fn device_routes_check_the_token_before_the_device() {
    for profile in PROFILES {
        let (app, ta, tb, _h) = two_users(profile).await;
        let denied = json!({
            "error": "Permission Denied",
            "info": format!("I didn't recognize that device name or ID, try opening https://api.particle.io/v1/devices?access_token={tb}"),
        });
        for target in [FREE_DEV, "free", A_DEV, "nosuchdevice"] {
            let routes = [
                (Method::GET, format!("/v1/devices/{target}")),
                (Method::POST, format!("/v1/devices/{target}/led")),
                (Method::GET, format!("/v1/devices/{target}/ping")),
                (Method::POST, format!("/v1/devices/{target}/ping")),
                (Method::PUT, format!("/v1/devices/{target}/ping")),
            ];
            for (method, path) in routes {
                let r = app.send(app.req(method.clone(), &path)).await;
                assert_oauth_error(
                    &r,
                    profile,
                    400,
                    "invalid_request",
                    "The access token was not found",
                );
                let bogus = "0123456789abcdef0123456789abcdef01234567";
                let r = app
                    .send(app.req(method.clone(), &path).bearer_auth(bogus))
                    .await;
                assert_bad_token(&r, profile, TOKEN_INVALID);
                let r = app.send(app.req(method, &path).bearer_auth(&tb)).await;
                expect(&r, 403, denied.clone());
            }
        }
        // The owner's token in a form body reaches the device.
        let r = app
            .send(
                app.req(Method::POST, "/v1/devices/adev/led")
                    .form(&[("access_token", ta.as_str()), ("arg", "on")]),
            )
            .await;
        assert_eq!(
            (r.status, &r.json["return_value"]),
            (200, &json!(1)),
            "{}",
            r.text
        );
    }
}

#[tokio::test]
async fn claiming_follows_ownership() {
    for profile in PROFILES {
        let (app, ta, tb, _h) = two_users(profile).await;
        let claim = |token: &str, id: &str| {
            app.req(Method::POST, "/v1/devices")
                .bearer_auth(token)
                .json(&json!({"id": id, "request_transfer": false}))
        };
        let r = app.send(claim(&tb, A_DEV)).await;
        let unknown = app.send(claim(&tb, "dddddddddddddddddddddddd")).await;
        match profile {
            Profile::Spark2014 => {
                expect(
                    &r,
                    400,
                    json!({"ok": false, "errors": ["The device belongs to someone else."]}),
                );
                expect(
                    &unknown,
                    404,
                    json!({"ok": false, "errors": ["device not found"]}),
                );
            }
            Profile::Particle => {
                expect(
                    &r,
                    400,
                    json!({"ok": false, "error": "The device belongs to someone else."}),
                );
                expect(
                    &unknown,
                    404,
                    json!({"ok": false, "error": "device not found"}),
                );
            }
        }
        let r = app.send(claim(&tb, FREE_DEV)).await;
        assert_eq!((r.status, &r.json["ok"]), (200, &json!(true)), "{}", r.text);
        assert_eq!(
            app.get_bearer("/v1/devices/free/secret", &tb).await.json["result"],
            7
        );
        // A releases, then B may claim; A loses access.
        let r = app
            .send(
                app.req(Method::DELETE, &format!("/v1/devices/{A_DEV}"))
                    .bearer_auth(&ta),
            )
            .await;
        expect(&r, 200, json!({"ok": true}));
        assert_eq!(app.get_bearer("/v1/devices/adev", &ta).await.status, 403);
        let r = app.send(claim(&tb, A_DEV)).await;
        assert_eq!(r.status, 200);
        assert_eq!(
            app.get_bearer(&format!("/v1/devices/{A_DEV}/secret"), &tb)
                .await
                .json["result"],
            7
        );
    }
}

#[tokio::test]
async fn a_claim_that_would_duplicate_a_name_is_refused() {
    for profile in PROFILES {
        let (app, ta, tb, _h) = two_users(profile).await;
        let rename = |token: &str, id: &str, name: &str| {
            app.req(Method::PUT, &format!("/v1/devices/{id}"))
                .bearer_auth(token)
                .form(&[("name", name)])
        };
        let claim = app
            .req(Method::POST, "/v1/devices")
            .bearer_auth(&tb)
            .json(&json!({"id": A_DEV}));
        // A lets "adev" go; B already calls one of theirs "adev".
        let r = app
            .send(
                app.req(Method::DELETE, &format!("/v1/devices/{A_DEV}"))
                    .bearer_auth(&ta),
            )
            .await;
        expect(&r, 200, json!({"ok": true}));
        assert_eq!(app.send(rename(&tb, B_DEV, "adev")).await.status, 200);
        let r = app.send(claim.try_clone().unwrap()).await;
        expect(&r, 403, json!({"ok": false, "code": 403, "errors": [{}]}));
        assert_eq!(
            app.state.devices().get(A_DEV).unwrap().owner,
            None,
            "not claimed"
        );
        // Once the name is free again the claim goes through.
        assert_eq!(app.send(rename(&tb, B_DEV, "bdev")).await.status, 200);
        let r = app.send(claim).await;
        assert_eq!((r.status, &r.json["ok"]), (200, &json!(true)), "{}", r.text);
        assert_eq!(
            app.get_bearer("/v1/devices/adev/secret", &tb).await.json["result"],
            7
        );
    }
}
