//! Response shaping, one module per profile. Everything a client can see that differs
//! between the 2014 Spark cloud and today's Particle cloud is decided here and nowhere else,
//! including what each era's token endpoint offers (`grant`: the rules the domain's grants
//! follow, and their errors in the profile's words).

mod grant;
mod particle;
mod spark2014;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::api::error::ApiError;
use crate::clock::iso_millis;
use crate::config::Profile;
use crate::devices::flash::FlashError;
use crate::devices::{DeviceError, DeviceInfo, VarValue};
use crate::domain::grant::GrantFeatures;
use crate::domain::token::TokenRecord;
use crate::domain::users::User;
use crate::events::Event;

pub use grant::{grant_error, grant_rules};

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
    /// What the token endpoint offers in this era: grant types, refresh tokens, MFA.
    fn grant_features(&self) -> GrantFeatures;
    /// The `invalid_client` text for unknown client credentials.
    fn client_invalid_text(&self) -> &'static str;

    /// Whether this era has the routes the 2014 cloud lacked (`/v1/clients`, webhooks and
    /// integrations, password reset); without them they answer 404 as unknown routes.
    fn has_particle_api(&self) -> bool;
    /// Whether `DELETE /v1/access_tokens/:token` needs HTTP Basic `email:password` (and
    /// revokes only the caller's own token), or takes the token in the path as its proof.
    fn revoke_needs_password(&self) -> bool;

    /// `GET /v1/devices`: the caller's devices, in the era's order.
    fn device_list(&self, devices: Vec<DeviceInfo>) -> Value;
    /// One entry of `GET /v1/devices`.
    fn device_summary(&self, d: &DeviceInfo) -> Value;
    /// A refused claim (`POST /v1/devices`): unknown device, or someone else's.
    fn claim_error(&self, status: StatusCode, message: &str) -> ApiError;
    /// `GET /v1/devices/:id`.
    fn device_detail(&self, d: &DeviceInfo) -> Value;
    /// The answer to a rename (`PUT /v1/devices/:id name=`).
    fn renamed(&self, d: &DeviceInfo, now: DateTime<Utc>) -> Value;
    /// The answer to a function call.
    fn function_result(&self, d: &DeviceInfo, return_value: i32) -> Value;
    /// The answer to a variable read.
    fn variable_result(&self, d: &DeviceInfo, name: &str, value: &VarValue) -> Value;
    /// A failed call or read: unknown function or variable, offline, timed out.
    fn device_error(&self, err: &DeviceError, name: &str) -> ApiError;
    /// The `data:` JSON of one SSE event.
    fn event_data(&self, e: &Event) -> Value;
    /// The bytes an idle SSE stream sends to stay alive.
    fn keepalive(&self) -> &'static [u8];
    /// `coreid` of an event published through the API.
    fn api_coreid(&self, publisher: &User) -> String;

    /// The answer to a firmware upload once the update started: spark-server's and
    /// today's cloud's binary-flash answer alike.
    fn flash_started(&self, d: &DeviceInfo) -> Value {
        json!({"id": d.id, "status": "Update started"})
    }
    /// A firmware upload that could not start (offline, busy, silent, refused).
    fn flash_error(&self, err: &FlashError, firmware_binary_id: &str) -> ApiError;
}

/// `403 Permission Denied`, for unknown devices and devices of someone else.
pub fn permission_denied(token: &str) -> ApiError {
    ApiError::body(
        StatusCode::FORBIDDEN,
        json!({
            "error": "Permission Denied",
            "info": format!(
                "I didn't recognize that device name or ID, try opening https://api.particle.io/v1/devices?access_token={token}"
            ),
        }),
    )
}

fn opt_time(t: Option<DateTime<Utc>>) -> Value {
    t.map(iso_millis).map(Value::from).unwrap_or(Value::Null)
}

fn variables_json(d: &DeviceInfo) -> Value {
    Value::Object(
        d.variables
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.name())))
            .collect(),
    )
}

pub fn shape(profile: Profile) -> &'static dyn Shape {
    match profile {
        Profile::Spark2014 => &spark2014::Spark2014,
        Profile::Particle => &particle::Particle,
    }
}

/// Shapes shared by both profiles: the `{ok:false,…}` API errors, 404, 405, 408 and 413.
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
        // The rest of the body may still come: the connection cannot carry another request.
        ApiError::BodyTimeout(deadline) => {
            let mut resp = json_response(
                StatusCode::REQUEST_TIMEOUT,
                &json!({"ok": false, "error": format!("Request body not received within {deadline:?}")}),
            );
            resp.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            resp
        }
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

/// Seconds until a token expires, rounded up, 0 for a token that never does. The response
/// reads the clock a moment after the grant did, so truncating would report a fresh 60 s
/// token as 59 s and the 90-day default as 7775999.
fn expires_in(token: &TokenRecord, now: DateTime<Utc>) -> i64 {
    token
        .expires_at
        .map(|at| {
            let ms = (at - now).num_milliseconds().max(0);
            (ms + 999) / 1000
        })
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
