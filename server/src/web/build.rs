//! The Build IDE's pages: `GET /build` (log in), `POST /build/login`, `GET /build/settings`
//! (the token, its expiry, Reset Token), `POST /build/settings/reset`, `POST /build/logout`.
//!
//! CSRF: the login form is a double submit (a value in an HttpOnly, SameSite=Strict
//! pre-session cookie and in a hidden field, which must match, and which the server signed
//! when it served the form: see [`Sessions::login_csrf`]); signed-in forms carry the
//! session's own CSRF token. Every POST is also refused when the browser's `Origin` names
//! another site.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;

use crate::api::request::{ApiRequest, Params};
use crate::domain::token::Origin;
use crate::state::AppState;
use crate::web::account;
use crate::web::html::{
    asset, clear_cookie, cookie, page, redirect, same_origin, set_cookie, LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
};
use crate::web::pages::{self, Notice, Settings};
use crate::web::sessions::{same_secret, Session, SessionError, Sessions};
use crate::web::signed_in::{login_page, signed_out, NotSignedIn, SignedIn, SignedOut};

const CSRF_FAILED: &str =
    "This form has expired or did not come from this site. Nothing was changed; please try again.";

fn field(params: &Params, name: &str) -> String {
    params.str(name).unwrap_or_default()
}

fn settings_page(
    state: &AppState,
    s: &Session,
    status: StatusCode,
    notice: Option<Notice<'_>>,
) -> Response {
    let shown = account::shown_token(state, &s.username);
    page(
        status,
        pages::settings(Settings {
            username: &s.username,
            csrf: &s.csrf,
            token: shown.as_ref(),
            now: state.clock().now(),
            policy: state.policy(),
            notice,
        }),
    )
}

/// `GET /build`, `GET /build/login`: the login form, or the Settings page when signed in.
pub async fn index(signed: Result<SignedIn, NotSignedIn>) -> Response {
    match signed {
        Ok(_) => redirect("/build/settings"),
        Err(NotSignedIn::Out(SignedOut {
            error: SessionError::Missing,
            sessions,
        })) => login_page(&sessions, StatusCode::OK, "", None),
        Err(NotSignedIn::Out(out)) => signed_out(&out.sessions, StatusCode::OK, out.error),
        Err(e) => e.into_response(),
    }
}

/// `POST /build/login` (form `username`, `password`, `csrf`): checks the password, makes the
/// Build client's grant (which never rotates the token) and starts a session.
pub async fn login(
    State(state): State<AppState>,
    Extension(sessions): Extension<Sessions>,
    req: ApiRequest,
) -> Response {
    let params = req.params().cloned().unwrap_or_default();
    let username = field(&params, "username");
    let expected = cookie(&req.headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    let csrf_ok = sessions.login_csrf_ok(&expected, &field(&params, "csrf"));
    if !same_origin(&req.headers) || !csrf_ok {
        return login_page(
            &sessions,
            StatusCode::FORBIDDEN,
            &username,
            Some(Notice::Error(CSRF_FAILED)),
        );
    }
    let password = field(&params, "password");
    if username.trim().is_empty() || password.is_empty() {
        let notice = Some(Notice::Error("Enter your email and password."));
        return login_page(&sessions, StatusCode::BAD_REQUEST, &username, notice);
    }
    let origin = Origin {
        remote_addr: req.remote_ip(),
        user_agent: req.user_agent(),
    };
    match account::sign_in(&state, &username, &password, origin).await {
        Err(e) => {
            let msg = e.to_string();
            login_page(
                &sessions,
                StatusCode::UNAUTHORIZED,
                &username,
                Some(Notice::Error(&msg)),
            )
        }
        Ok(name) => {
            req.note.update(|n| {
                n.user = Some(name.clone());
                n.client = Some(state.config().build_client_id.clone());
            });
            // A fresh session every time; one this browser had before ends.
            if let Some(old) = cookie(&req.headers, SESSION_COOKIE) {
                sessions.remove(&old);
            }
            let session = sessions.create(&name, state.clock().now());
            let mut resp = redirect("/build/settings");
            set_cookie(&mut resp, SESSION_COOKIE, &session.token);
            clear_cookie(&mut resp, LOGIN_CSRF_COOKIE);
            resp
        }
    }
}

/// `GET /build/settings`: the access token, its expiry and the Reset Token button.
pub async fn settings(
    State(state): State<AppState>,
    SignedIn {
        session: s, req, ..
    }: SignedIn,
) -> Response {
    let notice = (req.query_param("reset") == Some("done")).then_some(Notice::Info(
        "Your access token was reset. Programs that used the old token need the new one.",
    ));
    settings_page(&state, &s, StatusCode::OK, notice)
}

/// Whether a signed-in form POST carries the session's CSRF token and comes from this site.
fn form_ok(req: &ApiRequest, s: &Session) -> bool {
    let sent = req
        .params()
        .ok()
        .and_then(|p| p.str("csrf"))
        .unwrap_or_default();
    same_origin(&req.headers) && same_secret(&sent, &s.csrf)
}

/// `POST /build/settings/reset` (form `csrf`): "Reset Token".
pub async fn reset(
    State(state): State<AppState>,
    SignedIn {
        session: s,
        sessions,
        req,
    }: SignedIn,
) -> Response {
    if !form_ok(&req, &s) {
        return settings_page(
            &state,
            &s,
            StatusCode::FORBIDDEN,
            Some(Notice::Error(CSRF_FAILED)),
        );
    }
    match account::reset(&state, &s.username) {
        Some(_) => redirect("/build/settings?reset=done"),
        None => signed_out(&sessions, StatusCode::UNAUTHORIZED, SessionError::Missing),
    }
}

/// `POST /build/logout` (form `csrf`): ends the session.
pub async fn logout(
    State(state): State<AppState>,
    signed: Result<SignedIn, NotSignedIn>,
) -> Response {
    let SignedIn {
        session: s,
        sessions,
        req,
    } = match signed {
        Ok(signed) => signed,
        Err(NotSignedIn::Out(_)) => return redirect("/build"),
        Err(e) => return e.into_response(),
    };
    if !form_ok(&req, &s) {
        return settings_page(
            &state,
            &s,
            StatusCode::FORBIDDEN,
            Some(Notice::Error(CSRF_FAILED)),
        );
    }
    sessions.remove(&s.token);
    let mut resp = redirect("/build");
    clear_cookie(&mut resp, SESSION_COOKIE);
    resp
}

/// `GET /build/build.css`.
pub async fn style() -> Response {
    asset("text/css; charset=utf-8", include_str!("assets/build.css"))
}
