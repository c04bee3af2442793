//! Webhooks (particle profile) end to end: the routes and their shapes, the request the
//! mock sends to a local receiver for a published event (method, content type, body,
//! headers, basic auth), the answer coming back as `hook-response/<event>/<n>` on the
//! owner's event stream, errors as `hook-error/…`, the journal entry of each delivery, a
//! device's event round trip, and spark-2014 without any of it.

use crate::common;

use std::time::Duration;

use common::helpers::*;
use common::receiver::{Answer, Receiver};
use eventsource_stream::Eventsource;
use futures_util::{Stream, StreamExt};
use reqwest::Method;
use serde_json::{json, Value};
use spark_mock_server::Profile;

const OTHER: &str = "other@example.com";

async fn particle() -> (TestApp, String) {
    let app = spawn_with_user(config(Profile::Particle)).await;
    let token = app.login("particle", "particle").await;
    (app, token)
}

async fn create(app: &TestApp, token: &str, body: Value) -> Reply {
    app.send(
        app.req(Method::POST, "/v1/webhooks")
            .bearer_auth(token)
            .json(&body),
    )
    .await
}

/// Creates a webhook; its id.
async fn hook(app: &TestApp, token: &str, body: Value) -> String {
    let r = create(app, token, body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.json["id"].as_str().expect("id").to_string()
}

async fn call(app: &TestApp, method: Method, path: &str, token: &str) -> Reply {
    app.send(app.req(method, path).bearer_auth(token)).await
}

async fn publish(app: &TestApp, token: &str, name: &str, data: &str) {
    let rb = app
        .req(Method::POST, "/v1/devices/events")
        .bearer_auth(token)
        .form(&[("name", name), ("data", data), ("private", "true")]);
    expect(&app.send(rb).await, 200, json!({"ok": true}));
}

/// The caller's event stream (`/v1/devices/events`) as `(name, data JSON)` pairs; open
/// before anything is published (the subscription exists once the headers arrive).
async fn stream(app: &TestApp, token: &str) -> impl Stream<Item = (String, Value)> + Unpin {
    let resp = app
        .http
        .get(app.url("/v1/devices/events"))
        .bearer_auth(token)
        .send()
        .await
        .expect("stream");
    assert_eq!(resp.status(), 200);
    Box::pin(
        resp.bytes_stream()
            .eventsource()
            .filter_map(|e| async move {
                let e = e.ok()?;
                Some((e.event, serde_json::from_str(&e.data).ok()?))
            }),
    )
}

/// The next event whose name starts with `prefix` (others are skipped).
async fn next_named(s: &mut (impl Stream<Item = (String, Value)> + Unpin), prefix: &str) -> Value {
    let wait = async {
        while let Some((name, data)) = s.next().await {
            if name.starts_with(prefix) {
                return data;
            }
        }
        panic!("the stream ended");
    };
    tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .unwrap_or_else(|_| panic!("no {prefix}… event within 30 s"))
}

/// The journal's webhook entries.
async fn deliveries(app: &TestApp) -> Vec<Value> {
    app.get_json("/__mock/requests").await["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .filter(|e| e["kind"] == "webhook")
        .cloned()
        .collect()
}

/// A form body's pairs, decoded.
fn form(body: &str) -> Vec<(String, String)> {
    let url = reqwest::Url::parse(&format!("http://x/?{body}")).expect("form");
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

// ---------------------------------------------------------------------------------------
// The routes.

#[tokio::test]
async fn create_list_show_and_delete_a_webhook() {
    let (app, token) = particle().await;
    let r = create(
        &app,
        &token,
        json!({"event": "temp", "url": "http://127.0.0.1:9/in", "requestType": "POST"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.json["id"].as_str().expect("id").to_string();
    assert!(
        id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
    let created_at = r.json["created_at"]
        .as_str()
        .expect("created_at")
        .to_string();
    assert!(
        created_at.len() == 24 && created_at.ends_with('Z'),
        "{created_at}"
    );
    assert_eq!(
        r.json,
        json!({"ok": true, "id": id, "url": "http://127.0.0.1:9/in", "event": "temp", "name": null,
            "created_at": created_at, "integration_type": "Webhook",
            "hookUrl": format!("{}/v1/webhooks/{id}", app.base)})
    );
    let view = json!({"id": id, "event": "temp", "url": "http://127.0.0.1:9/in",
        "requestType": "POST", "created_at": created_at, "mydevices": true});
    expect(
        &call(&app, Method::GET, "/v1/webhooks", &token).await,
        200,
        json!([view]),
    );
    let path = format!("/v1/webhooks/{id}");
    expect(&call(&app, Method::GET, &path, &token).await, 200, view);

    // Another user neither sees nor deletes it.
    app.signup(OTHER, "pw").await;
    let other = app.login_user(OTHER, "pw", "particle", "particle").await;
    expect(
        &call(&app, Method::GET, "/v1/webhooks", &other).await,
        200,
        json!([]),
    );
    let missing = json!({"ok": false, "error": "no webhook found"});
    expect(
        &call(&app, Method::GET, &path, &other).await,
        404,
        missing.clone(),
    );
    expect(
        &call(&app, Method::DELETE, &path, &other).await,
        404,
        missing.clone(),
    );

    expect(
        &call(&app, Method::DELETE, &path, &token).await,
        200,
        json!({"ok": true}),
    );
    expect(
        &call(&app, Method::DELETE, &path, &token).await,
        404,
        missing,
    );
    expect(
        &call(&app, Method::GET, "/v1/webhooks", &token).await,
        200,
        json!([]),
    );
}

#[tokio::test]
async fn integrations_create_edit_show_and_delete_webhooks() {
    let (app, token) = particle().await;
    let rb = app
        .req(Method::POST, "/v1/integrations")
        .bearer_auth(&token)
        .form(&[
            ("integration_type", "Webhook"),
            ("event", "hello"),
            ("url", "https://samplesite.com"),
            ("requestType", "POST"),
        ]);
    let r = app.send(rb).await;
    assert_eq!(
        (r.status, &r.json["integration_type"]),
        (201, &json!("Webhook")),
        "{}",
        r.text
    );
    let id = r.json["id"].as_str().expect("id").to_string();
    let list = call(&app, Method::GET, "/v1/integrations", &token).await;
    assert_eq!(list.json[0]["integration_type"], "Webhook", "{}", list.text);
    assert_eq!(list.json[0]["event"], "hello");

    // An edit replaces the configuration; left-out event and url stay.
    let path = format!("/v1/integrations/{id}");
    let rb = app
        .req(Method::PUT, &path)
        .bearer_auth(&token)
        .json(&json!({"requestType": "GET", "query": {"q": "{{{PARTICLE_EVENT_VALUE}}}"}}));
    let r = app.send(rb).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let i = &r.json["integration"];
    assert_eq!(
        (
            &i["id"],
            &i["event"],
            &i["url"],
            &i["requestType"],
            &i["query"]
        ),
        (
            &json!(id),
            &json!("hello"),
            &json!("https://samplesite.com"),
            &json!("GET"),
            &json!({"q": "{{{PARTICLE_EVENT_VALUE}}}"})
        )
    );
    let shown = call(&app, Method::GET, &path, &token).await;
    assert_eq!(shown.json, r.json);

    let gone = call(&app, Method::DELETE, &path, &token).await;
    assert_eq!((gone.status, gone.text.as_str()), (204, ""));
    expect(
        &call(&app, Method::GET, &path, &token).await,
        404,
        json!({"ok": false, "error": "no webhook found"}),
    );

    let rb = app
        .req(Method::POST, "/v1/integrations")
        .bearer_auth(&token)
        .json(&json!({"integration_type": "AzureIotHub", "event": "x", "hub_name": "h"}));
    expect(
        &app.send(rb).await,
        400,
        json!({"ok": false,
        "error": "unsupported integration_type AzureIotHub: spark-mock models Webhook integrations only"}),
    );
}

#[tokio::test]
async fn bad_settings_are_400_with_a_reason() {
    let (app, token) = particle().await;
    for (body, error) in [
        (json!({"url": "http://x"}), "no event name provided"),
        (
            json!({"event": "", "url": "http://x"}),
            "no event name provided",
        ),
        (json!({"event": "t"}), "no url provided"),
        (
            json!({"event": "t", "url": "mailto:me@x"}),
            "url must start with http:// or https://",
        ),
        (
            json!({"event": "t", "url": "http://x", "requestType": "PATCH"}),
            "wrong requestType",
        ),
        (
            json!({"event": "t", "url": "http://x", "headers": ["a"]}),
            "headers must be a JSON object",
        ),
        (
            json!({"event": "t", "url": "http://x", "json": {}, "form": {"a": "b"}}),
            "json, form and body are mutually exclusive: give one of them",
        ),
    ] {
        expect(
            &create(&app, &token, body).await,
            400,
            json!({"ok": false, "error": error}),
        );
    }
    // The same from a form body, as curl sends it.
    let rb = app
        .req(Method::POST, "/v1/webhooks")
        .bearer_auth(&token)
        .form(&[("event", "t")]);
    expect(
        &app.send(rb).await,
        400,
        json!({"ok": false, "error": "no url provided"}),
    );
    // And no token at all.
    let r = app
        .send(app.req(Method::POST, "/v1/webhooks").json(&json!({})))
        .await;
    assert_eq!(
        (r.status, &r.json["error_description"]),
        (400, &json!("The access token was not found")),
        "{}",
        r.text
    );
    assert!(app.state.webhooks().list(USER).is_empty());
}

#[tokio::test]
async fn spark_2014_has_no_webhooks() {
    let app = spawn_with_user(config(Profile::Spark2014)).await;
    let token = app.login("spark", "spark").await;
    let not_found = json!({"ok": false, "error": "Not Found"});
    for (method, path) in [
        (Method::GET, "/v1/webhooks"),
        (Method::POST, "/v1/webhooks"),
        (Method::GET, "/v1/webhooks/0123456789abcdef01234567"),
        (Method::DELETE, "/v1/webhooks/0123456789abcdef01234567"),
        (Method::GET, "/v1/integrations"),
        (Method::POST, "/v1/integrations"),
        (Method::PUT, "/v1/integrations/0123456789abcdef01234567"),
    ] {
        let rb = app
            .req(method.clone(), path)
            .bearer_auth(&token)
            .json(&json!({"event": "t", "url": "http://127.0.0.1:9/"}));
        expect(&app.send(rb).await, 404, not_found.clone());
    }
    assert!(app.state.webhooks().list(USER).is_empty());
    // Unknown routes there, whatever the token: no token is no token error.
    for path in ["/v1/webhooks", "/v1/integrations", "/v1/clients"] {
        expect(
            &app.send(app.req(Method::GET, path)).await,
            404,
            not_found.clone(),
        );
        let bogus = app.req(Method::GET, path).bearer_auth("nope");
        expect(&app.send(bogus).await, 404, not_found.clone());
    }
}

// ---------------------------------------------------------------------------------------
// Deliveries.

#[tokio::test]
async fn a_published_event_sends_the_default_form_and_the_answer_comes_back() {
    let (app, token) = particle().await;
    let mut target = Receiver::start().await;
    target.answer(Answer::Reply(200, "thanks".into()));
    let id = hook(
        &app,
        &token,
        json!({"event": "temp", "url": target.url("/in")}),
    )
    .await;
    let mut events = stream(&app, &token).await;

    publish(&app, &token, "temperature", "21.5").await;
    let published = next_named(&mut events, "temperature").await;
    let got = target.next().await;
    assert_eq!((got.method.as_str(), got.uri.as_str()), ("POST", "/in"));
    assert_eq!(
        got.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        got.header("user-agent"),
        Some("ParticleBot/1.1 (https://docs.particle.io/webhooks)")
    );
    // reqwest's default; the cloud's HTTP library sent none.
    assert_eq!(got.header("accept"), Some("*/*"));
    assert_eq!(
        form(&got.body),
        [
            ("event", "temperature"),
            ("data", "21.5"),
            (
                "published_at",
                published["published_at"].as_str().expect("published_at")
            ),
            ("coreid", "api")
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()))
    );

    // hook-sent, then the answer, from particle-internal, private, to the owner only.
    let sent = next_named(&mut events, "hook-sent/temperature").await;
    assert_eq!(
        (&sent["data"], &sent["coreid"]),
        (&Value::Null, &json!("particle-internal"))
    );
    let response = next_named(&mut events, "hook-response/temperature/0").await;
    assert_eq!(
        (&response["data"], &response["coreid"]),
        (&json!("thanks"), &json!("particle-internal"))
    );

    let journal = deliveries(&app).await;
    assert_eq!(journal.len(), 1, "{journal:?}");
    let d = &journal[0];
    assert_eq!(
        (
            &d["method"],
            &d["path"],
            &d["status"],
            &d["user"],
            &d["webhook"],
            &d["event"]
        ),
        (
            &json!("POST"),
            &json!(target.url("/in")),
            &json!(200),
            &json!(USER),
            &json!(id),
            &json!("temperature")
        )
    );
    assert!(d["duration_ms"].as_f64().expect("duration") >= 0.0);
    assert_eq!(d.get("error"), None);
}

#[tokio::test]
async fn templates_json_headers_auth_query_and_a_long_answer_in_parts() {
    let (app, token) = particle().await;
    let mut target = Receiver::start().await;
    let answer = format!("{}{}", "a".repeat(512), "b".repeat(100));
    target.answer(Answer::Reply(201, answer));
    hook(&app, &token, json!({
        "event": "reading",
        "url": target.url("/rooms/{{{room}}}"),
        "requestType": "PUT",
        "json": {"{{PARTICLE_EVENT_NAME}}": "{{{t}}}", "nested": {"raw": "{{{PARTICLE_EVENT_VALUE}}}",
            "escaped": "{{PARTICLE_EVENT_VALUE}}"}, "n": 7},
        "query": {"device": "{{PARTICLE_DEVICE_ID}}", "fixed": "a b"},
        "headers": {"X-Sender": "spark-mock {{room}}"},
        "auth": {"username": "hook-user", "password": "{{{secret}}}"},
        "noDefaults": true,
        "responseTopic": "answer/{{{room}}}",
    })).await;
    let mut events = stream(&app, &token).await;

    let data = r#"{"room":"kitchen","t":21.5,"secret":"s3cret"}"#;
    publish(&app, &token, "reading", data).await;
    let got = target.next().await;
    assert_eq!(
        (got.method.as_str(), got.uri.as_str()),
        ("PUT", "/rooms/kitchen?device=api&fixed=a+b")
    );
    assert_eq!(got.header("content-type"), Some("application/json"));
    assert_eq!(got.header("accept"), Some("application/json"));
    assert_eq!(got.header("x-sender"), Some("spark-mock kitchen"));
    assert_eq!(
        got.header("authorization"),
        Some("Basic aG9vay11c2VyOnMzY3JldA==")
    );
    let body: Value = serde_json::from_str(&got.body).expect("JSON body");
    assert_eq!(
        body,
        json!({"reading": "21.5", "nested": {"raw": data,
        "escaped": data.replace('"', "&quot;")}, "n": 7})
    );

    // 612 bytes: a 512-byte part and the rest, under the custom topic.
    assert_eq!(
        next_named(&mut events, "answer/kitchen/0").await["data"],
        json!("a".repeat(512))
    );
    assert_eq!(
        next_named(&mut events, "answer/kitchen/1").await["data"],
        json!("b".repeat(100))
    );
}

#[tokio::test]
async fn failures_come_back_as_hook_error_and_are_journaled() {
    let (app, token) = particle().await;
    let mut target = Receiver::start().await;
    target.answer(Answer::Reply(500, "boom".into()));
    let failing = hook(
        &app,
        &token,
        json!({"event": "fail", "url": target.url("/x")}),
    )
    .await;
    // A port nobody listens on: bound, then closed.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let refused_at = closed.local_addr().expect("addr");
    drop(closed);
    hook(
        &app,
        &token,
        json!({"event": "nobody", "url": format!("http://{refused_at}/"),
        "errorResponseTopic": "oops/{{PARTICLE_EVENT_NAME}}"}),
    )
    .await;
    let mut events = stream(&app, &token).await;

    publish(&app, &token, "fail", "1").await;
    target.next().await;
    let e = next_named(&mut events, "hook-error/fail/0").await;
    assert_eq!(
        (&e["data"], &e["coreid"]),
        (
            &json!("error status 500 from 127.0.0.1"),
            &json!("particle-internal")
        )
    );

    publish(&app, &token, "nobody", "1").await;
    let e = next_named(&mut events, "oops/nobody/0").await;
    let text = e["data"].as_str().expect("data");
    assert!(
        text.starts_with(&format!("could not connect to {refused_at}: ")),
        "{text}"
    );

    let journal = deliveries(&app).await;
    let shape: Vec<(Value, Value, Value)> = journal
        .iter()
        .map(|d| {
            (
                d["webhook"].clone(),
                d["status"].clone(),
                d["error"].clone(),
            )
        })
        .collect();
    assert_eq!(
        shape[0],
        (
            json!(failing),
            json!(500),
            json!("error status 500 from 127.0.0.1")
        )
    );
    assert_eq!((&shape[1].1, &shape[1].2), (&json!(0), &json!(text)));
}

#[tokio::test]
async fn a_target_that_does_not_answer_in_time_is_a_hook_error() {
    let (app, token) = particle().await;
    let mut target = Receiver::start().await;
    target.answer(Answer::Hang);
    app.state.webhooks().set_timeout(Duration::from_millis(300));
    hook(
        &app,
        &token,
        json!({"event": "slow", "url": target.url("/")}),
    )
    .await;
    let mut events = stream(&app, &token).await;
    publish(&app, &token, "slow", "1").await;
    target.next().await;
    let e = next_named(&mut events, "hook-error/slow/0").await;
    let port = target.base.rsplit(':').next().expect("port");
    assert_eq!(
        e["data"],
        json!(format!(
            "timed out after 300 ms waiting for 127.0.0.1:{port}"
        ))
    );
}

#[tokio::test]
async fn only_the_owners_events_trigger_and_webhook_events_never_do() {
    let (app, token) = particle().await;
    app.signup(OTHER, "pw").await;
    let other = app.login_user(OTHER, "pw", "particle", "particle").await;
    let mut target = Receiver::start().await;
    let mut catch_all = Receiver::start().await;
    hook(
        &app,
        &token,
        json!({"event": "temp", "url": target.url("/")}),
    )
    .await;
    // Would match hook-sent/… and hook-response/… if those could trigger webhooks.
    hook(
        &app,
        &token,
        json!({"event": "h", "url": catch_all.url("/")}),
    )
    .await;
    let mut events = stream(&app, &token).await;

    // Another user's public event of the same name triggers nothing.
    let rb = app
        .req(Method::POST, "/v1/devices/events")
        .bearer_auth(&other)
        .form(&[("name", "temp"), ("data", "theirs")]);
    expect(&app.send(rb).await, 200, json!({"ok": true}));
    publish(&app, &token, "temp", "mine").await;
    assert_eq!(
        form(&target.next().await.body)[1],
        ("data".to_string(), "mine".to_string())
    );
    next_named(&mut events, "hook-response/temp/0").await;

    // Two round trips through the catch-all: only the events published to it arrive.
    for name in ["h1", "h2"] {
        publish(&app, &token, name, "x").await;
        let got = catch_all.next().await;
        assert_eq!(form(&got.body)[0], ("event".to_string(), name.to_string()));
        next_named(&mut events, &format!("hook-response/{name}/0")).await;
    }
    assert!(
        target.try_next().is_none(),
        "another user's event reached the webhook"
    );
    assert!(
        catch_all.try_next().is_none(),
        "a webhook event triggered a webhook"
    );
    let journal = deliveries(&app).await;
    let events: Vec<&Value> = journal.iter().map(|d| &d["event"]).collect();
    assert_eq!(events, [&json!("temp"), &json!("h1"), &json!("h2")]);
}

#[tokio::test]
async fn deleting_the_account_or_resetting_removes_webhooks() {
    let (app, token) = particle().await;
    hook(
        &app,
        &token,
        json!({"event": "a", "url": "http://127.0.0.1:9/"}),
    )
    .await;
    let rb = app
        .req(Method::DELETE, "/v1/user")
        .bearer_auth(&token)
        .form(&[("password", PASSWORD)]);
    assert_eq!(app.send(rb).await.status, 200);
    assert!(app.state.webhooks().list(USER).is_empty());

    app.signup(OTHER, "pw").await;
    let other = app.login_user(OTHER, "pw", "particle", "particle").await;
    hook(
        &app,
        &other,
        json!({"event": "a", "url": "http://127.0.0.1:9/"}),
    )
    .await;
    app.mock_post("/__mock/reset", json!({})).await;
    assert!(app.state.webhooks().list(OTHER).is_empty());
}

#[tokio::test]
async fn a_device_event_reaches_the_target_and_the_answer_reaches_the_device() {
    use spark_mock_sim::{Scope, SimDevice, SimEvent, SubscriptionDef};
    const DEVICE: &str = "0123456789abcdef0123abcd";
    let app = common::devices::spawn_cloud(config(Profile::Particle)).await;
    app.signup(USER, PASSWORD).await;
    let token = app.login("particle", "particle").await;
    let mut target = Receiver::start().await;
    target.answer(Answer::Reply(200, "pong".into()));
    let dev = SimDevice::builder(DEVICE)
        .name("hooky")
        .publish("ping", Duration::from_millis(200), "from ${device.name}")
        .subscribe_def(SubscriptionDef {
            prefix: "hook-response/ping".into(),
            scope: Scope::Mine,
            set_variable: None,
        });
    let handle = app.add_device(dev, Some(USER)).await;
    // Named by the device's name; the webhook keeps its id.
    let id = hook(
        &app,
        &token,
        json!({"event": "ping", "url": target.url("/device"), "deviceID": "hooky"}),
    )
    .await;
    let shown = call(&app, Method::GET, &format!("/v1/webhooks/{id}"), &token).await;
    assert_eq!(shown.json["deviceID"], DEVICE, "{}", shown.text);
    let mut sim_events = handle.events();

    let got = target.next().await;
    let fields = form(&got.body);
    assert_eq!(
        (&fields[0], &fields[1], &fields[3]),
        (
            &("event".to_string(), "ping".to_string()),
            &("data".to_string(), "from hooky".to_string()),
            &("coreid".to_string(), DEVICE.to_string())
        )
    );
    let received = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if let Ok(SimEvent::EventReceived { name, data }) = sim_events.recv().await {
                return (name, data);
            }
        }
    })
    .await
    .expect("the device got the webhook's answer");
    assert_eq!(
        received,
        ("hook-response/ping/0".to_string(), "pong".to_string())
    );
}
