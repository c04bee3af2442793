//! `/v1/clients`: the caller's OAuth clients (particle profile; the 2014 cloud had none).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::api::error::ApiError;
use crate::api::extract::{Authed, ParticleAuthed};
use crate::api::profile::json_response;
use crate::domain::token::generate_token;
use crate::domain::users::{client_id_for, Client};
use crate::state::AppState;
use axum::routing::{get, put};
use axum::Router;

/// `/v1/clients…` (relative to `/v1`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/clients", get(list).post(create))
        .route("/clients/{id}", put(update).delete(delete))
}

fn summary(c: &Client) -> Value {
    json!({"name": c.name, "type": c.kind, "id": c.id})
}

fn with_secret(c: &Client) -> Value {
    json!({"name": c.name, "type": c.kind, "id": c.id, "secret": c.secret})
}

/// `GET /v1/clients`.
pub async fn list(
    State(state): State<AppState>,
    ParticleAuthed(Authed { actor, .. }): ParticleAuthed,
) -> Result<Response, ApiError> {
    let clients: Vec<Value> = state.db_read(|db| {
        db.clients()
            .values()
            .filter(|c| c.owner.as_deref() == Some(actor.user.username.as_str()))
            .map(summary)
            .collect()
    });
    Ok(json_response(
        StatusCode::OK,
        &json!({"ok": true, "clients": clients}),
    ))
}

/// `POST /v1/clients`: `name` and `type` (`installed` or `web`, which needs `redirect_uri`).
pub async fn create(
    State(state): State<AppState>,
    ParticleAuthed(Authed { actor, req }): ParticleAuthed,
) -> Result<Response, ApiError> {
    let p = req.params()?;
    let name = p
        .str("name")
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("name is required"))?;
    let kind = p
        .str("type")
        .ok_or_else(|| ApiError::bad_request("type is required"))?;
    if kind != "installed" && kind != "web" {
        return Err(ApiError::bad_request("type must be installed or web"));
    }
    let redirect_uri = p.str("redirect_uri");
    if kind == "web" && redirect_uri.is_none() {
        return Err(ApiError::bad_request(
            "redirect_uri is required for web clients",
        ));
    }
    let client = state.db(|db| {
        let mut id = client_id_for(&name);
        while db.client(&id).is_some() {
            id = client_id_for(&name);
        }
        let client = Client {
            id: id.clone(),
            secret: generate_token(),
            name,
            kind,
            redirect_uri,
            scope: p.str("scope"),
            owner: Some(actor.user.username.clone()),
        };
        db.insert_client(client.clone());
        client
    });
    Ok(json_response(
        StatusCode::OK,
        &json!({"ok": true, "client": with_secret(&client)}),
    ))
}

/// `PUT /v1/clients/:id`: `name`, `scope`.
pub async fn update(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ParticleAuthed(Authed { actor, req }): ParticleAuthed,
) -> Result<Response, ApiError> {
    let p = req.params()?;
    let updated = state.db(|db| {
        let c = db
            .client_mut(&id)
            .filter(|c| c.owner.as_deref() == Some(actor.user.username.as_str()))?;
        if let Some(n) = p.str("name").filter(|s| !s.trim().is_empty()) {
            c.name = n;
        }
        if let Some(s) = p.str("scope") {
            c.scope = Some(s);
        }
        Some(c.clone())
    });
    let c = updated.ok_or_else(|| ApiError::message(StatusCode::NOT_FOUND, "Client not found"))?;
    Ok(json_response(
        StatusCode::OK,
        &json!({"ok": true, "client": with_secret(&c)}),
    ))
}

/// `DELETE /v1/clients/:id` → 204.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ParticleAuthed(Authed { actor, .. }): ParticleAuthed,
) -> Result<Response, ApiError> {
    let removed = state.db(|db| {
        let owned = db
            .client(&id)
            .is_some_and(|c| c.owner.as_deref() == Some(actor.user.username.as_str()));
        owned && db.remove_client(&id).is_some()
    });
    if !removed {
        return Err(ApiError::message(StatusCode::NOT_FOUND, "Client not found"));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
