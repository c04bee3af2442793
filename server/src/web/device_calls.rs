//! The console's device routes (admin, so loopback-only by default):
//!
//! - `POST /__mock/devices/:id/call/:function` (`arg` in a JSON or form body, or the query):
//!   calls the function as the owner's API call would (same faults, same timeout) →
//!   `{"ok":true,"id","function","return_value"}`.
//! - `GET /__mock/devices/:id/variables/:name` → `{"ok":true,"id","name","type","result"}`.
//!
//! A device is found by id or name, whoever owns it: the console is the operator's view.
//! The call itself runs in [`crate::devices::call`]; here it is parsed and shaped.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use crate::api::error::ApiError;
use crate::api::profile::json_response;
use crate::api::request::ApiRequest;
use crate::devices::{variable_json, CallError, Caller, DeviceError};
use crate::state::AppState;

/// The console's texts: 404 for what is not there, 503 offline, 504 timed out, 502 when
/// the device refuses.
fn call_error(e: CallError) -> ApiError {
    let status = match &e {
        CallError::UnknownDevice | CallError::UnknownFunction | CallError::UnknownVariable => {
            StatusCode::NOT_FOUND
        }
        CallError::ArgumentTooLong { .. } => StatusCode::BAD_REQUEST,
        CallError::Device(e) => match e {
            DeviceError::UnknownFunction | DeviceError::UnknownVariable => StatusCode::NOT_FOUND,
            DeviceError::Offline => StatusCode::SERVICE_UNAVAILABLE,
            DeviceError::TimedOut => StatusCode::GATEWAY_TIMEOUT,
            DeviceError::Device(_) => StatusCode::BAD_GATEWAY,
        },
    };
    let message = match e {
        CallError::Device(DeviceError::Offline) => "The device is offline".to_string(),
        CallError::Device(DeviceError::TimedOut) => "Timed out waiting for the device".to_string(),
        e => e.to_string(),
    };
    ApiError::message(status, message)
}

/// `POST /__mock/devices/:id/call/:function`.
pub async fn call(
    State(state): State<AppState>,
    Path((id, function)): Path<(String, String)>,
    req: ApiRequest,
) -> Result<Response, ApiError> {
    let calls = state.device_calls();
    let d = calls
        .find_device(Caller::Operator, &id)
        .map_err(call_error)?;
    let f = calls.function(d, &function).map_err(call_error)?;
    let arg = req.param("arg").unwrap_or_default();
    let value = f.call(&arg, &req.note).await.map_err(call_error)?;
    let (id, name) = (&f.device.id, &f.name);
    tracing::info!("console called {name}({arg:?}) on {id}: {value}");
    Ok(json_response(
        StatusCode::OK,
        &json!({"ok": true, "id": id, "function": name, "return_value": value}),
    ))
}

/// `GET /__mock/devices/:id/variables/:name`.
pub async fn variable(
    State(state): State<AppState>,
    Path((id, variable)): Path<(String, String)>,
    req: ApiRequest,
) -> Result<Response, ApiError> {
    let calls = state.device_calls();
    let d = calls
        .find_device(Caller::Operator, &id)
        .map_err(call_error)?;
    let v = calls.variable(d, &variable).map_err(call_error)?;
    let value = v.read(&req.note).await.map_err(call_error)?;
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "ok": true,
            "id": v.device.id,
            "name": v.name,
            "type": v.ty.name(),
            "result": variable_json(&value),
        }),
    ))
}
