//! `POST /v1/devices/:id/:function` and `GET /v1/devices/:id/:variable`: parse the request,
//! run it through [`crate::devices::call`], shape the answer or error in the profile's way.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::api::auth::Actor;
use crate::api::error::ApiError;
use crate::api::extract::OwnedDevice;
use crate::api::profile::{json_response, permission_denied, shape, Shape};
use crate::api::request::{value_text, ApiRequest};
use crate::devices::{variable_text, CallError, DeviceError};
use crate::state::AppState;

fn raw(text: String) -> Response {
    let mut resp = (StatusCode::OK, text).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

fn wants_raw(req: &ApiRequest) -> bool {
    req.param("format").as_deref() == Some("raw")
}

/// The function argument in every dialect: `arg`, then `args`, then `params` (JSON or
/// form), else the first body field that is not `access_token` or `format`.
fn argument(req: &ApiRequest) -> Result<String, ApiError> {
    let params = req.params()?;
    for key in ["arg", "args", "params"] {
        if let Some(v) = params.get(key) {
            return Ok(value_text(v).unwrap_or_default());
        }
    }
    Ok(params
        .iter()
        .find(|(k, _)| k != "access_token" && k != "format")
        .and_then(|(_, v)| value_text(v))
        .unwrap_or_default())
}

/// A failed call or read in the profile's shape: an unknown device is 403 Permission
/// Denied, as for every device route; `name` is the function or variable as requested.
fn call_error(shaper: &dyn Shape, actor: &Actor, e: CallError, name: &str) -> ApiError {
    match e {
        CallError::UnknownDevice => permission_denied(&actor.token.token),
        CallError::UnknownFunction => shaper.device_error(&DeviceError::UnknownFunction, name),
        CallError::UnknownVariable => shaper.device_error(&DeviceError::UnknownVariable, name),
        CallError::ArgumentTooLong { .. } => ApiError::bad_request(e.to_string()),
        CallError::Device(e) => shaper.device_error(&e, name),
    }
}

/// `POST /v1/devices/:id/:function`.
pub async fn call_function(
    State(state): State<AppState>,
    Path((_, function)): Path<(String, String)>,
    device: OwnedDevice,
) -> Result<Response, ApiError> {
    call(&state, device, &function).await
}

/// `GET /v1/devices/:id/:variable`.
pub async fn get_variable(
    State(state): State<AppState>,
    Path((_, variable)): Path<(String, String)>,
    device: OwnedDevice,
) -> Result<Response, ApiError> {
    read(&state, device, &variable).await
}

/// `GET /v1/devices/:id/ping` is a variable named `ping` (the PUT is the ping route).
pub async fn get_ping_variable(
    State(state): State<AppState>,
    device: OwnedDevice,
) -> Result<Response, ApiError> {
    read(&state, device, "ping").await
}

/// `POST /v1/devices/:id/ping` is a function named `ping`.
pub async fn call_ping_function(
    State(state): State<AppState>,
    device: OwnedDevice,
) -> Result<Response, ApiError> {
    call(&state, device, "ping").await
}

async fn call(state: &AppState, dev: OwnedDevice, function: &str) -> Result<Response, ApiError> {
    let OwnedDevice { device, actor, req } = dev;
    let shaper = shape(state.config().profile);
    let fail = |e: CallError| call_error(shaper, &actor, e, function);
    let f = state
        .device_calls()
        .function(device, function)
        .map_err(fail)?;
    let arg = argument(&req)?;
    let value = f.call(&arg, &req.note).await.map_err(fail)?;
    if wants_raw(&req) {
        return Ok(raw(value.to_string()));
    }
    Ok(json_response(
        StatusCode::OK,
        &shaper.function_result(&f.device, value),
    ))
}

async fn read(state: &AppState, dev: OwnedDevice, variable: &str) -> Result<Response, ApiError> {
    let OwnedDevice { device, actor, req } = dev;
    let shaper = shape(state.config().profile);
    let fail = |e: CallError| call_error(shaper, &actor, e, variable);
    let v = state
        .device_calls()
        .variable(device, variable)
        .map_err(fail)?;
    let value = v.read(&req.note).await.map_err(fail)?;
    if wants_raw(&req) {
        return Ok(raw(variable_text(&value)));
    }
    // Heard from just now: `coreInfo.last_heard` shows it.
    Ok(json_response(
        StatusCode::OK,
        &shaper.variable_result(&v.device_now(), &v.name, &value),
    ))
}
