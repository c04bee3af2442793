//! What the Build IDE does to a user's cloud token, shared by its HTML pages and its JSON
//! API: signing in (a Build-client grant that never rotates anything), showing the token
//! the Settings page lists, and "Reset Token".

use chrono::{DateTime, Utc};

use crate::config::PolicyKind;
use crate::domain::db::{Db, IssueRequest};
use crate::domain::policy::{plan_grant, Plan};
use crate::domain::token::{GrantKind, Origin, Status, TokenRecord};
use crate::state::AppState;

/// Why a Build sign-in failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LoginError {
    #[error("Incorrect email or password.")]
    BadPassword,
}

/// The token the Settings page shows, with what a person needs to judge it.
#[derive(Clone, Debug)]
pub struct ShownToken {
    pub token: String,
    pub client: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub status: Status,
    /// Why it no longer works, when it does not.
    pub death: Option<String>,
}

impl ShownToken {
    fn of(t: &TokenRecord, now: DateTime<Utc>) -> Self {
        ShownToken {
            token: t.token.clone(),
            client: t.client_id.clone(),
            expires_at: t.expires_at,
            status: t.status(now),
            death: t.death(now),
        }
    }
}

/// Checks the password, then makes the Build client's password grant through the token
/// policy: the user's current token comes back unchanged, and one is created only when the
/// user has none. This is the 2014 rule: logging in to Build never changed the token.
/// Returns the user's canonical username.
pub async fn sign_in(
    state: &AppState,
    username: &str,
    password: &str,
    origin: Origin,
) -> Result<String, LoginError> {
    let user = state
        .check_password(username, password)
        .await
        .ok_or(LoginError::BadPassword)?;
    let now = state.clock().now();
    let policy = state.policy();
    let build = state.config().build_client_id.clone();
    let req = IssueRequest {
        username: user.username.clone(),
        client_id: build.clone(),
        grant: GrantKind::Password,
        scope: None,
        expires_at: Some(crate::clock::deadline(now, state.token_lifetime())),
        refresh_lifetime: None,
        origin,
    };
    let issued = state.db(|db| db.grant(req, policy, &build, now));
    tracing::info!(
        "{}: signed in to Build; token {}",
        user.username,
        if issued.reused {
            "unchanged"
        } else {
            "created (there was none)"
        }
    );
    Ok(user.username)
}

/// The token the Build Settings page lists: the one a Build sign-in would hand back now
/// (under `single` and `multi` the newest valid token, under `per-client` the Build
/// client's). When none is valid, the latest such token, dead, so the page can say why and
/// offer "Reset Token" as the 2014 page did. `None` when the user never had a token.
pub fn shown_token(state: &AppState, username: &str) -> Option<ShownToken> {
    let now = state.clock().now();
    let policy = state.policy();
    let build = state.config().build_client_id.clone();
    state.db_read(|db| pick(db, username, policy, &build, now).map(|t| ShownToken::of(t, now)))
}

fn pick<'a>(
    db: &'a Db,
    username: &str,
    policy: PolicyKind,
    build: &str,
    now: DateTime<Utc>,
) -> Option<&'a TokenRecord> {
    let valid = db.valid_tokens(username, now);
    if let Plan::Reuse(t) = plan_grant(policy, true, build, &valid) {
        return db.token(&t);
    }
    let all = db.user_tokens(username);
    let own = all.iter().rev().find(|t| t.client_id == build).copied();
    match policy {
        PolicyKind::PerClient => own.or(all.last().copied()),
        PolicyKind::Single | PolicyKind::Multi => all.last().copied(),
    }
}

/// "Reset Token" pressed on the Settings page: replaces the token the page shows (under
/// `single`, every valid token) with a fresh one for the Build client; the history says
/// "reset from Build settings". `None` if the user no longer exists.
pub fn reset(state: &AppState, username: &str) -> Option<ShownToken> {
    let issued = state.reset_token(username, true)?;
    let now = state.clock().now();
    tracing::info!(
        "{username}: token reset from Build settings, {} invalidated",
        issued.invalidated.len()
    );
    Some(ShownToken::of(&issued.token, now))
}

/// Whether the user still exists (a session outlives `/__mock/reset`).
pub fn exists(state: &AppState, username: &str) -> bool {
    state.db_read(|db| db.user(username).is_some())
}
