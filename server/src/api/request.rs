//! One extractor for every route: method, path, headers, query, and the body as form or
//! JSON parameters. Real clients send either encoding, and the token may sit in any of the
//! three places, so handlers look at the whole request rather than one typed body.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, OriginalUri, Request};
use axum::http::{header, HeaderMap, Method};
use serde_json::Value;

use crate::api::error::ApiError;
use crate::api::faults::StreamFaults;
use crate::journal::NoteSlot;
use crate::state::AppState;

/// How the body was encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BodyKind {
    Empty,
    Form,
    Json,
    Other(String),
}

/// Body parameters in the order they came, as JSON values (form values are strings).
#[derive(Clone, Debug, Default)]
pub struct Params(pub Vec<(String, Value)>);

impl Params {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// A parameter as text: strings as they are, numbers and booleans printed.
    pub fn str(&self, key: &str) -> Option<String> {
        self.get(key).and_then(value_text)
    }

    /// A yes/no switch of the admin API: JSON `true`, or the form value `"true"`.
    pub fn flag(&self, key: &str) -> bool {
        self.get(key)
            .is_some_and(|v| v.as_bool().unwrap_or_else(|| v.as_str() == Some("true")))
    }

    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn iter(&self) -> impl Iterator<Item = &(String, Value)> {
        self.0.iter()
    }
}

/// Text of a scalar JSON value; `None` for null, arrays and objects.
pub fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[derive(Clone, Debug)]
pub struct ApiRequest {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub query: Vec<(String, String)>,
    pub kind: BodyKind,
    pub raw_body: Bytes,
    params: Result<Params, String>,
    pub remote_addr: Option<SocketAddr>,
    /// Where handlers note who made the request, for the journal.
    pub note: NoteSlot,
    /// Injected faults for an event stream on this route.
    pub faults: Option<StreamFaults>,
}

impl ApiRequest {
    /// "GET /v1/devices": how the history and the logs name a route.
    pub fn route(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// The body parameters, or a clear 400 if the body could not be read.
    pub fn params(&self) -> Result<&Params, ApiError> {
        self.params
            .as_ref()
            .map_err(|e| ApiError::bad_request(e.clone()))
    }

    /// The body parameters, treating an unreadable body as empty (for auth checks).
    pub fn params_lenient(&self) -> Option<&Params> {
        self.params.as_ref().ok()
    }

    pub fn query_param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A parameter from the body, else from the query string.
    pub fn param(&self, key: &str) -> Option<String> {
        self.params_lenient()
            .and_then(|p| p.str(key))
            .or_else(|| self.query_param(key).map(str::to_string))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn user_agent(&self) -> Option<String> {
        self.header("user-agent").map(str::to_string)
    }

    pub fn remote_ip(&self) -> Option<String> {
        self.remote_addr.map(|a| a.ip().to_string())
    }
}

impl FromRequest<AppState> for ApiRequest {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let limit = state.config().body_limit;
        let (parts, body) = req.into_parts();
        let declared = parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > limit) {
            return Err(ApiError::TooLarge(limit));
        }
        // A body that stops short would otherwise hold the connection (and this task) open
        // for as long as the client likes.
        let deadline = state.config().body_timeout;
        let raw_body = match tokio::time::timeout(deadline, axum::body::to_bytes(body, limit)).await
        {
            Ok(read) => read.map_err(|_| ApiError::TooLarge(limit))?,
            Err(_) => return Err(ApiError::BodyTimeout(deadline)),
        };
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let mime = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        let kind = if mime == "application/x-www-form-urlencoded" {
            BodyKind::Form
        } else if mime == "application/json" || mime.ends_with("+json") {
            BodyKind::Json
        } else if raw_body.is_empty() {
            BodyKind::Empty
        } else {
            BodyKind::Other(mime)
        };
        let params = parse_body(&kind, &raw_body);
        let query = parts
            .uri
            .query()
            .map(|q| form_urlencoded_pairs(q.as_bytes()))
            .unwrap_or_default();
        let remote_addr = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        let note = parts
            .extensions
            .get::<NoteSlot>()
            .cloned()
            .unwrap_or_default();
        let faults = parts.extensions.get::<StreamFaults>().cloned();
        Ok(ApiRequest {
            faults,
            note,
            method: parts.method,
            // Nested routers strip their prefix from `uri`; history wants the full path.
            path: parts
                .extensions
                .get::<OriginalUri>()
                .map(|u| u.0.path().to_string())
                .unwrap_or_else(|| parts.uri.path().to_string()),
            headers: parts.headers,
            query,
            kind,
            raw_body,
            params,
            remote_addr,
        })
    }
}

fn parse_body(kind: &BodyKind, raw: &[u8]) -> Result<Params, String> {
    match kind {
        BodyKind::Empty => Ok(Params::default()),
        BodyKind::Form => Ok(Params(
            form_urlencoded_pairs(raw)
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        )),
        BodyKind::Json if raw.iter().all(u8::is_ascii_whitespace) => Ok(Params::default()),
        BodyKind::Json => match serde_json::from_slice::<Value>(raw) {
            Ok(Value::Object(map)) => Ok(Params(map.into_iter().collect())),
            Ok(_) => Err("The JSON body must be an object".to_string()),
            Err(e) => Err(format!("Malformed JSON body: {e}")),
        },
        // Bodies in other encodings carry no parameters, as with express's parsers.
        BodyKind::Other(_) => Ok(Params::default()),
    }
}

/// Decodes `application/x-www-form-urlencoded` pairs (also used for query strings).
/// Never fails: undecodable bytes become U+FFFD, as browsers do.
pub fn form_urlencoded_pairs(input: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(input).into_owned().collect()
}
