//! `ApiError`: every way a request can fail. Handlers return it; a middleware renders it in
//! the profile's exact shape (see `api::profile`), so handlers never choose a shape.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::error::OAuthError;

#[derive(Clone, Debug, thiserror::Error)]
pub enum ApiError {
    /// An OAuth error from the token endpoint or the bearer check.
    #[error(transparent)]
    OAuth(#[from] OAuthError),
    /// `{"ok":false,"error":"<message>"}`.
    #[error("{status}: {message}")]
    Message { status: StatusCode, message: String },
    /// `{"ok":false,"errors":["<message>", …]}`, the older endpoints' shape.
    #[error("{status}: {messages:?}")]
    Messages {
        status: StatusCode,
        messages: Vec<String>,
    },
    /// A body given verbatim (e.g. `{"error":"Permission Denied","info":…}`).
    #[error("{status}: {body}")]
    Body { status: StatusCode, body: Value },
    /// The body was over the limit.
    #[error("request body over {0} bytes")]
    TooLarge(usize),
    /// The body did not arrive in full within `--body-timeout`.
    #[error("request body not received within {0:?}")]
    BodyTimeout(std::time::Duration),
    /// No such route.
    #[error("not found")]
    NotFound,
    /// The route exists, the method does not.
    #[error("method not allowed")]
    MethodNotAllowed,
}

impl ApiError {
    pub fn message(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError::Message {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::message(StatusCode::BAD_REQUEST, message)
    }

    pub fn messages(status: StatusCode, messages: &[&str]) -> Self {
        ApiError::Messages {
            status,
            messages: messages.iter().map(|m| m.to_string()).collect(),
        }
    }

    pub fn body(status: StatusCode, body: Value) -> Self {
        ApiError::Body { status, body }
    }
}

/// Carries an error from a handler to the rendering middleware.
#[derive(Clone, Debug)]
pub struct Unrendered(pub ApiError);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // A placeholder that `api::render_errors` replaces with the profile's shape. If the
        // middleware were ever missing, the client still gets a plain 500 rather than a hang.
        let mut resp = StatusCode::INTERNAL_SERVER_ERROR.into_response();
        resp.extensions_mut().insert(Unrendered(self));
        resp
    }
}
