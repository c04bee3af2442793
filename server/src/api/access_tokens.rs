//! `/v1/access_tokens`: list and revoke tokens.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

use crate::api::auth::basic_credentials;
use crate::api::error::ApiError;
use crate::api::extract::Authed;
use crate::api::profile::{json_response, ok, shape};
use crate::api::request::ApiRequest;
use crate::clock::iso_millis;
use crate::domain::token::{short, Reason};
use crate::domain::users::User;
use crate::state::AppState;
use axum::routing::{delete, get};
use axum::Router;

/// `/v1/access_tokens…` (relative to `/v1`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/access_tokens", get(list).delete(revoke_all))
        .route(
            "/access_tokens/current",
            get(current).delete(revoke_current),
        )
        .route("/access_tokens/{token}", delete(revoke))
}

/// The user named by HTTP Basic `email:password`, or the 401 spark-server gives.
async fn basic_user(state: &AppState, req: &ApiRequest, what: &str) -> Result<User, ApiError> {
    let Some((username, password)) = basic_credentials(req) else {
        let msg = format!(
            "Unauthorized. You must send username and password in HTTP Basic Auth to {what}."
        );
        return Err(ApiError::Messages {
            status: StatusCode::UNAUTHORIZED,
            messages: vec![msg],
        });
    };
    state
        .check_password(&username, &password)
        .await
        .ok_or_else(|| ApiError::messages(StatusCode::UNAUTHORIZED, &["Bad password"]))
}

/// `GET /v1/access_tokens` with Basic: the user's valid tokens as `[{token,expires_at,client}]`.
pub async fn list(State(state): State<AppState>, req: ApiRequest) -> Result<Response, ApiError> {
    let user = basic_user(&state, &req, "view your access tokens").await?;
    let now = state.clock().now();
    let tokens: Vec<Value> = state.db_read(|db| {
        db.valid_tokens(&user.username, now)
            .into_iter()
            .map(|t| {
                json!({
                    "token": t.token,
                    "expires_at": t.expires_at.map(iso_millis),
                    "client": t.client_id,
                })
            })
            .collect()
    });
    Ok(json_response(StatusCode::OK, &Value::Array(tokens)))
}

/// `DELETE /v1/access_tokens/:token`. spark-2014 wants Basic `email:password` and revokes
/// only the caller's own token: another user's token is a 403 and stays valid (a 200 would
/// tell the caller it was revoked). In particle the token in the path is its own proof. An
/// unknown token answers `{ok:true}` in both, as the cloud did.
pub async fn revoke(
    State(state): State<AppState>,
    Path(token): Path<String>,
    req: ApiRequest,
) -> Result<Response, ApiError> {
    let owner = if shape(state.config().profile).revoke_needs_password() {
        Some(basic_user(&state, &req, "delete an access token").await?)
    } else {
        None
    };
    let now = state.clock().now();
    let route = format!("DELETE /v1/access_tokens/{}", short(&token));
    let revoked = state.db(|db| match (&owner, db.token(&token)) {
        (_, None) => Ok(false),
        (Some(u), Some(t)) if t.username != u.username => {
            Err(ApiError::messages(StatusCode::FORBIDDEN, &[NOT_YOUR_TOKEN]))
        }
        _ => Ok(db.invalidate(
            &token,
            Reason::Revoked {
                route: route.clone(),
            },
            now,
        )),
    })?;
    if revoked {
        tracing::info!("token {} revoked by {route}", short(&token));
    }
    Ok(ok())
}

/// spark-2014's answer to revoking a token of another user (the references are silent).
const NOT_YOUR_TOKEN: &str = "Permission Denied: the access token belongs to another user";

/// `DELETE /v1/access_tokens` with Bearer: revokes every token of the caller.
pub async fn revoke_all(
    State(state): State<AppState>,
    Authed { actor, .. }: Authed,
) -> Result<Response, ApiError> {
    let now = state.clock().now();
    let reason = Reason::Revoked {
        route: "DELETE /v1/access_tokens".to_string(),
    };
    let killed = state.db(|db| db.invalidate_all(&actor.user.username, reason, now));
    tracing::info!("{}: {} tokens revoked", actor.user.username, killed.len());
    Ok(ok())
}

/// `GET /v1/access_tokens/current`: the token in use.
pub async fn current(Authed { actor, .. }: Authed) -> Result<Response, ApiError> {
    let t = &actor.token;
    let scopes: Vec<&str> = t
        .scope
        .as_deref()
        .map(|s| s.split(' ').collect())
        .unwrap_or_default();
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "expires_at": t.expires_at.map(iso_millis),
            "client": t.client_id,
            "client_id": t.client_id,
            "scopes": scopes,
            "orgs": [],
        }),
    ))
}

/// `DELETE /v1/access_tokens/current`: log out.
pub async fn revoke_current(
    State(state): State<AppState>,
    Authed { actor, .. }: Authed,
) -> Result<Response, ApiError> {
    let now = state.clock().now();
    let reason = Reason::Revoked {
        route: "DELETE /v1/access_tokens/current".to_string(),
    };
    state.db(|db| db.invalidate(&actor.token.token, reason, now));
    Ok(ok())
}
