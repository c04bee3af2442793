//! The HTTP side of provisioning: `POST /v1/provisioning/:id` as spark-server answered it,
//! and the `/__mock` routes a simulator uses to find the port and register itself.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use serde_json::{json, Value};
use spark_mock_protocol::messages::Description;
use spark_mock_server::AppState;
use tower::ServiceExt;

use crate::support::*;

/// One request through the router as `OWNER`; the body as JSON (or a JSON string of the raw
/// text).
async fn call(
    state: &AppState,
    method: Method,
    uri: &str,
    body: Option<(&str, String)>,
) -> (StatusCode, Value) {
    call_as(state, TOKEN, method, uri, body).await
}

/// As [`call`], with the bearer token `token`.
async fn call_as(
    state: &AppState,
    token: &str,
    method: Method,
    uri: &str,
    body: Option<(&str, String)>,
) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    let body = match body {
        Some((content_type, b)) => {
            req = req.header(header::CONTENT_TYPE, content_type);
            Body::from(b)
        }
        None => Body::empty(),
    };
    let resp = spark_mock_server::app(state.clone())
        .oneshot(req.body(body).expect("request"))
        .await
        .expect("response");
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .expect("body");
    let text = String::from_utf8_lossy(&bytes).into_owned();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn form(pairs: &[(&str, &str)]) -> Option<(&'static str, String)> {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    Some(("application/x-www-form-urlencoded", s.finish()))
}

#[tokio::test]
async fn provisioning_registers_the_key_the_handshake_uses() {
    let port = Port::with_user().await;
    let id = new_id().to_hex();
    let pem = device_key().public_pem().expect("pem");
    let uri = format!("/v1/provisioning/{id}");
    let post = |pairs: &[(&str, &str)]| call(&port.state, Method::POST, &uri, form(pairs));

    let (status, body) = post(&[("publicKey", &pem)]).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            json!({"error": "No deviceID provided"})
        )
    );
    let (status, body) = post(&[("deviceID", &id)]).await;
    assert_eq!(
        (status, body),
        (StatusCode::BAD_REQUEST, json!({"error": "No key provided"}))
    );
    let (status, body) = post(&[("deviceID", &id), ("publicKey", "not a key")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("Key error")),
        "{body}"
    );
    let other = new_id().to_hex();
    let (status, _) = post(&[("deviceID", &other), ("publicKey", &pem)]).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "deviceID must match the URL"
    );

    let (status, body) = post(&[("deviceID", &id), ("publicKey", &pem)]).await;
    assert_eq!((status, body), (StatusCode::OK, json!("Success!")));
    let parsed = id.parse().expect("id");
    let mut dev = Device::connect(&port, parsed, device_key(), false)
        .await
        .expect("the provisioned key works");
    dev.hello().await;
}

/// The takeover of issue 12: another user's token must not replace a claimed device's key
/// (the attacker would then connect as the device, receive its owner's function calls and
/// publish its owner's private events). The owner, and anyone for an unclaimed device, may.
#[tokio::test]
async fn only_the_owner_can_replace_a_claimed_devices_key() {
    let port = Port::with_users().await;
    let victim = new_id();
    let hex = victim.to_hex();
    port.provision(&victim, device_key(), Some(OWNER));
    let mine = device_key().public_pem().expect("pem");
    let theirs = other_key().public_pem().expect("pem");
    let uri = format!("/v1/provisioning/{hex}");
    let post = |token: &'static str, pem: &str| {
        call_as(
            &port.state,
            token,
            Method::POST,
            &uri,
            form(&[("deviceID", &hex), ("publicKey", pem)]),
        )
    };

    let (status, body) = post(OTHER_TOKEN, &theirs).await;
    assert_eq!(
        (status, body),
        (
            StatusCode::FORBIDDEN,
            json!({"ok": false, "error": "Permission Denied: the device belongs to another user"})
        )
    );
    assert_eq!(port.state.devices().public_key(&hex), Some(mine.clone()));
    // The id in upper case is the same device.
    let upper = format!("/v1/provisioning/{}", hex.to_ascii_uppercase());
    let (status, _) = call_as(
        &port.state,
        OTHER_TOKEN,
        Method::POST,
        &upper,
        form(&[
            ("deviceID", &hex.to_ascii_uppercase()),
            ("publicKey", &theirs),
        ]),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(port.state.devices().public_key(&hex), Some(mine.clone()));

    // The attacker's key cannot handshake as the device, appended or not.
    for append in [false, true] {
        assert!(
            Device::connect(&port, victim, other_key(), append)
                .await
                .is_err(),
            "the attacker's key must not open a session (append {append})"
        );
    }
    // The device still connects with its own key, and its owner's calls reach it.
    let mut dev = Device::connect(&port, victim, device_key(), false)
        .await
        .expect("the owner's device keeps its key");
    dev.hello().await;
    dev.answer_describe(&Description {
        functions: vec!["led".into()],
        ..Description::default()
    })
    .await;
    let pending = tokio::spawn({
        let state = port.state.clone();
        let uri = format!("/v1/devices/{hex}/led");
        async move { call(&state, Method::POST, &uri, form(&[("arg", "on")])).await }
    });
    let req = dev.recv().await;
    dev.reply(spark_mock_protocol::Packet::empty_ack(req.message_id))
        .await;
    let next = dev.ids.next_id();
    dev.reply(spark_mock_protocol::Packet::function_return(
        next, req.token, 7,
    ))
    .await;
    let (status, body) = pending.await.expect("call");
    assert_eq!((status, &body["return_value"]), (StatusCode::OK, &json!(7)));
    drop(dev);

    // The owner may replace the key; the new one then works.
    let (status, body) = post(TOKEN, &theirs).await;
    assert_eq!((status, body), (StatusCode::OK, json!("Success!")));
    let mut dev = Device::connect(&port, victim, other_key(), false)
        .await
        .expect("the owner's new key");
    dev.hello().await;

    // Anyone may provision a new or an unclaimed device, as spark-server allowed.
    let free = new_id();
    port.provision(&free, device_key(), None);
    for id in [free.to_hex(), new_id().to_hex()] {
        let (status, body) = call_as(
            &port.state,
            OTHER_TOKEN,
            Method::POST,
            &format!("/v1/provisioning/{id}"),
            form(&[("deviceID", &id), ("publicKey", &theirs)]),
        )
        .await;
        assert_eq!((status, body), (StatusCode::OK, json!("Success!")), "{id}");
        assert_eq!(port.state.devices().public_key(&id), Some(theirs.clone()));
    }
}

#[tokio::test]
async fn mock_routes_describe_the_port_and_register_devices() {
    let port = Port::with_user().await;
    let (status, body) = call(&port.state, Method::GET, "/__mock/device-server", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["host"], json!("127.0.0.1"));
    assert_eq!(body["port"], json!(port.addr.port()));
    let server_pem = server_key().public_pem().expect("pem");
    assert_eq!(body["public_key_pem"], json!(server_pem));

    let id = new_id();
    let register_as = |id: String, owner: &str| {
        json!({
            "id": id,
            "public_key_pem": device_key().public_pem().expect("pem"),
            "owner": owner,
            "name": "sim1",
        })
        .to_string()
    };
    let register = |owner: &str| register_as(id.to_hex(), owner);
    let json_body = |b: String| Some(("application/json", b));
    let (status, _) = call(
        &port.state,
        Method::POST,
        "/__mock/devices",
        json_body(register("nobody@example.com")),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "unknown owners are refused"
    );
    let (status, body) = call(
        &port.state,
        Method::POST,
        "/__mock/devices",
        json_body(register(OWNER)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (&body["owner"], &body["name"]),
        (&json!(OWNER), &json!("sim1"))
    );
    // Registering it again is fine; a second device of the owner's named sim1 is not, or
    // "sim1" would silently mean one of them.
    let (status, body) = call(
        &port.state,
        Method::POST,
        "/__mock/devices",
        json_body(register(OWNER)),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let other = new_id().to_hex();
    let (status, body) = call(
        &port.state,
        Method::POST,
        "/__mock/devices",
        json_body(register_as(other.clone(), OWNER)),
    )
    .await;
    let text = format!(
        "{OWNER} already has a device named sim1 ({}): names are unique per owner, so {other} \
         was not registered",
        id.to_hex()
    );
    assert_eq!(
        (status, body),
        (StatusCode::CONFLICT, json!({"ok": false, "error": text}))
    );
    let (_, all) = call(&port.state, Method::GET, "/__mock/devices", None).await;
    assert!(
        !all.to_string().contains(&other),
        "the refused device is not registered: {all}"
    );

    let mut dev = Device::connect(&port, id, device_key(), false)
        .await
        .expect("registered through /__mock/devices");
    dev.hello().await;
    dev.answer_describe(&Description::default()).await;
    let (status, body) = call(&port.state, Method::GET, "/__mock/devices", None).await;
    assert_eq!(status, StatusCode::OK);
    let entry = body
        .as_array()
        .and_then(|all| all.iter().find(|d| d["id"] == json!(id.to_hex())))
        .cloned()
        .expect("listed");
    assert_eq!(entry["online"], json!(true));
    assert_eq!(entry["name"], json!("sim1"));
}

#[tokio::test]
async fn one_shutdown_stops_the_api_and_the_device_port() {
    let state = AppState::new(config()).expect("state");
    let http = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let devices = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let device_addr = devices.local_addr().expect("addr");
    let server = tokio::spawn(spark_mock_server::run_with_devices(
        http,
        Some(devices),
        state.clone(),
    ));
    let port = Port::attach(state.clone(), device_addr);
    let mut bus = port.events();
    let mut dev = port.online(&Description::default()).await;
    next_status(&mut bus, &dev.id).await;
    state.shutdown().trigger();
    assert!(dev.closed_within(WAIT).await, "devices are disconnected");
    let offline = next_status(&mut bus, &dev.id).await;
    assert_eq!(offline.data.as_deref(), Some("offline"));
    let done = tokio::time::timeout(WAIT, server).await.expect("stops");
    assert!(done.expect("task").is_ok());
    assert_eq!(state.device_addr(), None);
}

/// `/__mock/state` lists what each connected device subscribed to, in the Core's terms; a
/// second identical Subscribe is listed once.
#[tokio::test]
async fn state_lists_a_devices_subscriptions() {
    use spark_mock_protocol::messages::Subscribe;
    use spark_mock_protocol::{Message, Token};

    let port = Port::with_user().await;
    let mut dev = port.online(&Description::default()).await;
    let other = "aaaaaaaaaaaaaaaaaaaaaaaa";
    for sub in [
        Subscribe::all("temp"),
        Subscribe::my_devices("door"),
        Subscribe::device(other),
        Subscribe::all("temp"),
    ] {
        let id = dev.send(Message::Subscribe(sub), Token::EMPTY).await;
        let ack = dev.recv().await;
        assert_eq!((ack.message, ack.message_id), (Message::EmptyAck, id));
    }
    let (status, body) = call(&port.state, Method::GET, "/__mock/state", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let device = body["devices"]
        .as_array()
        .and_then(|d| d.iter().find(|d| d["id"] == dev.id.to_hex()))
        .unwrap_or_else(|| panic!("device missing: {body}"));
    assert_eq!(
        device["connection"]["subscriptions"],
        json!([
            {"prefix": "temp", "my_devices": false, "device_id": null},
            {"prefix": "door", "my_devices": true, "device_id": null},
            {"prefix": null, "my_devices": false, "device_id": other},
        ]),
        "{device}"
    );
}
