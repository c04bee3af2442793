//! `POST /v1/devices/:id/:function` and `GET /v1/devices/:id/:variable`: parse the request,
//! run it through [`crate::devices::call`], shape the answer or error in the profile's way.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::api::auth::{authenticate, Actor};
use crate::api::error::ApiError;
use crate::api::profile::{json_response, permission_denied, shape, Shape};
use crate::api::request::{value_text, ApiRequest};
use crate::devices::{variable_text, CallError, Caller, DeviceError};
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

pub async fn call_function(
    State(state): State<AppState>,
    Path((id, function)): Path<(String, String)>,
    req: ApiRequest,
) -> Result<Response, ApiError> {
    let actor = authenticate(&state, &req)?;
    let shaper = shape(state.config().profile);
    let fail = |e: CallError| call_error(shaper, &actor, e, &function);
    let calls = state.device_calls();
    let d = calls
        .find_device(Caller::Owner(&actor.user.username), &id)
        .map_err(fail)?;
    let f = calls.function(d, &function).map_err(fail)?;
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

pub async fn get_variable(
    State(state): State<AppState>,
    Path((id, variable)): Path<(String, String)>,
    req: ApiRequest,
) -> Result<Response, ApiError> {
    let actor = authenticate(&state, &req)?;
    let shaper = shape(state.config().profile);
    let fail = |e: CallError| call_error(shaper, &actor, e, &variable);
    let calls = state.device_calls();
    let d = calls
        .find_device(Caller::Owner(&actor.user.username), &id)
        .map_err(fail)?;
    let v = calls.variable(d, &variable).map_err(fail)?;
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

/// `GET /v1/devices/:id/ping` is a variable named `ping` (the PUT is the ping route).
pub async fn get_ping_variable(
    state: State<AppState>,
    Path(id): Path<String>,
    req: ApiRequest,
) -> Result<Response, ApiError> {
    get_variable(state, Path((id, "ping".to_string())), req).await
}

/// `POST /v1/devices/:id/ping` is a function named `ping`.
pub async fn call_ping_function(
    state: State<AppState>,
    Path(id): Path<String>,
    req: ApiRequest,
) -> Result<Response, ApiError> {
    call_function(state, Path((id, "ping".to_string())), req).await
}
