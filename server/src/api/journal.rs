//! Journals every API request (not the `/__mock` admin API itself): the middleware times
//! the request and records what the handlers noted in its [`NoteSlot`].

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use serde_json::json;

use crate::api::profile::json_response;
use crate::journal::{Entry, NoteSlot};
use crate::state::AppState;

pub async fn record(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if path.starts_with("/__mock") {
        return next.run(req).await;
    }
    let slot = NoteSlot::default();
    req.extensions_mut().insert(slot.clone());
    let method = req.method().to_string();
    let remote_addr = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    let user_agent = req
        .headers()
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let at = state.clock().now();
    let started = Instant::now();
    let resp = next.run(req).await;
    let note = slot.0.lock().clone();
    state.journal().push(Entry {
        id: 0,
        at,
        method,
        path,
        token: note.token,
        user: note.user,
        client: note.client,
        status: resp.status().as_u16(),
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        rejected: note.rejected,
        fault: note.fault,
        remote_addr,
        user_agent,
        ..Entry::default()
    });
    resp
}

/// `GET /__mock/requests`: the journal, oldest first.
pub async fn list(State(state): State<AppState>) -> Response {
    json_response(
        StatusCode::OK,
        &json!({"requests": state.journal().entries()}),
    )
}

/// `DELETE /__mock/requests`: clears the journal.
pub async fn clear(State(state): State<AppState>) -> Response {
    state.journal().clear();
    json_response(StatusCode::OK, &json!({"ok": true}))
}
