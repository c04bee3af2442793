//! The 2014 Spark cloud (api.spark.io, node-oauth2-server 1.5.3).

use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::{common_error, expires_in, json_response, no_cache, Shape, Signup};
use crate::api::error::ApiError;
use crate::domain::token::TokenRecord;
use crate::error::{text, OAuthKind};

pub struct Spark2014;

impl Shape for Spark2014 {
    /// OAuth errors are `{code,error,error_description}`, `code` repeating the status. A bad
    /// or expired bearer token is reported as `invalid_grant`/400, as the 2014 cloud did.
    fn error(&self, err: &ApiError) -> Response {
        if let Some(resp) = common_error(err) {
            return resp;
        }
        let ApiError::OAuth(e) = err else {
            return json_response(StatusCode::INTERNAL_SERVER_ERROR, &json!({"ok": false}));
        };
        let (kind, status) = match e.kind {
            OAuthKind::InvalidToken => (OAuthKind::InvalidGrant, 400),
            OAuthKind::ServerError => (OAuthKind::ServerError, 503),
            OAuthKind::RateLimitExceeded => (OAuthKind::RateLimitExceeded, 429),
            k => (k, 400),
        };
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
        let body = json!({
            "code": status.as_u16(),
            "error": kind.as_str(),
            "error_description": e.description,
        });
        no_cache(json_response(status, &body), "no-store")
    }

    /// `{access_token, [refresh_token], token_type, expires_in}` with `no-cache` headers.
    fn token(&self, token: &TokenRecord, now: DateTime<Utc>) -> Response {
        let mut body = Map::new();
        body.insert("access_token".into(), Value::from(token.token.clone()));
        if let Some(r) = &token.refresh_token {
            body.insert("refresh_token".into(), Value::from(r.clone()));
        }
        body.insert("token_type".into(), Value::from("bearer"));
        body.insert("expires_in".into(), Value::from(expires_in(token, now)));
        no_cache(
            json_response(StatusCode::OK, &Value::Object(body)),
            "no-cache",
        )
    }

    /// Always 200: `{ok:true}` or `{ok:false,errors:[…]}`.
    fn signup(&self, outcome: Signup) -> Response {
        let body = match outcome {
            Signup::Created => json!({"ok": true}),
            Signup::MissingFields => {
                json!({"ok": false, "errors": ["username and password required"]})
            }
            Signup::Taken => json!({"ok": false, "errors": ["That username is already taken"]}),
        };
        json_response(StatusCode::OK, &body)
    }

    fn one_method_text(&self) -> &'static str {
        text::ONE_METHOD_2014
    }
}
