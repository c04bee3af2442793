//! `/__mock`: the mock's own control API: health, token histories, the clock, the token
//! policy and "Reset Token".

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::api::error::ApiError;
use crate::api::history::history_json;
use crate::api::profile::json_response;
use crate::api::request::ApiRequest;
use crate::clock::iso_millis;
use crate::config::PolicyKind;
use crate::state::AppState;
use axum::routing::{delete, get, post, put};
use axum::Router;

use crate::api::{control, faults, journal, mock_devices};

/// The admin API, relative to `/__mock` (the app puts it behind `control::admin_guard`):
/// tokens, clock, policy, users, plus the journal, control, faults, mock devices and the
/// console's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/tokens", get(tokens))
        .route("/tokens/{token}", get(token))
        .route("/clock", get(get_clock).post(set_clock))
        .route("/policy", get(get_policy).put(set_policy).post(set_policy))
        .route("/users/{username}/reset-token", post(reset_token))
        .route("/users/{username}/mfa", put(set_mfa).delete(clear_mfa))
        .route("/requests", get(journal::list).delete(journal::clear))
        .route("/openapi.json", get(crate::openapi::serve))
        .route(
            "/faults",
            get(faults::list).post(faults::add).delete(faults::clear),
        )
        .route("/faults/{id}", delete(faults::remove))
        .route("/device-server", get(mock_devices::device_server))
        .route(
            "/devices",
            get(mock_devices::list).post(mock_devices::create),
        )
        .merge(control::routes())
        .merge(crate::web::admin_routes())
}

pub async fn health() -> Response {
    json_response(StatusCode::OK, &json!({"ok": true}))
}

/// `GET /__mock/tokens[?user=email]`: every token's history, oldest first.
pub async fn tokens(State(state): State<AppState>, req: ApiRequest) -> Result<Response, ApiError> {
    let now = state.clock().now();
    let user = req.query_param("user").map(str::to_lowercase);
    let list: Vec<Value> = state.db_read(|db| {
        db.all_tokens()
            .into_iter()
            .filter(|t| user.as_deref().is_none_or(|u| t.username == u))
            .map(|t| history_json(t, now))
            .collect()
    });
    Ok(json_response(
        StatusCode::OK,
        &json!({"now": iso_millis(now), "tokens": list}),
    ))
}

/// `GET /__mock/tokens/:token`: one token's history.
pub async fn token(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    let now = state.clock().now();
    let found = state.db_read(|db| db.token(&token).map(|t| history_json(t, now)));
    let body = found.ok_or_else(|| ApiError::message(StatusCode::NOT_FOUND, "Unknown token"))?;
    Ok(json_response(StatusCode::OK, &body))
}

fn clock_json(state: &AppState) -> Value {
    json!({
        "now": iso_millis(state.clock().now()),
        "offset_secs": state.clock().offset().num_seconds(),
    })
}

pub async fn get_clock(State(state): State<AppState>) -> Response {
    json_response(StatusCode::OK, &clock_json(&state))
}

/// `POST /__mock/clock` with `{"advance_secs": N}`, `{"set": "<RFC 3339>"}` or `{"reset": true}`.
/// A move that would leave the clock outside 0000-01-01T00:00:00Z..=9999-12-31T23:59:59Z is
/// a 400 and leaves it where it was.
pub async fn set_clock(
    State(state): State<AppState>,
    req: ApiRequest,
) -> Result<Response, ApiError> {
    let p = req.params()?;
    let moved = if let Some(v) = p.get("advance_secs") {
        let secs = v
            .as_i64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            .ok_or_else(|| {
                ApiError::bad_request("advance_secs must be a whole number of seconds")
            })?;
        state.clock().advance_secs(secs)
    } else if let Some(v) = p.str("set") {
        let at: DateTime<Utc> = DateTime::parse_from_rfc3339(&v)
            .map_err(|e| ApiError::bad_request(format!("set must be an RFC 3339 time: {e}")))?
            .with_timezone(&Utc);
        state.clock().set(at)
    } else if p.get("reset").is_some() {
        state.clock().reset();
        Ok(())
    } else {
        return Err(ApiError::bad_request(
            "expected {\"advance_secs\": N}, {\"set\": \"<RFC 3339>\"} or {\"reset\": true}",
        ));
    };
    moved.map_err(|e| ApiError::bad_request(e.to_string()))?;
    tracing::info!("clock now reads {}", iso_millis(state.clock().now()));
    Ok(json_response(StatusCode::OK, &clock_json(&state)))
}

pub async fn get_policy(State(state): State<AppState>) -> Response {
    json_response(StatusCode::OK, &json!({"policy": state.policy()}))
}

/// `PUT /__mock/policy` with `{"policy": "single" | "per-client" | "multi"}`. Tokens keep the
/// policy they were issued under; only later grants follow the new one.
pub async fn set_policy(
    State(state): State<AppState>,
    req: ApiRequest,
) -> Result<Response, ApiError> {
    let raw = req.params()?.str("policy").ok_or_else(|| {
        ApiError::bad_request("expected {\"policy\": \"single\" | \"per-client\" | \"multi\"}")
    })?;
    let policy: PolicyKind = raw.parse().map_err(ApiError::bad_request)?;
    let previous = state.policy();
    state.set_policy(policy);
    tracing::info!("token policy changed from {previous} to {policy}");
    Ok(json_response(
        StatusCode::OK,
        &json!({"policy": policy, "previous": previous}),
    ))
}

/// `PUT /__mock/users/:username/mfa` with `{"otp", "recovery_codes"?, "invalidate_tokens"?}`
/// turns multi-factor login on (as enrolling in the cloud would); `{"otp": null}` or
/// `DELETE` turns it off.
pub async fn set_mfa(
    State(state): State<AppState>,
    Path(username): Path<String>,
    req: ApiRequest,
) -> Result<Response, ApiError> {
    let params = req.params()?;
    let mfa = match params.get("otp") {
        None | Some(Value::Null) => None,
        Some(Value::String(otp)) if !otp.trim().is_empty() => {
            let codes = match params.get("recovery_codes") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|c| c.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| ApiError::bad_request("recovery_codes must be strings"))?,
                Some(_) => return Err(ApiError::bad_request("recovery_codes must be a list")),
            };
            Some(crate::domain::users::Mfa {
                otp: otp.trim().to_string(),
                recovery_codes: codes,
            })
        }
        Some(_) => {
            return Err(ApiError::bad_request(
                "otp must be a non-empty string or null",
            ))
        }
    };
    switch_mfa(&state, &username, mfa, params.flag("invalidate_tokens"))
}

/// `DELETE /__mock/users/:username/mfa`.
pub async fn clear_mfa(
    State(state): State<AppState>,
    Path(username): Path<String>,
) -> Result<Response, ApiError> {
    switch_mfa(&state, &username, None, false)
}

fn switch_mfa(
    state: &AppState,
    username: &str,
    mfa: Option<crate::domain::users::Mfa>,
    invalidate: bool,
) -> Result<Response, ApiError> {
    let enabled = mfa.is_some();
    let now = state.clock().now();
    let killed = state
        .db(|db| db.set_mfa(username, mfa, invalidate, now))
        .ok_or_else(|| ApiError::message(StatusCode::NOT_FOUND, "Unknown user"))?;
    tracing::info!(
        "{username}: multi-factor login {}, {} tokens invalidated",
        if enabled { "on" } else { "off" },
        killed.len()
    );
    Ok(json_response(
        StatusCode::OK,
        &json!({"ok": true, "mfa": {"enabled": enabled}, "invalidated": killed}),
    ))
}

/// `POST /__mock/users/:username/reset-token`: the Build page's "Reset Token", by API.
pub async fn reset_token(
    State(state): State<AppState>,
    Path(username): Path<String>,
) -> Result<Response, ApiError> {
    let issued = state
        .reset_token(&username, false)
        .ok_or_else(|| ApiError::message(StatusCode::NOT_FOUND, "Unknown user"))?;
    tracing::info!(
        "{username}: token reset, {} invalidated",
        issued.invalidated.len()
    );
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "access_token": issued.token.token,
            "expires_at": issued.token.expires_at.map(iso_millis),
            "invalidated": issued.invalidated,
        }),
    ))
}
