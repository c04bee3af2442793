//! The Build IDE's JSON calls, for scripts, as a 2014 forum user reverse-engineered them
//! (cloud-api.md §8); the original paths are lost, so spark-mock chooses:
//!
//! - `POST /build/api/sign_in` with `{"username","password"}` (JSON or form) →
//!   `{"username", "auth_token": {"token": "<20 chars>", "expires_at": "2014-05-19T13:31:05Z"}}`.
//!   Like the page's login, it never rotates the cloud token.
//! - `GET /build/api/access_token` with `Authorization: Bearer <auth_token>` →
//!   `{"access_token", "access_token_expires_at": "2014-03-23T15:51:07+00:00"}` (`null` for a
//!   token that never expires).
//!
//! No cookies are involved, so there is nothing to forge across sites: a script must hold
//! the password or the session token. Errors are Devise's `{"error": "…"}`.

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Extension;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::api::profile::json_response;
use crate::api::request::ApiRequest;
use crate::domain::token::Origin;
use crate::state::AppState;
use crate::web::account;
use crate::web::sessions::{SessionError, Sessions};

fn reply(status: StatusCode, body: Value) -> Response {
    let mut resp = json_response(status, &body);
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn error(status: StatusCode, message: &str) -> Response {
    reply(status, json!({"error": message}))
}

/// The session token's expiry, as the forum post showed it: `2014-05-19T13:31:05Z`.
fn zulu(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The cloud token's expiry, as the forum post showed it: `2014-03-23T15:51:07+00:00`.
fn offset(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
}

/// `POST /build/api/sign_in`.
pub async fn sign_in(
    State(state): State<AppState>,
    Extension(sessions): Extension<Sessions>,
    req: ApiRequest,
) -> Response {
    let params = req.params().cloned().unwrap_or_default();
    let (Some(username), Some(password)) = (
        params.str("username").filter(|u| !u.trim().is_empty()),
        params.str("password").filter(|p| !p.is_empty()),
    ) else {
        return error(StatusCode::BAD_REQUEST, "Missing username or password.");
    };
    let origin = Origin {
        remote_addr: req.remote_ip(),
        user_agent: req.user_agent(),
    };
    match account::sign_in(&state, &username, &password, origin).await {
        Err(_) => error(StatusCode::UNAUTHORIZED, "Invalid email or password."),
        Ok(name) => {
            req.note.update(|n| {
                n.user = Some(name.clone());
                n.client = Some(state.config().build_client_id.clone());
            });
            let session = sessions.create(&name, state.clock().now());
            reply(
                StatusCode::OK,
                json!({
                    "username": name,
                    "auth_token": {"token": session.token, "expires_at": zulu(session.expires_at)},
                }),
            )
        }
    }
}

/// `GET /build/api/access_token`.
pub async fn access_token(
    State(state): State<AppState>,
    Extension(sessions): Extension<Sessions>,
    req: ApiRequest,
) -> Response {
    let bearer = req
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let Some(bearer) = bearer else {
        return error(
            StatusCode::UNAUTHORIZED,
            "You need to sign in or sign up before continuing.",
        );
    };
    let session = match sessions.get(bearer, state.clock().now()) {
        Ok(s) if account::exists(&state, &s.username) => s,
        Err(SessionError::Expired) => {
            return error(
                StatusCode::UNAUTHORIZED,
                "Your session expired. Please sign in again to continue.",
            )
        }
        _ => {
            return error(
                StatusCode::UNAUTHORIZED,
                "You need to sign in or sign up before continuing.",
            )
        }
    };
    req.note.update(|n| {
        n.user = Some(session.username.clone());
        n.client = Some(state.config().build_client_id.clone());
    });
    match account::shown_token(&state, &session.username) {
        Some(t) => reply(
            StatusCode::OK,
            json!({
                "access_token": t.token,
                "access_token_expires_at": t.expires_at.map(offset),
            }),
        ),
        None => error(StatusCode::NOT_FOUND, "No access token."),
    }
}
