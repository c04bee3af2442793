//! The console's device routes (admin, so loopback-only by default):
//!
//! - `POST /__mock/devices/:id/call/:function` (`arg` in a JSON or form body, or the query):
//!   calls the function as the owner's API call would (same faults, same timeout) →
//!   `{"ok":true,"id","function","return_value"}`.
//! - `GET /__mock/devices/:id/variables/:name` → `{"ok":true,"id","name","type","result"}`.
//!
//! A device is found by id or name, whoever owns it: the console is the operator's view.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use crate::api::calls::device_faults;
use crate::api::error::ApiError;
use crate::api::profile::{json_response, shape};
use crate::api::request::ApiRequest;
use crate::devices::{DeviceError, DeviceInfo};
use crate::state::AppState;

fn device(state: &AppState, id: &str) -> Result<DeviceInfo, ApiError> {
    state
        .devices()
        .resolve(id)
        .and_then(|id| state.devices().get(&id))
        .ok_or_else(|| ApiError::message(StatusCode::NOT_FOUND, "Unknown device"))
}

/// `name` among `names`: exactly, else ignoring case, as the API finds it.
fn find<'a>(mut names: impl Iterator<Item = &'a String> + Clone, name: &str) -> Option<String> {
    names
        .clone()
        .find(|n| *n == name)
        .or_else(|| names.find(|n| n.eq_ignore_ascii_case(name)))
        .cloned()
}

fn device_error(e: DeviceError) -> ApiError {
    let status = match e {
        DeviceError::UnknownFunction | DeviceError::UnknownVariable => StatusCode::NOT_FOUND,
        DeviceError::Offline => StatusCode::SERVICE_UNAVAILABLE,
        DeviceError::TimedOut => StatusCode::GATEWAY_TIMEOUT,
        DeviceError::Device(_) => StatusCode::BAD_GATEWAY,
    };
    let message = match e {
        DeviceError::Offline => "The device is offline".to_string(),
        DeviceError::TimedOut => "Timed out waiting for the device".to_string(),
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
    let d = device(&state, &id)?;
    let name = find(d.functions.iter(), &function)
        .ok_or_else(|| ApiError::message(StatusCode::NOT_FOUND, "Function not found"))?;
    let arg = req.param("arg").unwrap_or_default();
    let limit = shape(state.config().profile).argument_limit(d.platform_id);
    if arg.len() > limit {
        return Err(ApiError::bad_request(format!(
            "Argument too long: {} characters, the device accepts at most {limit}",
            arg.len()
        )));
    }
    let timeout = device_faults(&state, &req, &d.id)
        .await
        .map_err(device_error)?;
    let value = state
        .devices()
        .call_function(&d.id, &name, &arg, timeout)
        .await
        .map_err(device_error)?;
    tracing::info!("console called {}({arg:?}) on {}: {value}", name, d.id);
    Ok(json_response(
        StatusCode::OK,
        &json!({"ok": true, "id": d.id, "function": name, "return_value": value}),
    ))
}

/// `GET /__mock/devices/:id/variables/:name`.
pub async fn variable(
    State(state): State<AppState>,
    Path((id, variable)): Path<(String, String)>,
    req: ApiRequest,
) -> Result<Response, ApiError> {
    let d = device(&state, &id)?;
    let name = find(d.variables.keys(), &variable)
        .ok_or_else(|| ApiError::message(StatusCode::NOT_FOUND, "Variable not found"))?;
    let kind = d.variables.get(&name).map(|t| t.name());
    let timeout = device_faults(&state, &req, &d.id)
        .await
        .map_err(device_error)?;
    let value = state
        .devices()
        .get_variable(&d.id, &name, timeout)
        .await
        .map_err(device_error)?;
    Ok(json_response(
        StatusCode::OK,
        &json!({"ok": true, "id": d.id, "name": name, "type": kind, "result": crate::devices::value_json(&value)}),
    ))
}
