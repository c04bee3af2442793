//! `POST /v1/provisioning/:id`: registers a device's public key, as spark-server's
//! `provision_core` did: bearer auth, form fields `deviceID` and `publicKey` (PEM), answer
//! the JSON string `"Success!"` or `400 {"error": …}`.
//!
//! Stricter than spark-server where its laxness could only fail later: `deviceID` must be
//! a 24-hex id equal to the one in the URL, and the key must be the 1024-bit RSA key the
//! handshake needs (spark-server accepted any key and failed at the device's handshake).
//! And unlike spark-server, which let any user replace any key, a claimed device's key
//! can be replaced only with its owner's token: `403 {"ok":false,"error":…}` otherwise.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use crate::api::error::ApiError;
use crate::api::extract::Authed;
use crate::api::profile::json_response;
use crate::devices::keys::{device_key_pem, parse_device_key};
use crate::devices::types::is_device_id;
use crate::state::AppState;

/// spark-server's error shape: `400 {"error": "<message>"}`.
fn refused(message: impl Into<String>) -> ApiError {
    ApiError::body(StatusCode::BAD_REQUEST, json!({"error": message.into()}))
}

pub async fn provision(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Authed { actor, req }: Authed,
) -> Result<Response, ApiError> {
    let params = req.params()?;
    let device_id = params
        .str("deviceID")
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| refused("No deviceID provided"))?;
    if !is_device_id(&device_id) {
        return Err(refused("deviceID must be 24 hex characters"));
    }
    if !device_id.eq_ignore_ascii_case(id.trim()) {
        return Err(refused("deviceID does not match the device in the URL"));
    }
    let pem = params
        .str("publicKey")
        .filter(|k| !k.trim().is_empty())
        .ok_or_else(|| refused("No key provided"))?;
    let key = parse_device_key(&pem).map_err(|e| refused(format!("Key error {e}")))?;
    let canonical = device_key_pem(&key).map_err(|e| refused(format!("Key error {e}")))?;
    if let Err(e) = state
        .devices()
        .provision_for(&device_id, &canonical, &actor.user.username)
    {
        tracing::warn!(
            "{device_id}: {} may not replace the key of another user's device",
            actor.user.username
        );
        return Err(ApiError::body(
            StatusCode::FORBIDDEN,
            json!({"ok": false, "error": e.to_string()}),
        ));
    }
    tracing::info!("{device_id}: public key provisioned");
    Ok(json_response(StatusCode::OK, &json!("Success!")))
}
