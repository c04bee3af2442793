//! `/v1/webhooks` and `/v1/integrations` (particle profile; the 2014 cloud had none, so
//! spark-2014 answers 404 as for any unknown route). The rules live in `crate::webhooks`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::api::auth::Actor;
use crate::api::error::ApiError;
use crate::api::extract::{Authed, ParticleAuthed};
use crate::api::profile::json_response;
use crate::api::request::ApiRequest;
use crate::state::AppState;
use crate::webhooks::{delivery, Hook, HookConfig, HookError};
use axum::routing::get;
use axum::Router;

/// `/v1/webhooks…` and `/v1/integrations…` (relative to `/v1`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks", get(list_webhooks).post(create_webhook))
        .route("/webhooks/{id}", get(get_webhook).delete(delete_webhook))
        .route(
            "/integrations",
            get(list_integrations).post(create_integration),
        )
        .route(
            "/integrations/{id}",
            get(get_integration)
                .put(update_integration)
                .delete(delete_integration),
        )
}

fn not_found() -> ApiError {
    ApiError::message(StatusCode::NOT_FOUND, "no webhook found")
}

fn refused(e: HookError) -> ApiError {
    ApiError::bad_request(e.to_string())
}

/// The list entry of `/v1/integrations`: the webhook plus its type.
fn integration_view(h: &Hook) -> Value {
    let mut v = h.view();
    if let Some(m) = v.as_object_mut() {
        m.insert("integration_type".into(), json!("Webhook"));
    }
    v
}

/// Reads the settings; `fallback` supplies `event` and `url` an edit leaves out.
fn read_config(
    state: &AppState,
    actor: &Actor,
    req: &ApiRequest,
    fallback: Option<&Hook>,
) -> Result<HookConfig, ApiError> {
    let p = req.params()?;
    if let Some(t) = p.str("integration_type") {
        if !t.eq_ignore_ascii_case("webhook") {
            return Err(refused(HookError::IntegrationType(t)));
        }
    }
    let old = fallback.map(Hook::view);
    let has_event = p.get("event").or_else(|| p.get("eventName")).is_some();
    let mut config = HookConfig::from_fields(|k| {
        p.get(k).or_else(|| match (k, &old) {
            ("event", Some(old)) if !has_event => old.get("event"),
            ("url", Some(old)) => old.get("url"),
            _ => None,
        })
    })
    .map_err(refused)?;
    // A device named by its name (particle-api-js allows it) is kept by its id.
    if let Some(given) = config.device_id.take() {
        let user = &actor.user.username;
        let id = match state.devices().find_for(&given, user) {
            Some(d) => d.id,
            None if given.len() == 24 && given.bytes().all(|b| b.is_ascii_hexdigit()) => {
                given.to_ascii_lowercase()
            }
            None => given,
        };
        config.device_id = Some(id);
    }
    Ok(config)
}

async fn create(state: &AppState, authed: Authed) -> Result<Response, ApiError> {
    let Authed { actor, req } = authed;
    let config = read_config(state, &actor, &req, None)?;
    let hook = state
        .webhooks()
        .create(&actor.user.username, config, state.clock().now());
    delivery::start(state);
    tracing::info!(
        "{} created webhook {} for \"{}\" → {}",
        hook.owner,
        hook.id,
        hook.config.event,
        hook.config.url
    );
    let view = hook.view();
    let hook_url = match req.header("host") {
        Some(host) => format!("http://{host}/v1/webhooks/{}", hook.id),
        None => format!("/v1/webhooks/{}", hook.id),
    };
    Ok(json_response(
        StatusCode::CREATED,
        &json!({
            "ok": true,
            "id": hook.id,
            "url": hook.config.url,
            "event": hook.config.event,
            "name": hook.config.name,
            "created_at": view["created_at"],
            "integration_type": "Webhook",
            "hookUrl": hook_url,
        }),
    ))
}

/// `POST /v1/webhooks` → 201 `{ok, id, url, event, name, created_at, integration_type,
/// hookUrl}`.
pub async fn create_webhook(
    State(state): State<AppState>,
    ParticleAuthed(authed): ParticleAuthed,
) -> Result<Response, ApiError> {
    create(&state, authed).await
}

/// `POST /v1/integrations` with `integration_type` `Webhook` (or none): as
/// `POST /v1/webhooks`.
pub async fn create_integration(
    State(state): State<AppState>,
    ParticleAuthed(authed): ParticleAuthed,
) -> Result<Response, ApiError> {
    create(&state, authed).await
}

/// `GET /v1/webhooks`: the caller's webhooks, oldest first.
pub async fn list_webhooks(
    State(state): State<AppState>,
    ParticleAuthed(Authed { actor, .. }): ParticleAuthed,
) -> Result<Response, ApiError> {
    let hooks = state.webhooks().list(&actor.user.username);
    let list: Vec<Value> = hooks.iter().map(Hook::view).collect();
    Ok(json_response(StatusCode::OK, &Value::Array(list)))
}

/// `GET /v1/integrations`: the same, each with `integration_type`.
pub async fn list_integrations(
    State(state): State<AppState>,
    ParticleAuthed(Authed { actor, .. }): ParticleAuthed,
) -> Result<Response, ApiError> {
    let hooks = state.webhooks().list(&actor.user.username);
    let list: Vec<Value> = hooks.iter().map(integration_view).collect();
    Ok(json_response(StatusCode::OK, &Value::Array(list)))
}

fn owned(state: &AppState, actor: &Actor, id: &str) -> Result<Hook, ApiError> {
    state
        .webhooks()
        .get(&actor.user.username, id)
        .ok_or_else(not_found)
}

/// `GET /v1/webhooks/:id`: the webhook.
pub async fn get_webhook(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ParticleAuthed(Authed { actor, .. }): ParticleAuthed,
) -> Result<Response, ApiError> {
    let hook = owned(&state, &actor, &id)?;
    Ok(json_response(StatusCode::OK, &hook.view()))
}

/// `GET /v1/integrations/:id` → `{"integration": …}`.
pub async fn get_integration(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ParticleAuthed(Authed { actor, .. }): ParticleAuthed,
) -> Result<Response, ApiError> {
    let hook = owned(&state, &actor, &id)?;
    Ok(json_response(
        StatusCode::OK,
        &json!({"integration": integration_view(&hook)}),
    ))
}

/// `PUT /v1/integrations/:id`: replaces the whole configuration (`event` and `url` stay
/// when left out) → `{"integration": …}`.
pub async fn update_integration(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ParticleAuthed(Authed { actor, req }): ParticleAuthed,
) -> Result<Response, ApiError> {
    let old = owned(&state, &actor, &id)?;
    let config = read_config(&state, &actor, &req, Some(&old))?;
    let hook = state
        .webhooks()
        .replace(&actor.user.username, &id, config)
        .ok_or_else(not_found)?;
    Ok(json_response(
        StatusCode::OK,
        &json!({"integration": integration_view(&hook)}),
    ))
}

fn remove(state: &AppState, actor: &Actor, id: &str) -> Result<(), ApiError> {
    if !state.webhooks().remove(&actor.user.username, id) {
        return Err(not_found());
    }
    tracing::info!("{} deleted webhook {id}", actor.user.username);
    Ok(())
}

/// `DELETE /v1/webhooks/:id` → `{"ok":true}` (what particle-cli looks for).
pub async fn delete_webhook(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ParticleAuthed(Authed { actor, .. }): ParticleAuthed,
) -> Result<Response, ApiError> {
    remove(&state, &actor, &id)?;
    Ok(json_response(StatusCode::OK, &json!({"ok": true})))
}

/// `DELETE /v1/integrations/:id` → 204, as the API reference shows.
pub async fn delete_integration(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ParticleAuthed(Authed { actor, .. }): ParticleAuthed,
) -> Result<Response, ApiError> {
    remove(&state, &actor, &id)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
