//! `/__mock/state`, `/__mock/reset`, `/__mock/reload`, and the middleware that makes every
//! acknowledged change durable before its response leaves (with `--state-dir`).

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::api::error::ApiError;
use crate::api::profile::json_response;
use crate::api::request::ApiRequest;
use crate::clock::iso_millis;
use crate::state::AppState;
use axum::routing::{get, post};
use axum::Router;

/// `/__mock/state`, `/__mock/reset`, `/__mock/reload` (relative to `/__mock`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/state", get(state))
        .route("/reset", post(reset))
        .route("/reload", post(reload))
}

/// Makes changes durable before the response goes out (an fsynced journal append, shared
/// with concurrent requests). A failed save is a 503: the change happened in memory but is
/// not acknowledged as durable. Also forgets long-dead tokens once the clock has moved.
pub async fn persist_changes(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    state.maintain();
    match state.persist_changes().await {
        Ok(()) => resp,
        Err(e) => {
            tracing::error!("state not saved: {e}");
            ApiError::message(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("State not saved: {e}"),
            )
            .into_response()
        }
    }
}

/// `GET /__mock/state`: users, tokens with their status, devices with their connections,
/// open event streams and active faults.
pub async fn state(State(state): State<AppState>) -> Response {
    let now = state.clock().now();
    let (users, tokens): (Vec<Value>, Vec<Value>) = state.db_read(|db| {
        let users = db
            .users()
            .values()
            .map(|u| {
                json!({
                    "username": u.username,
                    "created_at": iso_millis(u.created_at),
                    "valid_tokens": db.valid_tokens(&u.username, now).len(),
                })
            })
            .collect();
        let tokens = db
            .all_tokens()
            .into_iter()
            .map(|t| {
                json!({
                    "token": t.token,
                    "user": t.username,
                    "client": t.client_id,
                    "status": t.status(now),
                    "policy": t.policy,
                    "issued_at": iso_millis(t.issued_at),
                    "expires_at": t.expires_at.map(iso_millis),
                    "death": t.death(now),
                })
            })
            .collect();
        (users, tokens)
    });
    let devices: Vec<Value> = state
        .devices()
        .list()
        .into_iter()
        .map(|d| {
            json!({
                "id": d.id,
                "name": d.name,
                "owner": d.owner,
                "online": d.online,
                "connection": d.online.then(|| json!({
                    "remote_addr": d.last_ip_address,
                    "since": d.last_handshake_at.map(iso_millis),
                    "subscriptions": state.devices().subscriptions(&d.id),
                })),
                "last_heard": d.last_heard.map(iso_millis),
                "last_ip_address": d.last_ip_address,
                "platform_id": d.platform_id,
                "functions": d.functions,
                "variables": d.variables,
            })
        })
        .collect();
    let connections = devices
        .iter()
        .filter(|d| d["online"] == json!(true))
        .count();
    json_response(
        StatusCode::OK,
        &json!({
            "profile": state.config().profile,
            "policy": state.policy(),
            "clock": {"now": iso_millis(now), "offset_secs": state.clock().offset().num_seconds()},
            "users": users,
            "tokens": tokens,
            "devices": devices,
            "connections": connections,
            "subscriptions": state.bus().subscriptions(),
            "faults": state.faults().list(now),
        }),
    )
}

/// `POST /__mock/reset` (optional `{"keep_devices": true}`): back to the seed.
pub async fn reset(State(state): State<AppState>, req: ApiRequest) -> Result<Response, ApiError> {
    let keep = req.params()?.flag("keep_devices");
    state
        .reset(keep)
        .map_err(|e| ApiError::message(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    // Webhooks belong to accounts, which the reset replaces.
    state.webhooks().clear();
    tracing::info!(
        "state reset to the seed (devices {})",
        if keep { "kept" } else { "dropped" }
    );
    Ok(json_response(
        StatusCode::OK,
        &json!({"ok": true, "kept_devices": keep}),
    ))
}

/// `POST /__mock/reload`: re-reads the seed file; connections stay up.
pub async fn reload(State(state): State<AppState>) -> Result<Response, ApiError> {
    let added = state
        .reload_seed()
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    tracing::info!("seed reloaded: {added} new users");
    Ok(json_response(
        StatusCode::OK,
        &json!({"ok": true, "added_users": added}),
    ))
}

/// Guards `/__mock`: loopback clients only, unless an admin token is configured, in which
/// case every caller must present it (`X-Admin-Token` header or `admin_token` query).
pub async fn admin_guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let remote = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    match &state.config().admin_token {
        Some(expected) => {
            let header = req
                .headers()
                .get("x-admin-token")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let query = req.uri().query().and_then(|q| {
                crate::api::request::form_urlencoded_pairs(q.as_bytes())
                    .into_iter()
                    .find(|(k, _)| k == "admin_token")
                    .map(|(_, v)| v)
            });
            if header.or(query).as_deref() != Some(expected.as_str()) {
                return ApiError::message(
                    StatusCode::UNAUTHORIZED,
                    "The admin API needs the admin token (X-Admin-Token header or admin_token query)",
                )
                .into_response();
            }
        }
        None => {
            if remote.is_some_and(|ip| !ip.is_loopback()) {
                return ApiError::message(
                    StatusCode::FORBIDDEN,
                    "The admin API answers loopback clients only; start spark-mock with --admin-token to allow others",
                )
                .into_response();
            }
        }
    }
    next.run(req).await
}
