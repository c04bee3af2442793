//! `POST /v1/devices/:id/:function` and `GET /v1/devices/:id/:variable`.

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::api::auth::authenticate;
use crate::api::devices::owned_device;
use crate::api::error::ApiError;
use crate::api::profile::{json_response, shape};
use crate::api::request::{value_text, ApiRequest};
use std::time::Duration;

use crate::devices::DeviceError;
use crate::faults::DeviceFault;
use crate::state::AppState;

fn raw(text: String) -> Response {
    let mut resp = (StatusCode::OK, text).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// Applies injected device faults before a call or read. Returns how long the request may
/// still wait for the device, or the error the fault causes.
pub(crate) async fn device_faults(
    state: &AppState,
    req: &ApiRequest,
    id: &str,
) -> Result<Duration, DeviceError> {
    let timeout = state.config().device_timeout;
    let faults = state.faults().for_device(id, state.clock().now());
    if let Some(f) = faults.first() {
        req.note
            .update(|n| n.fault = Some(format!("device {id}: {f:?}")));
    }
    let mut remaining = timeout;
    for f in faults {
        match f {
            DeviceFault::Offline => return Err(DeviceError::Offline),
            DeviceFault::NoAnswer => {
                tokio::time::sleep(timeout).await;
                return Err(DeviceError::TimedOut);
            }
            DeviceFault::Latency { ms } => {
                let wait = Duration::from_millis(ms).min(remaining);
                tokio::time::sleep(wait).await;
                remaining = remaining.saturating_sub(wait);
                if remaining.is_zero() {
                    return Err(DeviceError::TimedOut);
                }
            }
            DeviceFault::Drop | DeviceFault::RefuseReconnect { .. } => {}
        }
    }
    Ok(remaining)
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

/// Finds `name` among the device's functions: exactly, else ignoring case (spark-protocol
/// looked names up in lower case).
fn find_name<'a>(names: impl Iterator<Item = &'a String> + Clone, name: &str) -> Option<String> {
    names
        .clone()
        .find(|n| n.as_str() == name)
        .or_else(|| names.into_iter().find(|n| n.eq_ignore_ascii_case(name)))
        .cloned()
}

pub async fn call_function(
    State(state): State<AppState>,
    Path((id, function)): Path<(String, String)>,
    req: ApiRequest,
) -> Result<Response, ApiError> {
    let actor = authenticate(&state, &req)?;
    let d = owned_device(&state, &actor, &id)?;
    let shaper = shape(state.config().profile);
    let fail = |e: DeviceError| shaper.device_error(&e, &function);
    let name = find_name(d.functions.iter(), &function)
        .ok_or_else(|| fail(DeviceError::UnknownFunction))?;
    let arg = argument(&req)?;
    let limit = shaper.argument_limit(d.platform_id);
    if arg.len() > limit {
        return Err(ApiError::bad_request(format!(
            "Argument too long: {} characters, the device accepts at most {limit}",
            arg.len()
        )));
    }
    let timeout = device_faults(&state, &req, &d.id).await.map_err(fail)?;
    let value = state
        .devices()
        .call_function(&d.id, &name, &arg, timeout)
        .await
        .map_err(fail)?;
    if wants_raw(&req) {
        return Ok(raw(value.to_string()));
    }
    Ok(json_response(
        StatusCode::OK,
        &shaper.function_result(&d, value),
    ))
}

pub async fn get_variable(
    State(state): State<AppState>,
    Path((id, variable)): Path<(String, String)>,
    req: ApiRequest,
) -> Result<Response, ApiError> {
    let actor = authenticate(&state, &req)?;
    let d = owned_device(&state, &actor, &id)?;
    let shaper = shape(state.config().profile);
    let fail = |e: DeviceError| shaper.device_error(&e, &variable);
    let name = find_name(d.variables.keys(), &variable)
        .ok_or_else(|| fail(DeviceError::UnknownVariable))?;
    let timeout = device_faults(&state, &req, &d.id).await.map_err(fail)?;
    let value = state
        .devices()
        .get_variable(&d.id, &name, timeout)
        .await
        .map_err(fail)?;
    if wants_raw(&req) {
        return Ok(raw(crate::devices::value_text(&value)));
    }
    // Heard from just now: `coreInfo.last_heard` shows it.
    let d = state.devices().get(&d.id).unwrap_or(d);
    Ok(json_response(
        StatusCode::OK,
        &shaper.variable_result(&d, &name, &value),
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
