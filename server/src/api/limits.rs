//! Applies `ratelimit` to requests when rate limits are switched on: classifies the route,
//! counts it, and answers 429 in the profile's shape when over.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::api::error::ApiError;
use crate::error::{OAuthError, OAuthKind};
use crate::ratelimit::Bucket;
use crate::state::AppState;

/// Which documented limit a request counts against, besides the all-routes one.
fn classify(method: &Method, path: &str) -> Option<Bucket> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        (&Method::POST, ["oauth", "token"]) => Some(Bucket::OAuthToken),
        (&Method::GET, ["v1", "access_tokens"]) => Some(Bucket::Route("GET /v1/access_tokens")),
        (&Method::DELETE, ["v1", "access_tokens", t]) if *t != "current" => {
            Some(Bucket::Route("DELETE /v1/access_tokens/:token"))
        }
        (&Method::POST, ["v1", "users"]) => Some(Bucket::Route("POST /v1/users")),
        (&Method::DELETE, ["v1", "user"]) => Some(Bucket::Route("DELETE /v1/user")),
        (&Method::GET, ["v1", "events", ..])
        | (&Method::GET, ["v1", "devices", "events", ..])
        | (&Method::GET, ["v1", "devices", _, "events", ..]) => Some(Bucket::EventStream),
        _ => None,
    }
}

pub async fn rate_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(limiter) = state.limiter().cloned() else {
        return next.run(req).await;
    };
    let Some(ip) = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
    else {
        return next.run(req).await;
    };
    if req.uri().path().starts_with("/__mock") {
        return next.run(req).await;
    }
    let bucket = classify(req.method(), req.uri().path());
    let is_login = bucket == Some(Bucket::OAuthToken);
    let now = state.clock().now();
    if let Err(why) = limiter.check(ip, bucket, now) {
        tracing::warn!(
            "rate limit: {ip} refused on {} {}: {why:?}",
            req.method(),
            req.uri().path()
        );
        return if is_login {
            ApiError::OAuth(OAuthError::new(
                OAuthKind::RateLimitExceeded,
                "Too many requests",
            ))
        } else {
            ApiError::message(StatusCode::TOO_MANY_REQUESTS, "Too many requests")
        }
        .into_response();
    }
    let resp = next.run(req).await;
    if is_login {
        limiter.login_result(ip, resp.status() == StatusCode::OK, now);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_classified_like_the_docs() {
        assert_eq!(
            classify(&Method::POST, "/oauth/token"),
            Some(Bucket::OAuthToken)
        );
        assert_eq!(
            classify(&Method::GET, "/v1/devices/abc/events/temp"),
            Some(Bucket::EventStream)
        );
        assert_eq!(classify(&Method::DELETE, "/v1/access_tokens/current"), None);
        assert_eq!(classify(&Method::GET, "/v1/devices"), None);
    }
}
