//! What the Build IDE does to a user's cloud token, shared by its HTML pages and its JSON
//! API: signing in (a Build-client grant that never rotates anything), showing the token
//! the Settings page lists, and "Reset Token".

use chrono::{DateTime, Utc};

use crate::api::profile::grant_rules;
use crate::domain::grant::{self, Expiry, NewToken};
use crate::domain::token::{Origin, Status, TokenRecord};
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

/// The Build client's password grant, through the same code as `/oauth/token`: the
/// user's current token comes back unchanged, and one is created only when the user has
/// none. This is the 2014 rule: logging in to Build never changed the token. The page asks
/// for no second factor and gets no refresh token. Returns the user's canonical username.
pub async fn sign_in(
    state: &AppState,
    username: &str,
    password: &str,
    origin: Origin,
) -> Result<String, LoginError> {
    let rules = grant_rules(state.config(), state.policy()).for_build_page();
    let req = NewToken {
        client_id: rules.build_client_id.clone(),
        scope: None,
        expiry: Expiry::Default,
        origin,
    };
    // Without a second factor, a wrong password is the only way the grant fails.
    let issued = grant::password(state, &rules, req, username, password)
        .await
        .map_err(|_| LoginError::BadPassword)?;
    let name = issued.token.username;
    tracing::info!(
        "{name}: signed in to Build; token {}",
        if issued.reused {
            "unchanged"
        } else {
            "created (there was none)"
        }
    );
    Ok(name)
}

/// The token the Build Settings page lists (see [`grant::build_page_token`]), offering
/// "Reset Token" when it is dead, as the 2014 page did. `None` when the user never had one.
pub fn shown_token(state: &AppState, username: &str) -> Option<ShownToken> {
    let now = state.clock().now();
    let policy = state.policy();
    let build = state.config().build_client_id.clone();
    state.db_read(|db| {
        grant::build_page_token(db, username, policy, &build, now).map(|t| ShownToken::of(t, now))
    })
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
