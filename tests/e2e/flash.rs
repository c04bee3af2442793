//! OTA flashing end to end, in both profiles: a cloud on port 0, a simulated core through
//! the real protocol, and `PUT /v1/devices/:id` with a multipart `file` as particle-cli and
//! particle-api-js send it. A devices-file fragment for the core becomes its firmware (the
//! cloud's Describe changes); any other file leaves it as it was. Offline, busy, unknown
//! devices and missing files get their errors.

use crate::common;

use std::time::Duration;

use common::helpers::*;
use reqwest::Method;
use serde_json::json;
use spark_mock_server::devices::Registry;
use spark_mock_server::{Config, Profile};
use spark_mock_sim::{DeviceHandle, SimDevice};

const DEV_ID: &str = "0123456789abcdef01234567";
const BOUNDARY: &str = "--------------------------spark-mock-test";

const FRAGMENT: &str = r#"[[device]]
name = "sim1"

[[device.function]]
name = "pour"

[[device.variable]]
name = "litres"
type = "double"
value = 1.5
"#;

/// A multipart body as particle-api-js builds it: the file as `file` (named by its path),
/// then `latest=true`.
fn multipart(file: Option<&[u8]>) -> Vec<u8> {
    let mut b = Vec::new();
    if let Some(file) = file {
        b.extend(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; \
             filename=\"/tmp/firmware.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .bytes(),
        );
        b.extend_from_slice(file);
        b.extend(b"\r\n");
    }
    b.extend(
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"latest\"\r\n\r\ntrue\r\n--{BOUNDARY}--\r\n")
            .bytes(),
    );
    b
}

async fn put_file(app: &TestApp, token: &str, device: &str, file: Option<&[u8]>) -> Reply {
    let rb = app
        .req(Method::PUT, &format!("/v1/devices/{device}"))
        .bearer_auth(token)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(multipart(file));
    app.send(rb).await
}

async fn cloud(profile: Profile) -> (TestApp, String, DeviceHandle) {
    let config = Config {
        device_timeout: Duration::from_millis(500),
        ..config(profile)
    };
    let app = common::devices::spawn_cloud(config).await;
    app.signup(USER, PASSWORD).await;
    let token = app.login("particle", "particle").await;
    let core = SimDevice::builder(DEV_ID)
        .name("sim1")
        .function("led", |_| 1);
    let handle = app.add_device(core, Some(USER)).await;
    (app, token, handle)
}

/// Waits (bounded) until the cloud has the Describe of the core's `n`th session.
async fn rebooted(app: &TestApp, handle: &DeviceHandle, n: u64, functions: &[&str]) {
    tokio::time::timeout(Duration::from_secs(30), handle.wait_sessions(n))
        .await
        .expect("reconnected in time")
        .expect("reconnected");
    app.wait_device(DEV_ID, "described", |d| {
        d.online && d.functions == functions
    })
    .await;
}

#[tokio::test]
async fn a_fragment_changes_the_core_and_a_binary_does_not() {
    for profile in PROFILES {
        let (app, token, handle) = cloud(profile).await;
        let mut bus = app.state.bus().subscribe();
        let r = put_file(&app, &token, "sim1", Some(FRAGMENT.as_bytes())).await;
        assert_eq!(
            (r.status, &r.json),
            (200, &json!({"id": DEV_ID, "status": "Update started"})),
            "{profile:?}"
        );
        rebooted(&app, &handle, 2, &["pour"]).await;
        let d = app
            .get_bearer(&format!("/v1/devices/{DEV_ID}"), &token)
            .await;
        assert_eq!(d.json["functions"], json!(["pour"]), "{profile:?}");
        assert_eq!(
            d.json["variables"],
            json!({"litres": "double"}),
            "{profile:?}"
        );
        let mut statuses = Vec::new();
        while statuses.len() < 2 {
            let e = tokio::time::timeout(Duration::from_secs(10), bus.recv())
                .await
                .expect("flash events")
                .expect("bus");
            if e.name == "spark/flash/status" {
                assert_eq!((e.coreid.as_str(), e.public), (DEV_ID, false));
                assert_eq!(e.owner.as_deref(), Some(USER));
                statuses.push(e.data.clone().unwrap_or_default());
            }
        }
        assert_eq!(statuses, ["started", "success"]);

        let binary: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        let r = put_file(&app, &token, DEV_ID, Some(&binary)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        rebooted(&app, &handle, 3, &["pour"]).await;
        let flashed = handle.status().last_flash.expect("flashed");
        assert_eq!((flashed.bytes, flashed.applied), (1000, false));

        let journal = app.get_json("/__mock/requests").await;
        let flashes: Vec<_> = journal["requests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "flash")
            .collect();
        assert_eq!(flashes.len(), 2, "{journal}");
        let last = flashes[1];
        assert_eq!(
            (
                &last["method"],
                &last["path"],
                &last["status"],
                &last["user"]
            ),
            (
                &json!("OTA"),
                &json!(format!("/v1/devices/{DEV_ID}")),
                &json!(200),
                &json!(USER)
            )
        );
        assert_eq!(
            (
                &last["flash"]["bytes"],
                &last["flash"]["chunks"],
                &last["flash"]["resent"]
            ),
            (&json!(1000), &json!(4), &json!(0))
        );
        handle.shutdown().await;
    }
}

/// Paused clock: the slow core's 300 ms answers take no real time.
#[tokio::test(start_paused = true)]
async fn offline_busy_unknown_and_empty_uploads_get_their_errors() {
    common::devices::pace_paused_clock();
    for profile in PROFILES {
        let (app, token, handle) = cloud(profile).await;
        // Missing file: only `latest=true`.
        let r = put_file(&app, &token, "sim1", None).await;
        assert_eq!(
            (r.status, &r.json),
            (400, &json!({"error": "Nothing to do?"}))
        );
        let r = put_file(&app, &token, "nosuchdevice", Some(b"x")).await;
        assert_eq!(
            (r.status, r.json["error"].as_str()),
            (403, Some("Permission Denied"))
        );
        let rb = app
            .req(Method::PUT, "/v1/devices/sim1")
            .bearer_auth(&token)
            .header("content-type", "multipart/form-data")
            .body("x");
        let r = app.send(rb).await;
        assert_eq!(r.status, 400, "no boundary: {}", r.text);
        assert!(r.json["error"]
            .as_str()
            .unwrap()
            .starts_with("Malformed multipart body"));

        // Busy: a second upload while the first one waits for a slow core.
        let slow = SimDevice::builder("0123456789abcdef0123aaaa")
            .name("slow")
            .with_connection(|c| c.answer_delay = Duration::from_millis(300));
        let slow = app.add_device(slow, Some(USER)).await;
        let first = {
            let (base, token) = (app.base.clone(), token.clone());
            tokio::spawn(async move {
                reqwest::Client::new()
                    .put(format!("{base}/v1/devices/slow"))
                    .bearer_auth(token)
                    .header(
                        "content-type",
                        format!("multipart/form-data; boundary={BOUNDARY}"),
                    )
                    .body(multipart(Some(b"firmware")))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            })
        };
        let flashing = |reg: &Registry| reg.is_flashing("0123456789abcdef0123aaaa").then_some(());
        tokio::time::timeout(
            Duration::from_secs(30),
            app.state.devices().wait_until(flashing),
        )
        .await
        .expect("the first update started");
        let r = put_file(&app, &token, "slow", Some(b"again")).await;
        let busy = "A firmware update is already in progress";
        match profile {
            Profile::Spark2014 => assert_eq!((r.status, &r.json["errors"]), (400, &json!([busy]))),
            Profile::Particle => assert_eq!(
                (r.status, &r.json),
                (400, &json!({"ok": false, "error": busy}))
            ),
        }
        assert_eq!(first.await.unwrap().unwrap(), 200);

        // Offline: the core is gone.
        handle.shutdown().await;
        app.wait_device(DEV_ID, "offline", |d| !d.online).await;
        let r = put_file(&app, &token, "sim1", Some(b"firmware")).await;
        let want = match profile {
            Profile::Spark2014 => json!({
                "ok": false,
                "firmware_binary_id": spark_mock_server::devices::flash::firmware_binary_id(b"firmware"),
                "errors": ["Device is not connected."],
            }),
            Profile::Particle => json!({"ok": false, "error": "Device is not connected."}),
        };
        assert_eq!((r.status, &r.json), (400, &want), "{profile:?}");
        slow.shutdown().await;
    }
}
