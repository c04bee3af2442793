//! `/__mock/device-server` and `/__mock/devices`: what a simulator needs to register itself
//! and connect without a password (the device port's address and server key, provisioning
//! plus claim in one call), and a dump of the registry.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

use crate::api::error::ApiError;
use crate::api::profile::json_response;
use crate::api::request::ApiRequest;
use crate::devices::keys::{device_key_pem, parse_device_key};
use crate::devices::types::is_device_id;
use crate::devices::DeviceInfo;
use crate::state::AppState;

fn device_json(d: &DeviceInfo) -> Value {
    serde_json::to_value(d).unwrap_or(Value::Null)
}

/// `GET /__mock/device-server` → `{"host","port","public_key_pem","auto_provision"}`; 503
/// while the device port is not listening.
pub async fn device_server(State(state): State<AppState>) -> Result<Response, ApiError> {
    let addr = state.device_addr().ok_or_else(|| {
        ApiError::message(
            StatusCode::SERVICE_UNAVAILABLE,
            "The device port is not listening",
        )
    })?;
    let internal = |e: String| ApiError::message(StatusCode::INTERNAL_SERVER_ERROR, e);
    let key = state
        .server_key()
        .await
        .map_err(|e| internal(e.to_string()))?;
    let pem = key.public_pem().map_err(|e| internal(e.to_string()))?;
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "host": addr.ip().to_string(),
            "port": addr.port(),
            "public_key_pem": pem,
            "auto_provision": state.config().auto_provision,
        }),
    ))
}

/// `GET /__mock/devices`: every device the registry knows, online or not.
pub async fn list(State(state): State<AppState>) -> Response {
    let all: Vec<Value> = state.devices().list().iter().map(device_json).collect();
    json_response(StatusCode::OK, &Value::Array(all))
}

/// `POST /__mock/devices` with `{"id", "public_key_pem", "owner"?, "name"?}`: provisions the
/// key and, when given, claims the device for `owner` (an existing user) and names it.
/// Answers the device record; `409` when the owner already has another device of that name
/// (the name would then resolve to only one of them).
pub async fn create(State(state): State<AppState>, req: ApiRequest) -> Result<Response, ApiError> {
    let params = req.params()?;
    let id = params
        .str("id")
        .map(|s| s.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if !is_device_id(&id) {
        return Err(ApiError::bad_request("id must be 24 hex characters"));
    }
    let pem = params
        .str("public_key_pem")
        .ok_or_else(|| ApiError::bad_request("public_key_pem is required"))?;
    let key = parse_device_key(&pem)
        .map_err(|e| ApiError::bad_request(format!("public_key_pem: {e}")))?;
    let pem =
        device_key_pem(&key).map_err(|e| ApiError::bad_request(format!("public_key_pem: {e}")))?;
    let owner = match params.str("owner").filter(|o| !o.trim().is_empty()) {
        Some(o) => Some(
            state
                .db_read(|db| db.user(o.trim()).map(|u| u.username.clone()))
                .ok_or_else(|| ApiError::bad_request(format!("Unknown user {o}")))?,
        ),
        None => None,
    };
    let name = params.str("name").filter(|n| !n.trim().is_empty());
    let registered = state.devices().upsert_unique(&id, |d| {
        d.public_key_pem = Some(pem);
        if owner.is_some() {
            d.owner = owner;
        }
        if name.is_some() {
            d.name = name;
        }
        d.clone()
    });
    let device = registered.map_err(|holder| {
        // The device that has the name says whose name it is.
        let (owner, name) = state
            .devices()
            .get(&holder)
            .map(|d| (d.owner.unwrap_or_default(), d.name.unwrap_or_default()))
            .unwrap_or_default();
        let message = format!(
            "{owner} already has a device named {name} ({holder}): names are unique per \
             owner, so {id} was not registered"
        );
        tracing::warn!("POST /__mock/devices refused: {message}");
        ApiError::message(StatusCode::CONFLICT, message)
    })?;
    tracing::info!("{id}: registered through /__mock/devices");
    Ok(json_response(StatusCode::OK, &device_json(&device)))
}
