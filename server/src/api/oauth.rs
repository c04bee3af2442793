//! `POST /oauth/token`: parsing and shaping only; the rules live in `domain::grant`.

use axum::extract::State;
use axum::http::Method;
use axum::response::Response;
use serde_json::{Map, Value};

use crate::api::auth::basic_credentials;
use crate::api::error::ApiError;
use crate::api::profile::{grant_error, grant_rules, shape};
use crate::api::request::{value_text, ApiRequest, BodyKind, Params};
use crate::domain::grant::{token_grant, TokenParams};
use crate::domain::token::{short, Origin};
use crate::error::{text, OAuthError};
use crate::state::AppState;
use axum::routing::any;
use axum::Router;

/// `/oauth/token`, any method (the library answers the wrong ones itself).
pub fn routes() -> Router<AppState> {
    Router::new().route("/oauth/token", any(token))
}

/// Any method reaches this handler: a GET gets the library's `invalid_request`, not a 405.
/// An `Authorization: Bearer …` header is ignored here (particle-cli sends `Bearer null`).
pub async fn token(State(state): State<AppState>, req: ApiRequest) -> Result<Response, ApiError> {
    let shape = shape(state.config().profile);
    let is_post_form = req.method == Method::POST && req.kind == BodyKind::Form;
    let mut params = if is_post_form {
        token_params(req.params()?)?
    } else {
        TokenParams::default()
    };
    // Basic is tried first, then the form fields.
    if let Some((id, secret)) = basic_credentials(&req) {
        params.client_id = Some(id);
        params.client_secret = Some(secret);
    }
    req.note.update(|n| n.client = params.client_id.clone());
    if !is_post_form {
        return Err(OAuthError::invalid_request(text::NOT_FORM).into());
    }
    let origin = Origin {
        remote_addr: req.remote_ip(),
        user_agent: req.user_agent(),
    };
    let rules = grant_rules(state.config(), state.policy());
    let issued = token_grant(&state, &rules, params, origin)
        .await
        .map_err(|e| grant_error(shape, e))?;
    let t = &issued.token;
    req.note.update(|n| {
        n.user = Some(t.username.clone());
        n.token = Some(short(&t.token));
    });
    if issued.reused {
        tracing::info!(
            "token {} handed back unchanged to {} (client {}, Build login)",
            short(&t.token),
            t.username,
            t.client_id
        );
    } else {
        tracing::info!(
            "issued token {} to {} (client {}, {:?} grant, policy {}); invalidated {}",
            short(&t.token),
            t.username,
            t.client_id,
            t.grant,
            t.policy,
            issued.invalidated.len()
        );
    }
    Ok(shape.token(t, state.clock().now()))
}

/// The form's fields as text; a repeated field counts with its last value.
fn token_params(params: &Params) -> Result<TokenParams, ApiError> {
    let fields: Map<String, Value> = params
        .iter()
        .filter_map(|(k, v)| value_text(v).map(|v| (k.clone(), Value::String(v))))
        .collect();
    serde_json::from_value(Value::Object(fields)).map_err(|e| ApiError::bad_request(e.to_string()))
}
