//! `POST /oauth/token`: parsing and shaping only; the rules live in `domain::grant`.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::Method;
use axum::response::Response;

use crate::api::auth::basic_credentials;
use crate::api::error::ApiError;
use crate::api::profile::shape;
use crate::api::request::{value_text, ApiRequest, BodyKind};
use crate::domain::grant::{token_grant, TokenRequest};
use crate::domain::token::{short, Origin};
use crate::state::AppState;

/// Any method reaches this handler: a GET gets the library's `invalid_request`, not a 405.
/// An `Authorization: Bearer …` header is ignored here (particle-cli sends `Bearer null`).
pub async fn token(State(state): State<AppState>, req: ApiRequest) -> Result<Response, ApiError> {
    let is_post_form = req.method == Method::POST && req.kind == BodyKind::Form;
    let form: HashMap<String, String> = if is_post_form {
        req.params()?
            .iter()
            .filter_map(|(k, v)| value_text(v).map(|v| (k.clone(), v)))
            .collect()
    } else {
        HashMap::new()
    };
    let request = TokenRequest {
        is_post_form,
        basic: basic_credentials(&req),
        form,
        origin: Origin {
            remote_addr: req.remote_ip(),
            user_agent: req.user_agent(),
        },
    };
    let client = request
        .basic
        .as_ref()
        .map(|b| b.0.clone())
        .or_else(|| request.form.get("client_id").cloned());
    req.note.update(|n| n.client = client);
    let issued = token_grant(&state, request).await?;
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
    Ok(shape(state.config().profile).token(t, state.clock().now()))
}
