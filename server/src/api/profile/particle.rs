//! Today's Particle cloud (api.particle.io, Particle's fork of node-oauth2-server).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::{common_error, expires_in, json_response, no_cache, Shape, Signup};
use crate::api::error::ApiError;
use crate::domain::token::TokenRecord;
use crate::error::{text, OAuthKind};

pub struct Particle;

impl Shape for Particle {
    /// OAuth errors are `{error,error_description}` (the fork deletes `code`); a bad bearer
    /// token is 401 `invalid_token`; `invalid_client` adds `WWW-Authenticate`.
    fn error(&self, err: &ApiError) -> Response {
        if let Some(resp) = common_error(err) {
            return resp;
        }
        let ApiError::OAuth(e) = err else {
            return json_response(StatusCode::INTERNAL_SERVER_ERROR, &json!({"ok": false}));
        };
        let status = match e.kind {
            OAuthKind::InvalidToken => StatusCode::UNAUTHORIZED,
            OAuthKind::ServerError => StatusCode::SERVICE_UNAVAILABLE,
            OAuthKind::RateLimitExceeded => StatusCode::TOO_MANY_REQUESTS,
            _ => StatusCode::BAD_REQUEST,
        };
        let body = json!({"error": e.kind.as_str(), "error_description": e.description});
        let mut resp = no_cache(json_response(status, &body), "no-store");
        if e.kind == OAuthKind::InvalidClient {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"Service\""),
            );
        }
        resp
    }

    /// `{token_type, access_token, expires_in, [refresh_token], [scope]}`; a token that never
    /// expires reports `expires_in: 0` and gets no refresh token.
    fn token(&self, token: &TokenRecord, now: DateTime<Utc>) -> Response {
        let mut body = Map::new();
        body.insert("token_type".into(), Value::from("bearer"));
        body.insert("access_token".into(), Value::from(token.token.clone()));
        body.insert("expires_in".into(), Value::from(expires_in(token, now)));
        if let Some(r) = &token.refresh_token {
            body.insert("refresh_token".into(), Value::from(r.clone()));
        }
        if let Some(s) = &token.scope {
            body.insert("scope".into(), Value::from(s.clone()));
        }
        no_cache(
            json_response(StatusCode::OK, &Value::Object(body)),
            "no-store",
        )
    }

    fn signup(&self, outcome: Signup) -> Response {
        match outcome {
            Signup::Created => json_response(StatusCode::OK, &json!({"ok": true})),
            Signup::MissingFields => json_response(
                StatusCode::BAD_REQUEST,
                &json!({"ok": false, "error": "username and password required"}),
            ),
            Signup::Taken => json_response(
                StatusCode::BAD_REQUEST,
                &json!({"ok": false, "error": "user with the username already exists"}),
            ),
        }
    }

    fn one_method_text(&self) -> &'static str {
        text::ONE_METHOD_PARTICLE
    }
}
