//! One webhook as the cloud stores it: read from a create request's fields (JSON or form,
//! with the aliases real clients send), checked, and shown back in the API's shape.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::clock::iso_millis;
use crate::events::Event;

/// `coreid` of the events the webhook system publishes itself; such events never trigger a
/// webhook, so responses cannot be chained (webhook reference, "Response Topic").
pub const INTERNAL_COREID: &str = "particle-internal";

/// Why a create or edit request was refused; the text is the `error` of the 400 answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HookError {
    #[error("no event name provided")]
    NoEvent,
    #[error("no url provided")]
    NoUrl,
    #[error("url must start with http:// or https://")]
    BadUrl,
    #[error("wrong requestType")]
    BadRequestType,
    #[error("{0} must be a JSON object")]
    NotAnObject(&'static str),
    #[error("{0} must be a string")]
    NotAString(&'static str),
    #[error("json must be a JSON object, an array or a string")]
    BadJson,
    #[error("json, form and body are mutually exclusive: give one of them")]
    SeveralBodies,
    #[error("unsupported integration_type {0}: spark-mock models Webhook integrations only")]
    IntegrationType(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RequestType {
    Get,
    Post,
    Put,
    Delete,
}

impl RequestType {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_uppercase().as_str() {
            "GET" => Some(Self::Get),
            "POST" => Some(Self::Post),
            "PUT" => Some(Self::Put),
            "DELETE" => Some(Self::Delete),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Delete => "DELETE",
        }
    }

    /// POST and PUT carry a body; GET and DELETE put their data in the query string
    /// (webhook reference, "Request Format").
    pub fn has_body(self) -> bool {
        matches!(self, Self::Post | Self::Put)
    }
}

/// A webhook's settings, without its identity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HookConfig {
    /// The event name prefix that triggers it.
    pub event: String,
    pub url: String,
    pub request_type: RequestType,
    pub device_id: Option<String>,
    pub name: Option<String>,
    /// An object (or array) whose strings are templates, or one template string that must
    /// render to JSON.
    pub json: Option<Value>,
    pub form: Option<Map<String, Value>>,
    pub query: Option<Map<String, Value>>,
    pub body: Option<String>,
    pub headers: Option<Map<String, Value>>,
    pub auth: Option<Map<String, Value>>,
    pub response_topic: Option<String>,
    pub error_response_topic: Option<String>,
    /// A template string, or an object of templates.
    pub response_template: Option<Value>,
    pub no_defaults: bool,
    /// Only the owner's events (today's cloud); `false` adds everyone's public events.
    pub mydevices: bool,
    pub disabled: bool,
    /// Kept and shown; spark-mock has no TLS, so it changes nothing.
    pub reject_unauthorized: bool,
}

/// A stored webhook (saved with `--state-dir`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hook {
    pub id: String,
    pub owner: String,
    pub created_at: DateTime<Utc>,
    pub config: HookConfig,
}

/// A yes/no field: JSON booleans, or the text `true`/`false` of a form.
fn flag(v: Option<&Value>, default: bool) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => true,
            "false" | "0" | "no" => false,
            _ => default,
        },
        _ => default,
    }
}

/// A field that must be an object; a form sends it as JSON text.
fn object(v: Option<&Value>, name: &'static str) -> Result<Option<Map<String, Value>>, HookError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m.clone())),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => Ok(Some(m)),
            _ => Err(HookError::NotAnObject(name)),
        },
        Some(_) => Err(HookError::NotAnObject(name)),
    }
}

fn text(v: Option<&Value>, name: &'static str) -> Result<Option<String>, HookError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone()).filter(|s| !s.is_empty())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(HookError::NotAString(name)),
    }
}

impl HookConfig {
    /// Reads a create or edit request's fields. `field` looks one up by name; the
    /// aliases are those real clients send: `eventName` (the reference), `deviceid`
    /// (particle-cli), `deviceId` (particle-api-js).
    pub fn from_fields<'a>(field: impl Fn(&str) -> Option<&'a Value>) -> Result<Self, HookError> {
        let first = |names: &[&str]| names.iter().find_map(|n| field(n).filter(|v| !v.is_null()));
        let event = text(first(&["event", "eventName"]), "event")?.ok_or(HookError::NoEvent)?;
        let url = text(field("url"), "url")?.ok_or(HookError::NoUrl)?;
        let scheme: String = url
            .trim_start()
            .chars()
            .take(8)
            .collect::<String>()
            .to_ascii_lowercase();
        if !(scheme.starts_with("http://") || scheme.starts_with("https://")) {
            return Err(HookError::BadUrl);
        }
        let request_type = match text(field("requestType"), "requestType")? {
            None => RequestType::Post,
            Some(t) => RequestType::parse(&t).ok_or(HookError::BadRequestType)?,
        };
        let json = match field("json") {
            None | Some(Value::Null) => None,
            Some(v @ (Value::Object(_) | Value::Array(_))) => Some(v.clone()),
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(v @ Value::String(_)) => Some(v.clone()),
            Some(_) => return Err(HookError::BadJson),
        };
        let form = object(field("form"), "form")?;
        let body = text(field("body"), "body")?;
        if [json.is_some(), form.is_some(), body.is_some()]
            .iter()
            .filter(|b| **b)
            .count()
            > 1
        {
            return Err(HookError::SeveralBodies);
        }
        let response_template = match field("responseTemplate") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.is_empty() => None,
            Some(v @ (Value::String(_) | Value::Object(_))) => Some(v.clone()),
            Some(_) => return Err(HookError::NotAString("responseTemplate")),
        };
        Ok(HookConfig {
            event,
            url,
            request_type,
            device_id: text(first(&["deviceID", "deviceId", "deviceid"]), "deviceID")?,
            name: text(field("name"), "name")?,
            json,
            form,
            query: object(field("query"), "query")?,
            body,
            headers: object(field("headers"), "headers")?,
            auth: object(field("auth"), "auth")?,
            response_topic: text(field("responseTopic"), "responseTopic")?,
            error_response_topic: text(field("errorResponseTopic"), "errorResponseTopic")?,
            response_template,
            no_defaults: flag(field("noDefaults"), false),
            mydevices: flag(field("mydevices"), true),
            disabled: flag(field("disabled"), false),
            reject_unauthorized: flag(field("rejectUnauthorized"), true),
        })
    }
}

/// Whether an event name is one of the webhook system's own (`hook-sent/`,
/// `hook-response/`, `hook-error/`), which never trigger a webhook.
pub fn is_hook_event(name: &str) -> bool {
    ["hook-sent/", "hook-response/", "hook-error/"]
        .iter()
        .any(|p| name.starts_with(p))
}

impl Hook {
    /// Whether `e` triggers this webhook: the name starts with the prefix, the source is
    /// the owner's (a device or an API publish; with `mydevices` off, also anyone's public
    /// events), the device filter matches, and the event is not the webhook system's own.
    pub fn matches(&self, e: &Event) -> bool {
        let c = &self.config;
        if c.disabled || e.coreid == INTERNAL_COREID || is_hook_event(&e.name) {
            return false;
        }
        if !e.name.starts_with(c.event.as_str()) {
            return false;
        }
        if c.device_id.as_deref().is_some_and(|d| d != e.coreid) {
            return false;
        }
        let own = e.owner.as_deref() == Some(self.owner.as_str());
        own || (!c.mydevices && e.public)
    }

    /// The list entry (`GET /v1/webhooks`): the fields particle-api-js's `WebhookInfo`
    /// names, then every optional setting that was given.
    pub fn view(&self) -> Value {
        let c = &self.config;
        let mut v = json!({
            "id": self.id,
            "event": c.event,
            "url": c.url,
            "requestType": c.request_type.as_str(),
            "created_at": iso_millis(self.created_at),
        });
        let Some(m) = v.as_object_mut() else {
            return v;
        };
        let mut put = |k: &str, val: Option<Value>| {
            if let Some(val) = val {
                m.insert(k.to_string(), val);
            }
        };
        put("deviceID", c.device_id.clone().map(Value::String));
        put("name", c.name.clone().map(Value::String));
        put("json", c.json.clone());
        put("form", c.form.clone().map(Value::Object));
        put("query", c.query.clone().map(Value::Object));
        put("body", c.body.clone().map(Value::String));
        put("headers", c.headers.clone().map(Value::Object));
        put("auth", c.auth.clone().map(Value::Object));
        put("responseTopic", c.response_topic.clone().map(Value::String));
        put(
            "errorResponseTopic",
            c.error_response_topic.clone().map(Value::String),
        );
        put("responseTemplate", c.response_template.clone());
        put("noDefaults", c.no_defaults.then_some(Value::Bool(true)));
        put("mydevices", Some(Value::Bool(c.mydevices)));
        put("disabled", c.disabled.then_some(Value::Bool(true)));
        put(
            "rejectUnauthorized",
            (!c.reject_unauthorized).then_some(Value::Bool(false)),
        );
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(fields: Value) -> Result<HookConfig, HookError> {
        HookConfig::from_fields(|k| fields.get(k))
    }

    fn hook(fields: Value) -> Hook {
        Hook {
            id: "h".into(),
            owner: "a@x".into(),
            created_at: Utc::now(),
            config: config(fields).expect("valid"),
        }
    }

    fn event(name: &str, coreid: &str, owner: &str, public: bool) -> Event {
        Event {
            name: name.into(),
            data: None,
            ttl: 60,
            published_at: Utc::now(),
            coreid: coreid.into(),
            public,
            owner: Some(owner.into()),
        }
    }

    #[test]
    fn the_required_fields_and_their_errors() {
        assert_eq!(config(json!({"url": "http://x"})), Err(HookError::NoEvent));
        assert_eq!(config(json!({"event": "t"})), Err(HookError::NoUrl));
        assert_eq!(
            config(json!({"event": "t", "url": "ftp://x"})),
            Err(HookError::BadUrl)
        );
        assert_eq!(
            config(json!({"event": "t", "url": "http://x", "requestType": "PATCH"})),
            Err(HookError::BadRequestType)
        );
        assert_eq!(
            config(json!({"event": "t", "url": "http://x", "form": {}, "body": "b"})),
            Err(HookError::SeveralBodies)
        );
        assert_eq!(
            config(json!({"event": "t", "url": "http://x", "headers": "nope"})),
            Err(HookError::NotAnObject("headers"))
        );
        let c = config(
            json!({"eventName": "t", "url": "HTTP://x", "deviceid": "d1",
            "requestType": "get", "form": "{\"a\":\"b\"}", "noDefaults": "true"}),
        )
        .expect("valid");
        assert_eq!(
            (c.event.as_str(), c.request_type, c.device_id.as_deref()),
            ("t", RequestType::Get, Some("d1"))
        );
        assert_eq!(c.form, json!({"a": "b"}).as_object().cloned());
        assert!(c.no_defaults && c.mydevices && !c.disabled && c.reject_unauthorized);
    }

    #[test]
    fn matching_by_prefix_owner_device_and_source() {
        let h = hook(json!({"event": "temp", "url": "http://x"}));
        assert!(h.matches(&event("temperature", "dev", "a@x", false)));
        assert!(!h.matches(&event("high_temp", "dev", "a@x", false)));
        assert!(
            !h.matches(&event("temp", "dev", "b@x", true)),
            "another user's"
        );
        assert!(!h.matches(&event("temp", INTERNAL_COREID, "a@x", false)));
        let h = hook(json!({"event": "hook", "url": "http://x"}));
        assert!(!h.matches(&event("hook-response/temp/0", "dev", "a@x", false)));
        let h = hook(json!({"event": "t", "url": "http://x", "deviceID": "d1"}));
        assert!(h.matches(&event("t", "d1", "a@x", false)));
        assert!(!h.matches(&event("t", "d2", "a@x", false)));
        let h = hook(json!({"event": "t", "url": "http://x", "mydevices": false}));
        assert!(h.matches(&event("t", "d9", "b@x", true)));
        assert!(!h.matches(&event("t", "d9", "b@x", false)));
        let h = hook(json!({"event": "t", "url": "http://x", "disabled": true}));
        assert!(!h.matches(&event("t", "d1", "a@x", false)));
    }
}
