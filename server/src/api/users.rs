//! `/v1/users` (sign-up) and `/v1/user` (the caller's account).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use crate::api::error::ApiError;
use crate::api::extract::Authed;
use crate::api::profile::{json_response, shape, Signup};
use crate::api::request::ApiRequest;
use crate::domain::token::Reason;
use crate::domain::users::{normalize_username, User};
use crate::state::AppState;
use axum::routing::{get, post};
use axum::Router;

/// `/v1/users`, `/v1/user…` (relative to `/v1`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", post(signup))
        .route("/user", get(me).put(update).delete(delete))
        .route("/user/password-reset", post(password_reset))
}

/// `POST /v1/users`, no auth, form or JSON.
pub async fn signup(State(state): State<AppState>, req: ApiRequest) -> Result<Response, ApiError> {
    let params = req.params()?;
    let shaper = shape(state.config().profile);
    let (Some(username), Some(password)) = (
        params.str("username").filter(|s| !s.trim().is_empty()),
        params.str("password").filter(|s| !s.is_empty()),
    ) else {
        return Ok(shaper.signup(Signup::MissingFields));
    };
    if state.db_read(|db| db.user(&username).is_some()) {
        return Ok(shaper.signup(Signup::Taken));
    }
    let hash = state.hash_password(password).await;
    let mut user = User::new(&username, hash, state.clock().now());
    if let Some(info) = params.get("account_info") {
        user.first_name = info
            .get("first_name")
            .and_then(|v| v.as_str())
            .map(str::to_string);
        user.last_name = info
            .get("last_name")
            .and_then(|v| v.as_str())
            .map(str::to_string);
    }
    let name = user.username.clone();
    if !state.db(|db| db.add_user(user)) {
        return Ok(shaper.signup(Signup::Taken));
    }
    tracing::info!("user {name} signed up");
    Ok(shaper.signup(Signup::Created))
}

/// `GET /v1/user`.
pub async fn me(Authed { actor, .. }: Authed) -> Result<Response, ApiError> {
    Ok(json_response(StatusCode::OK, &user_json(&actor.user)))
}

fn user_json(user: &User) -> serde_json::Value {
    json!({
        "username": user.username,
        "subscription_ids": [],
        "account_info": {
            "first_name": user.first_name,
            "last_name": user.last_name,
            "business_account": user.business_account,
        },
        "scim_provisioned": false,
        "no_password": false,
        "mfa": {"enabled": user.mfa.is_some()},
        "wifi_device_count": 0,
        "cellular_device_count": 0,
    })
}

fn truthy(v: Option<String>) -> bool {
    matches!(
        v.as_deref().map(str::to_ascii_lowercase).as_deref(),
        Some("true" | "1" | "yes")
    )
}

/// `PUT /v1/user`: a password change (`password` + `current_password`), an email change
/// (`username` + `current_password`) or `account_info`; `invalidate_tokens=true` kills every
/// token of the user.
pub async fn update(
    State(state): State<AppState>,
    Authed { actor, req }: Authed,
) -> Result<Response, ApiError> {
    let params = req.params()?;
    let new_password = params.str("password").filter(|s| !s.is_empty());
    let new_username = params.str("username").filter(|s| !s.trim().is_empty());
    let mut message = "User updated.";
    if new_password.is_some() || new_username.is_some() {
        let current = params.str("current_password").unwrap_or_default();
        if state
            .check_password(&actor.user.username, &current)
            .await
            .is_none()
        {
            return Err(ApiError::bad_request("Current password is incorrect"));
        }
    }
    if let Some(pw) = new_password {
        let hash = state.hash_password(pw).await;
        state.db(|db| {
            if let Some(u) = db.user_mut(&actor.user.username) {
                u.password = hash;
            }
        });
        message = "User's password updated.";
    }
    let mut username = actor.user.username.clone();
    if let Some(new) = new_username {
        let new = normalize_username(&new);
        if new != username {
            if !state.db(|db| db.rename_user(&username, &new)) {
                return Err(ApiError::bad_request(
                    "user with the username already exists",
                ));
            }
            username = new;
            message = "User's username updated.";
        }
    }
    if let Some(info) = params.get("account_info") {
        state.db(|db| {
            if let Some(u) = db.user_mut(&username) {
                if let Some(f) = info.get("first_name").and_then(|v| v.as_str()) {
                    u.first_name = Some(f.to_string());
                }
                if let Some(l) = info.get("last_name").and_then(|v| v.as_str()) {
                    u.last_name = Some(l.to_string());
                }
            }
        });
    }
    if truthy(params.str("invalidate_tokens")) {
        let now = state.clock().now();
        let killed = state.db(|db| db.invalidate_all(&username, Reason::PasswordChanged, now));
        tracing::info!(
            "{username}: password changed, {} tokens invalidated",
            killed.len()
        );
    }
    Ok(json_response(
        StatusCode::OK,
        &json!({"ok": true, "message": message}),
    ))
}

/// `POST /v1/user/password-reset` (particle), no auth, `username`: the cloud emails a reset
/// link. The mock sends no email; it answers as the cloud does, whether or not the account
/// exists (the answer must not tell), and logs the request.
pub async fn password_reset(
    State(state): State<AppState>,
    req: ApiRequest,
) -> Result<Response, ApiError> {
    if !shape(state.config().profile).has_particle_api() {
        return Err(ApiError::NotFound);
    }
    let username = req
        .params()?
        .str("username")
        .map(|u| normalize_username(&u))
        .filter(|u| !u.is_empty())
        .ok_or_else(|| ApiError::bad_request("username is required"))?;
    let known = state.db_read(|db| db.user(&username).is_some());
    tracing::info!(
        "password reset requested for {username} ({}); spark-mock sends no email",
        if known {
            "a known account"
        } else {
            "no such account"
        }
    );
    req.note.update(|n| n.user = Some(username));
    Ok(json_response(
        StatusCode::OK,
        &json!({"ok": true, "message": "Password reset email sent."}),
    ))
}

/// `DELETE /v1/user` with `password`.
pub async fn delete(
    State(state): State<AppState>,
    Authed { actor, req }: Authed,
) -> Result<Response, ApiError> {
    let password = req.params()?.str("password").unwrap_or_default();
    if state
        .check_password(&actor.user.username, &password)
        .await
        .is_none()
    {
        return Err(ApiError::bad_request("Password is incorrect"));
    }
    let now = state.clock().now();
    state.db(|db| db.delete_user(&actor.user.username, now));
    state.webhooks().remove_owner(&actor.user.username);
    Ok(json_response(
        StatusCode::OK,
        &json!({"ok": true, "message": "User's account has been deleted."}),
    ))
}
