//! [`SignedIn`]: the Build pages' session check as an extractor, and the login page a
//! request without a session gets instead ([`SignedOut`]).
//!
//! It reads the whole request, as the pages did before checking the cookie, so a body that
//! is too large or too slow still answers as it did, and hands the parsed [`ApiRequest`] on
//! for the page's form fields.

use axum::extract::rejection::ExtensionRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;

use crate::api::error::ApiError;
use crate::api::request::ApiRequest;
use crate::state::AppState;
use crate::web::account;
use crate::web::html::{clear_cookie, cookie, page, set_cookie, LOGIN_CSRF_COOKIE, SESSION_COOKIE};
use crate::web::pages::{self, Notice};
use crate::web::sessions::{Session, SessionError, Sessions};

/// A request with a live Build session whose user still exists.
pub struct SignedIn {
    pub session: Session,
    pub sessions: Sessions,
    pub req: ApiRequest,
}

/// A Build request without a session: `error` says why. Renders as the login page with
/// `401`; pages that answer otherwise (`GET /build`, logout) take `Result<SignedIn, _>`.
pub struct SignedOut {
    pub error: SessionError,
    pub sessions: Sessions,
}

impl IntoResponse for SignedOut {
    fn into_response(self) -> Response {
        signed_out(&self.sessions, StatusCode::UNAUTHORIZED, self.error)
    }
}

/// Why [`SignedIn`] did not extract: the request itself failed (as it would for any
/// page), or there is no session.
pub enum NotSignedIn {
    Extension(ExtensionRejection),
    Request(ApiError),
    Out(SignedOut),
}

impl IntoResponse for NotSignedIn {
    fn into_response(self) -> Response {
        match self {
            NotSignedIn::Extension(e) => e.into_response(),
            NotSignedIn::Request(e) => e.into_response(),
            NotSignedIn::Out(out) => out.into_response(),
        }
    }
}

impl FromRequest<AppState> for SignedIn {
    type Rejection = NotSignedIn;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, NotSignedIn> {
        let (mut parts, body) = req.into_parts();
        let Extension(sessions) = Extension::<Sessions>::from_request_parts(&mut parts, state)
            .await
            .map_err(NotSignedIn::Extension)?;
        let req = ApiRequest::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(NotSignedIn::Request)?;
        match current(state, &sessions, &req) {
            Ok(session) => Ok(SignedIn {
                session,
                sessions,
                req,
            }),
            Err(error) => Err(NotSignedIn::Out(SignedOut { error, sessions })),
        }
    }
}

/// The signed-in session behind the request's cookie, if its user still exists.
fn current(
    state: &AppState,
    sessions: &Sessions,
    req: &ApiRequest,
) -> Result<Session, SessionError> {
    let token = cookie(&req.headers, SESSION_COOKIE).ok_or(SessionError::Missing)?;
    let session = sessions.get(&token, state.clock().now())?;
    if !account::exists(state, &session.username) {
        sessions.remove(&token);
        return Err(SessionError::Missing);
    }
    req.note.update(|n| {
        n.user = Some(session.username.clone());
        n.client = Some(state.config().build_client_id.clone());
    });
    Ok(session)
}

/// The login page with a fresh, signed pre-session CSRF value in both the cookie and the form.
pub fn login_page(
    sessions: &Sessions,
    status: StatusCode,
    username: &str,
    notice: Option<Notice<'_>>,
) -> Response {
    let csrf = sessions.login_csrf();
    let mut resp = page(status, pages::login(&csrf, username, notice));
    set_cookie(&mut resp, LOGIN_CSRF_COOKIE, &csrf);
    resp
}

/// The login page explaining why the session is not there.
pub fn signed_out(sessions: &Sessions, status: StatusCode, e: SessionError) -> Response {
    let notice = match e {
        SessionError::Missing => Notice::Info("Log in to see your access token."),
        SessionError::Expired => Notice::Error("Your session has expired. Please log in again."),
    };
    let mut resp = login_page(sessions, status, "", Some(notice));
    if e == SessionError::Expired {
        clear_cookie(&mut resp, SESSION_COOKIE);
    }
    resp
}
