//! `/v1/devices`: list, detail, claim, release, rename, signal, notes and ping.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use crate::api::error::ApiError;
use crate::api::extract::{Authed, OwnedDevice};
use crate::api::profile::{json_response, ok, permission_denied, shape};
use crate::devices::types::is_device_id;
use crate::state::AppState;
use axum::routing::{get, post, put};
use axum::Router;

use crate::api::{calls, provisioning};

/// `/v1/devices…` with the calls and `/v1/provisioning/:id` (relative to `/v1`). Static
/// segments (`events`, `ping`) win over `{name}`, so `GET /v1/devices/:id/ping` still reads
/// a variable named `ping`; the event streams under `/v1/devices` are in `events::routes`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/devices", get(list).post(claim))
        .route("/devices/{id}", get(detail).put(update).delete(release))
        .route(
            "/devices/{id}/ping",
            put(ping)
                .get(calls::get_ping_variable)
                .post(calls::call_ping_function),
        )
        .route(
            "/devices/{id}/{name}",
            get(calls::get_variable).post(calls::call_function),
        )
        .route("/provisioning/{id}", post(provisioning::provision))
}

/// `GET /v1/devices`: the caller's devices, from the cache (no device is asked).
pub async fn list(
    State(state): State<AppState>,
    Authed { actor, .. }: Authed,
) -> Result<Response, ApiError> {
    let devices = state.devices().owned_by(&actor.user.username);
    let body = shape(state.config().profile).device_list(devices);
    Ok(json_response(StatusCode::OK, &body))
}

/// `GET /v1/devices/:id`.
pub async fn detail(
    State(state): State<AppState>,
    OwnedDevice { device: d, .. }: OwnedDevice,
) -> Result<Response, ApiError> {
    Ok(json_response(
        StatusCode::OK,
        &shape(state.config().profile).device_detail(&d),
    ))
}

fn claim_error(state: &AppState, status: StatusCode, message: &str) -> ApiError {
    shape(state.config().profile).claim_error(status, message)
}

/// `POST /v1/devices` with `id`: claims a device for the caller.
pub async fn claim(
    State(state): State<AppState>,
    Authed { actor, req }: Authed,
) -> Result<Response, ApiError> {
    let id = req
        .params()?
        .str("id")
        .map(|s| s.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if !is_device_id(&id) || state.devices().get(&id).is_none() {
        return Err(claim_error(
            &state,
            StatusCode::NOT_FOUND,
            "device not found",
        ));
    }
    let me = actor.user.username.clone();
    // Names stay unique per owner: a claim that would give the caller two devices of one
    // name is refused like such a rename.
    let outcome = state
        .devices()
        .update_unique(&id, |d| match d.owner.as_deref() {
            Some(owner) if owner != me => Err(()),
            _ => {
                d.owner = Some(me.clone());
                Ok(())
            }
        });
    match outcome {
        Some(Err(holder)) => {
            tracing::info!("device {id} not claimed by {me}: their {holder} has its name");
            Err(duplicate_name())
        }
        Some(Ok(Ok(()))) => {
            tracing::info!("device {id} claimed by {me}");
            Ok(json_response(
                StatusCode::OK,
                &json!({"ok": true, "id": id}),
            ))
        }
        _ => Err(claim_error(
            &state,
            StatusCode::BAD_REQUEST,
            "The device belongs to someone else.",
        )),
    }
}

/// The 2015 cloud's answer to a duplicate device name.
fn duplicate_name() -> ApiError {
    ApiError::body(
        StatusCode::FORBIDDEN,
        json!({"ok": false, "code": 403, "errors": [{}]}),
    )
}

/// `DELETE /v1/devices/:id`: releases the caller's device.
pub async fn release(
    State(state): State<AppState>,
    OwnedDevice {
        device: d, actor, ..
    }: OwnedDevice,
) -> Result<Response, ApiError> {
    state.devices().update(&d.id, |d| d.owner = None);
    tracing::info!("device {} released by {}", d.id, actor.user.username);
    Ok(ok())
}

/// `PUT /v1/devices/:id` with `name`, `signal` (`1`/`0`) or `notes`.
pub async fn update(
    State(state): State<AppState>,
    OwnedDevice {
        device: d,
        actor,
        req,
    }: OwnedDevice,
) -> Result<Response, ApiError> {
    if crate::api::flash::is_multipart(&req) {
        return crate::api::flash::flash(&state, &actor, &d, &req).await;
    }
    let params = req.params()?;
    let shaper = shape(state.config().profile);
    let now = state.clock().now();
    if let Some(name) = params.str("name") {
        let name = name.trim().to_string();
        if name.is_empty() || name.len() > 63 || is_device_id(&name) {
            return Err(ApiError::bad_request("Invalid device name"));
        }
        let renamed = state.devices().update_unique(&d.id, |dev| {
            dev.name = Some(name.clone());
            dev.clone()
        });
        let renamed = renamed.ok_or_else(|| permission_denied(&actor.token.token))?;
        let renamed = renamed.map_err(|holder| {
            tracing::info!(
                "device {} not renamed: {holder} is already named {name}",
                d.id
            );
            duplicate_name()
        })?;
        tracing::info!("device {} renamed to {name}", d.id);
        return Ok(json_response(
            StatusCode::OK,
            &shaper.renamed(&renamed, now),
        ));
    }
    if let Some(signal) = params.str("signal") {
        let on = match signal.trim() {
            "1" | "true" | "on" => true,
            "0" | "false" | "off" => false,
            _ => return Err(ApiError::bad_request("signal must be 1 or 0")),
        };
        let timeout = state.config().device_timeout;
        state
            .devices()
            .signal(&d.id, on, timeout)
            .await
            .map_err(|e| shaper.device_error(&e, "signal"))?;
        return Ok(json_response(
            StatusCode::OK,
            &json!({"id": d.id, "connected": true, "signaling": on}),
        ));
    }
    if params.contains("notes") {
        let notes = params.str("notes");
        state
            .devices()
            .update(&d.id, |dev| dev.notes = notes.clone());
        return Ok(json_response(
            StatusCode::OK,
            &json!({"id": d.id, "notes": notes, "updated_at": crate::clock::iso_millis(now)}),
        ));
    }
    Err(ApiError::body(
        StatusCode::BAD_REQUEST,
        json!({"error": "Nothing to do?"}),
    ))
}

/// `PUT /v1/devices/:id/ping`: whether the device answers.
pub async fn ping(
    State(state): State<AppState>,
    OwnedDevice { device: d, .. }: OwnedDevice,
) -> Result<Response, ApiError> {
    let timeout = state
        .config()
        .device_timeout
        .min(std::time::Duration::from_secs(5));
    let online = d.online && state.devices().describe(&d.id, timeout).await.is_ok();
    Ok(json_response(
        StatusCode::OK,
        &json!({"online": online, "ok": true}),
    ))
}
