//! Response shaping, one module per profile. Everything a client can see that differs
//! between the 2014 Spark cloud and today's Particle cloud is decided here and nowhere else.

mod particle;
mod spark2014;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::api::error::ApiError;
use crate::config::Profile;
use crate::domain::token::TokenRecord;

/// A JSON response with the cloud's content type.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    resp
}

/// `200 {"ok":true}`.
pub fn ok() -> Response {
    json_response(StatusCode::OK, &json!({"ok": true}))
}

/// The outcome of `POST /v1/users` before shaping.
pub enum Signup {
    Created,
    MissingFields,
    Taken,
}

pub trait Shape: Send + Sync {
    /// Renders any error in this profile's shape.
    fn error(&self, err: &ApiError) -> Response;
    /// The body of a successful `POST /oauth/token`.
    fn token(&self, token: &TokenRecord, now: DateTime<Utc>) -> Response;
    /// The answer to `POST /v1/users`.
    fn signup(&self, outcome: Signup) -> Response;
    /// The text for a request that carries its token in more than one place.
    fn one_method_text(&self) -> &'static str;
}

pub fn shape(profile: Profile) -> &'static dyn Shape {
    match profile {
        Profile::Spark2014 => &spark2014::Spark2014,
        Profile::Particle => &particle::Particle,
    }
}

/// Shapes shared by both profiles: the `{ok:false,…}` API errors, 404, 405 and 413.
fn common_error(err: &ApiError) -> Option<Response> {
    Some(match err {
        ApiError::OAuth(_) => return None,
        ApiError::Message { status, message } => {
            json_response(*status, &json!({"ok": false, "error": message}))
        }
        ApiError::Messages { status, messages } => {
            json_response(*status, &json!({"ok": false, "errors": messages}))
        }
        ApiError::Body { status, body } => json_response(*status, body),
        ApiError::TooLarge(limit) => json_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            &json!({"ok": false, "error": format!("Request body is larger than {limit} bytes")}),
        ),
        ApiError::NotFound => json_response(
            StatusCode::NOT_FOUND,
            &json!({"ok": false, "error": "Not Found"}),
        ),
        ApiError::MethodNotAllowed => json_response(
            StatusCode::METHOD_NOT_ALLOWED,
            &json!({"ok": false, "error": "Method Not Allowed"}),
        ),
    })
}

/// Seconds until a token expires, 0 for a token that never does.
fn expires_in(token: &TokenRecord, now: DateTime<Utc>) -> i64 {
    token
        .expires_at
        .map(|at| (at - now).num_seconds().max(0))
        .unwrap_or(0)
}

fn no_cache(mut resp: Response, cache_control: &'static str) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}
