//! From a webhook and the event that triggered it to the request to send, and from the
//! target's answer to the events published back: plain data, no HTTP. The rules are the
//! webhook reference's ("Default data", "Request Format", "Response Topic", "Multipart
//! responses").

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::hook::{HookConfig, RequestType, INTERNAL_COREID};
use super::mustache::{render, render_json};
use crate::clock::iso_millis;
use crate::events::Event;

/// Responses are published in parts of at most this many bytes.
pub const CHUNK_BYTES: usize = 512;
/// The user agent the cloud's webhook requests carry.
pub const USER_AGENT: &str = "ParticleBot/1.1 (https://docs.particle.io/webhooks)";

/// A request body, by encoding.
#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    Json(Value),
    Form(Vec<(String, String)>),
    /// `body`: sent as rendered, with no content type of its own.
    Raw(String),
}

impl Body {
    pub fn content_type(&self) -> Option<&'static str> {
        match self {
            Body::Json(_) => Some("application/json"),
            Body::Form(_) => Some("application/x-www-form-urlencoded"),
            Body::Raw(_) => None,
        }
    }

    pub fn bytes(&self) -> Vec<u8> {
        match self {
            Body::Json(v) => v.to_string().into_bytes(),
            Body::Form(pairs) => form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish()
                .into_bytes(),
            Body::Raw(s) => s.clone().into_bytes(),
        }
    }
}

/// The request a webhook makes for one event.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub method: RequestType,
    /// The rendered URL; `query` is added to it.
    pub url: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub basic_auth: Option<(String, String)>,
    pub body: Option<Body>,
}

/// The template variables of an event: the predefined ones (and their `SPARK_` names of
/// old), then the fields of the event's data when it is a JSON object.
pub fn context(e: &Event) -> Value {
    let data = e.data.clone().map(Value::String).unwrap_or(Value::Null);
    let at = Value::String(iso_millis(e.published_at));
    let mut m = Map::new();
    for (prefix, device) in [("PARTICLE", "DEVICE_ID"), ("SPARK", "CORE_ID")] {
        m.insert(
            format!("{prefix}_{device}"),
            Value::String(e.coreid.clone()),
        );
        m.insert(
            format!("{prefix}_EVENT_NAME"),
            Value::String(e.name.clone()),
        );
        m.insert(format!("{prefix}_EVENT_VALUE"), data.clone());
        m.insert(format!("{prefix}_PUBLISHED_AT"), at.clone());
    }
    if let Some(Ok(Value::Object(fields))) = e.data.as_deref().map(serde_json::from_str) {
        m.extend(fields);
    }
    Value::Object(m)
}

/// The default fields: `event`, `data` (absent when the event has none), `published_at`,
/// `coreid`.
fn defaults(e: &Event) -> Vec<(String, Value)> {
    let mut d = vec![("event".to_string(), Value::String(e.name.clone()))];
    if let Some(data) = &e.data {
        d.push(("data".into(), Value::String(data.clone())));
    }
    d.push((
        "published_at".into(),
        Value::String(iso_millis(e.published_at)),
    ));
    d.push(("coreid".into(), Value::String(e.coreid.clone())));
    d
}

/// Text of a rendered form, query or header value.
fn field_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Sets `key` to `value`, in place if it is there already.
fn set(pairs: &mut Vec<(String, Value)>, key: String, value: Value) {
    match pairs.iter_mut().find(|(k, _)| *k == key) {
        Some(slot) => slot.1 = value,
        None => pairs.push((key, value)),
    }
}

fn rendered(template: Option<&Map<String, Value>>, ctx: &Value) -> Vec<(String, Value)> {
    template
        .map(|m| {
            m.iter()
                .map(|(k, v)| (render(k, ctx), render_json(v, ctx)))
                .collect()
        })
        .unwrap_or_default()
}

fn texts(pairs: Vec<(String, Value)>) -> Vec<(String, String)> {
    pairs
        .into_iter()
        .map(|(k, v)| (k, field_text(&v)))
        .collect()
}

/// Custom fields over the defaults (unless `noDefaults`).
fn with_defaults(c: &HookConfig, e: &Event, custom: Vec<(String, Value)>) -> Vec<(String, Value)> {
    let mut pairs = if c.no_defaults {
        Vec::new()
    } else {
        defaults(e)
    };
    for (k, v) in custom {
        set(&mut pairs, k, v);
    }
    pairs
}

/// The request for `e`, or why none can be made (a `json` template that did not render to
/// JSON).
pub fn plan(c: &HookConfig, e: &Event) -> Result<Plan, String> {
    let ctx = context(e);
    let form = rendered(c.form.as_ref(), &ctx);
    let query = rendered(c.query.as_ref(), &ctx);
    let (query, body) = if c.request_type.has_body() {
        let body = match (&c.json, &c.body) {
            (Some(t), _) => Some(Body::Json(json_body(c, e, t, &ctx)?)),
            (None, Some(b)) => Some(Body::Raw(render(b, &ctx))),
            (None, None) => {
                let pairs = with_defaults(c, e, form);
                (!pairs.is_empty()).then(|| Body::Form(texts(pairs)))
            }
        };
        (texts(query), body)
    } else {
        let mut pairs = with_defaults(c, e, form);
        for (k, v) in query {
            set(&mut pairs, k, v);
        }
        (texts(pairs), None)
    };
    let basic_auth = c.auth.as_ref().map(|a| {
        let part = |names: [&str; 2]| {
            names
                .iter()
                .find_map(|n| a.get(*n))
                .map(|v| field_text(&render_json(v, &ctx)))
                .unwrap_or_default()
        };
        (part(["username", "user"]), part(["password", "pass"]))
    });
    Ok(Plan {
        method: c.request_type,
        url: render(&c.url, &ctx),
        query,
        headers: texts(rendered(c.headers.as_ref(), &ctx)),
        basic_auth,
        body,
    })
}

fn json_body(c: &HookConfig, e: &Event, template: &Value, ctx: &Value) -> Result<Value, String> {
    let value = match template {
        Value::String(t) => {
            let text = render(t, ctx);
            serde_json::from_str(&text).map_err(|err| {
                format!("the json template did not render to JSON ({err}): {text}")
            })?
        }
        t => render_json(t, ctx),
    };
    Ok(match value {
        Value::Object(m) => Value::Object(
            with_defaults(c, e, m.into_iter().collect())
                .into_iter()
                .collect(),
        ),
        other => other,
    })
}

/// The name prefix of response events: `responseTopic` rendered, by default
/// `hook-response/<event>`.
pub fn response_topic(c: &HookConfig, e: &Event) -> String {
    topic(c.response_topic.as_deref(), "hook-response", e)
}

/// The name prefix of error events: `errorResponseTopic` rendered, by default
/// `hook-error/<event>`.
pub fn error_topic(c: &HookConfig, e: &Event) -> String {
    topic(c.error_response_topic.as_deref(), "hook-error", e)
}

fn topic(template: Option<&str>, default: &str, e: &Event) -> String {
    template
        .map(|t| render(t, &context(e)))
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| format!("{default}/{}", e.name))
}

/// What a successful answer publishes: the body, or `responseTemplate` rendered with the
/// body's JSON (a body that is not JSON is published as it is).
pub fn response_data(c: &HookConfig, body: &str) -> String {
    let Some(template) = &c.response_template else {
        return body.to_string();
    };
    let Ok(data) = serde_json::from_str::<Value>(body) else {
        return body.to_string();
    };
    match template {
        Value::String(t) => render(t, &data),
        t => render_json(t, &data).to_string(),
    }
}

/// The hook-error text for an HTTP error status, as the reference shows it.
pub fn status_error(status: u16, host: &str) -> String {
    format!("error status {status} from {host}")
}

/// `text` in parts of at most [`CHUNK_BYTES`] bytes, cut between characters so no part is
/// invalid UTF-8 (with ASCII, every part but the last is exactly 512 bytes). Empty text
/// has no parts.
pub fn chunks(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let mut cut = rest.len().min(CHUNK_BYTES);
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        // A character is at most 4 bytes, so `cut` stays well above 0.
        let (part, tail) = rest.split_at(cut);
        parts.push(part);
        rest = tail;
    }
    parts
}

/// An event the webhook system publishes to the hook's owner (private, from
/// `particle-internal`).
pub fn internal_event(
    name: String,
    data: Option<String>,
    owner: &str,
    now: DateTime<Utc>,
) -> Event {
    Event {
        name,
        data,
        ttl: 60,
        published_at: now,
        coreid: INTERNAL_COREID.to_string(),
        public: false,
        owner: Some(owner.to_string()),
    }
}

/// `<topic>/0`, `<topic>/1`, … one event per part of `text`.
pub fn part_events(topic: &str, text: &str, owner: &str, now: DateTime<Utc>) -> Vec<Event> {
    chunks(text)
        .into_iter()
        .enumerate()
        .map(|(i, part)| internal_event(format!("{topic}/{i}"), Some(part.to_string()), owner, now))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(fields: Value) -> HookConfig {
        HookConfig::from_fields(|k| fields.get(k)).expect("valid")
    }

    fn event(name: &str, data: Option<&str>) -> Event {
        Event {
            name: name.into(),
            data: data.map(str::to_string),
            ttl: 60,
            published_at: "2017-02-01T21:08:05.763Z".parse().expect("time"),
            coreid: "3f002b000000000000000000".into(),
            public: false,
            owner: Some("a@x".into()),
        }
    }

    /// The reference's "Default data" example, byte for byte.
    #[test]
    fn the_default_form_body() {
        let p = plan(
            &config(json!({"event": "demo", "url": "http://host.com"})),
            &event("demo", Some("mydata")),
        )
        .expect("plan");
        assert_eq!(p.method, RequestType::Post);
        let body = p.body.expect("body");
        assert_eq!(
            body.content_type(),
            Some("application/x-www-form-urlencoded")
        );
        assert_eq!(
            String::from_utf8(body.bytes()).expect("utf-8"),
            "event=demo&data=mydata&published_at=2017-02-01T21%3A08%3A05.763Z&coreid=3f002b000000000000000000"
        );
    }

    /// The reference's "Sending simple data" example.
    #[test]
    fn a_json_template_without_defaults() {
        let c = config(
            json!({"event": "Temperature/", "url": "https://example.com/123456789",
            "json": {"{{PARTICLE_EVENT_NAME}}": "{{{PARTICLE_EVENT_VALUE}}}"}, "noDefaults": true}),
        );
        let p = plan(&c, &event("Temperature/Kitchen", Some("20.00"))).expect("plan");
        assert_eq!(
            String::from_utf8(p.body.expect("body").bytes()).expect("utf-8"),
            r#"{"Temperature/Kitchen":"20.00"}"#
        );
    }

    #[test]
    fn json_templates_merge_defaults_and_string_templates_must_render_json() {
        let c = config(
            json!({"event": "t", "url": "http://x", "json": {"v": "{{t}}", "event": "mine"}}),
        );
        let p = plan(&c, &event("t", Some(r#"{"t":21.1}"#))).expect("plan");
        assert_eq!(
            p.body,
            Some(Body::Json(json!({"event": "mine", "data": "{\"t\":21.1}",
                "published_at": "2017-02-01T21:08:05.763Z", "coreid": "3f002b000000000000000000", "v": "21.1"})))
        );
        let c = config(
            json!({"event": "t", "url": "http://x", "json": "{\"t\": {{t}} }", "noDefaults": true}),
        );
        assert_eq!(
            plan(&c, &event("t", Some(r#"{"t":21.1}"#)))
                .expect("plan")
                .body,
            Some(Body::Json(json!({"t": 21.1})))
        );
        let err = plan(&c, &event("t", Some("not json"))).expect_err("no JSON");
        assert!(
            err.starts_with("the json template did not render to JSON"),
            "{err}"
        );
    }

    /// The reference's "Receiving complex data" request: GET puts the data in the query.
    #[test]
    fn get_sends_defaults_form_and_query_in_the_query_string() {
        let c = config(
            json!({"event": "Elevation", "url": "https://maps.example/json", "requestType": "GET",
            "query": {"locations": "{{{lat}}},{{{lng}}}", "key": "K"}, "noDefaults": true}),
        );
        let p = plan(
            &c,
            &event("Elevation", Some(r#"{"lat":39.7,"lng":-104.9}"#)),
        )
        .expect("plan");
        assert_eq!(p.body, None);
        assert_eq!(
            p.query,
            vec![
                ("locations".into(), "39.7,-104.9".into()),
                ("key".into(), "K".into())
            ]
        );
        let c = config(
            json!({"event": "e", "url": "http://x", "requestType": "GET", "form": {"f": "1"}}),
        );
        let keys: Vec<String> = plan(&c, &event("e", None))
            .expect("plan")
            .query
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, ["event", "published_at", "coreid", "f"]);
    }

    #[test]
    fn url_headers_auth_and_custom_body_are_templates() {
        let c = config(
            json!({"event": "e", "url": "http://x/{{{room}}}", "body": "v={{{PARTICLE_EVENT_VALUE}}}",
            "headers": {"X-Sender": "{{PARTICLE_DEVICE_ID}}"}, "auth": {"username": "u", "password": "{{{pw}}}"}}),
        );
        let p = plan(&c, &event("e", Some(r#"{"room":"kitchen","pw":"s3"}"#))).expect("plan");
        assert_eq!(p.url, "http://x/kitchen");
        assert_eq!(
            p.headers,
            vec![("X-Sender".into(), "3f002b000000000000000000".into())]
        );
        assert_eq!(p.basic_auth, Some(("u".into(), "s3".into())));
        assert_eq!(
            p.body,
            Some(Body::Raw(r#"v={"room":"kitchen","pw":"s3"}"#.into()))
        );
        assert_eq!(p.body.and_then(|b| b.content_type()), None);
    }

    #[test]
    fn topics_templates_and_parts() {
        let e = event("weather", None);
        assert_eq!(
            response_topic(&config(json!({"event": "w", "url": "http://x"})), &e),
            "hook-response/weather"
        );
        assert_eq!(
            error_topic(&config(json!({"event": "w", "url": "http://x"})), &e),
            "hook-error/weather"
        );
        let c = config(
            json!({"event": "w", "url": "http://x", "responseTopic": "{{PARTICLE_DEVICE_ID}}/hook-response/weather",
            "responseTemplate": "{{{results.0.elevation}}}"}),
        );
        assert_eq!(
            response_topic(&c, &e),
            "3f002b000000000000000000/hook-response/weather"
        );
        assert_eq!(
            response_data(&c, r#"{"results":[{"elevation":1608.6}]}"#),
            "1608.6"
        );
        assert_eq!(response_data(&c, "plain"), "plain");
        let long = "x".repeat(1100);
        let parts = part_events("hook-response/w", &long, "a@x", e.published_at);
        let shape: Vec<(&str, usize)> = parts
            .iter()
            .map(|p| (p.name.as_str(), p.data.as_ref().map_or(0, String::len)))
            .collect();
        assert_eq!(
            shape,
            [
                ("hook-response/w/0", 512),
                ("hook-response/w/1", 512),
                ("hook-response/w/2", 76)
            ]
        );
        assert!(parts
            .iter()
            .all(|p| p.coreid == INTERNAL_COREID && !p.public));
        let wide = "é".repeat(300);
        assert!(chunks(&wide)
            .iter()
            .all(|c| c.len() <= CHUNK_BYTES && c.chars().all(|ch| ch == 'é')));
        assert_eq!(chunks(&wide).concat(), wide);
        assert!(chunks("").is_empty());
    }
}
