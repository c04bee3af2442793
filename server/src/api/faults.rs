//! `/__mock/faults`: inject and clear faults, and the middleware that applies route faults.

use std::time::Duration;

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::api::error::ApiError;
use crate::api::profile::json_response;
use crate::api::request::ApiRequest;
use crate::faults::{DeviceFault, RouteFault};
use crate::journal::NoteSlot;
use crate::state::AppState;

/// Route faults that shape an event stream, handed to the SSE handler.
#[derive(Clone, Debug, Default)]
pub struct StreamFaults {
    pub cut_after_events: Option<u64>,
    pub cut_after: Option<Duration>,
    pub no_keepalive: bool,
}

/// Applies route faults: delays, injected errors, and stream faults for the SSE handler.
pub async fn apply(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if path.starts_with("/__mock") {
        return next.run(req).await;
    }
    let faults = state.faults().for_route(req.method().as_str(), &path);
    if faults.is_empty() {
        return next.run(req).await;
    }
    let note = req.extensions().get::<NoteSlot>().cloned();
    let mut stream = StreamFaults::default();
    for (id, fault) in faults {
        let label = format!(
            "#{id} {}",
            serde_json::to_string(&fault).unwrap_or_default()
        );
        if let Some(n) = &note {
            n.update(|n| n.fault = Some(label.clone()));
        }
        match fault {
            RouteFault::Delay { ms } => tokio::time::sleep(Duration::from_millis(ms)).await,
            RouteFault::Error { status, .. } => {
                let status =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                return ApiError::message(status, format!("Injected fault {label}"))
                    .into_response();
            }
            RouteFault::CutSse {
                after_events,
                after_secs,
            } => {
                stream.cut_after_events = after_events;
                stream.cut_after = after_secs.map(Duration::from_secs);
            }
            RouteFault::NoKeepalive => stream.no_keepalive = true,
        }
    }
    req.extensions_mut().insert(stream);
    next.run(req).await
}

/// `GET /__mock/faults`.
pub async fn list(State(state): State<AppState>) -> Response {
    let now = state.clock().now();
    json_response(StatusCode::OK, &json!({"faults": state.faults().list(now)}))
}

/// `POST /__mock/faults` with `{"device": "<id or name>", "fault": "offline" | "latency" (ms)
/// | "no_answer" | "drop" | "refuse_reconnect" (secs)}` or `{"route": "/v1/…", "method"?,
/// "fault": "delay" (ms) | "error" (status, probability) | "cut_sse" (after_events,
/// after_secs) | "no_keepalive"}`.
pub async fn add(State(state): State<AppState>, req: ApiRequest) -> Result<Response, ApiError> {
    let params = req.params()?;
    let body = Value::Object(params.iter().cloned().collect());
    let now = state.clock().now();
    let bad = |e: serde_json::Error| ApiError::bad_request(format!("bad fault: {e}"));
    let active = if let Some(device) = params.str("device") {
        let id = state.devices().resolve(&device).ok_or_else(|| {
            ApiError::message(StatusCode::NOT_FOUND, format!("Unknown device {device}"))
        })?;
        let fault: DeviceFault = serde_json::from_value(body).map_err(bad)?;
        let active = state.faults().add_device(&id, fault.clone(), now);
        if matches!(
            fault,
            DeviceFault::Offline | DeviceFault::Drop | DeviceFault::RefuseReconnect { .. }
        ) {
            state.devices().disconnect(&id);
        }
        active
    } else if let Some(route) = params.str("route") {
        if !route.starts_with('/') {
            return Err(ApiError::bad_request(
                "route must be a path starting with /",
            ));
        }
        let fault: RouteFault = serde_json::from_value(body).map_err(bad)?;
        if let RouteFault::Error {
            status,
            probability,
        } = &fault
        {
            if !(100..=599).contains(status) || !(0.0..=1.0).contains(probability) {
                return Err(ApiError::bad_request(
                    "status must be 100-599 and probability 0-1",
                ));
            }
        }
        state
            .faults()
            .add_route(&route, params.str("method"), fault, now)
    } else {
        return Err(ApiError::bad_request(
            "a fault needs \"device\" or \"route\"",
        ));
    };
    tracing::info!("fault #{} added: {:?}", active.id, active.kind);
    Ok(json_response(
        StatusCode::OK,
        &json!({"ok": true, "fault": active}),
    ))
}

/// `DELETE /__mock/faults`: clears every fault.
pub async fn clear(State(state): State<AppState>) -> Response {
    state.faults().clear();
    json_response(StatusCode::OK, &json!({"ok": true}))
}

/// `DELETE /__mock/faults/:id`.
pub async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let found = id.parse::<u64>().is_ok_and(|id| state.faults().remove(id));
    if !found {
        return Err(ApiError::message(StatusCode::NOT_FOUND, "Unknown fault"));
    }
    Ok(json_response(StatusCode::OK, &json!({"ok": true})))
}
