//! The token endpoint's logic (`POST /oauth/token`), in the order node-oauth2-server checks
//! things: grant type, client credentials, the client, whether the grant is allowed, the
//! lifetime asked for, then the grant itself (one function per grant type, in `grants`).
//! It sees only the rules in force ([`GrantRules`]) and the account database
//! ([`Accounts`]), never HTTP or the profile; every failure is a [`GrantError`].

mod grants;
mod rules;
#[cfg(test)]
mod tests;

use std::future::Future;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::config::ClientCheck;
use crate::domain::db::{Db, Issued};
use crate::domain::token::Origin;
use crate::domain::users::{Client, User};

pub use grants::{
    build_page_token, client_credentials, mfa_otp, password, recovery_code, refresh_token,
};
pub use rules::{Expiry, GrantError, GrantFeatures, GrantRules, GrantType, NewToken};

/// The account database as a grant uses it. `AppState` implements it over its lock; unit
/// tests over a plain one.
pub trait Accounts: Sync {
    /// Reads the database.
    fn read<R>(&self, f: impl FnOnce(&Db) -> R) -> R;
    /// Changes the database under its lock, passing the time read under the same lock: a
    /// grant that waited (password check, lock) then never commits with an earlier time
    /// than one it follows, and no token's history says it was replaced before it was issued.
    fn change<R>(&self, f: impl FnOnce(&mut Db, DateTime<Utc>) -> R) -> R;
    /// The user, if the password is theirs. Deliberately slow: runs off the async threads
    /// and without the lock.
    fn check_password(
        &self,
        username: &str,
        password: &str,
    ) -> impl Future<Output = Option<User>> + Send;
}

/// The token endpoint's parameters as sent; [`token_grant`] checks them in the library's
/// order. Client credentials from an HTTP Basic header replace `client_id`/`client_secret`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct TokenParams {
    pub grant_type: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub scope: Option<String>,
    pub expires_in: Option<String>,
    pub expires_at: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub refresh_token: Option<String>,
    pub mfa_token: Option<String>,
    pub otp: Option<String>,
    pub recovery_code: Option<String>,
}

/// Runs a token request to its end: a token, or the library's exact error.
pub async fn token_grant(
    accounts: &impl Accounts,
    rules: &GrantRules,
    params: TokenParams,
    origin: Origin,
) -> Result<Issued, GrantError> {
    let grant_type = params
        .grant_type
        .as_deref()
        .and_then(GrantType::parse)
        .ok_or(GrantError::UnknownGrantType)?;
    let client_id = params.client_id.unwrap_or_default();
    let secret = params.client_secret.unwrap_or_default();
    let client = accounts.read(|db| authenticate_client(db, rules, &client_id, &secret))?;
    if !rules.allows(grant_type) {
        return Err(GrantError::Unauthorised);
    }
    let expiry = Expiry::parse(params.expires_in.as_deref(), params.expires_at.as_deref())?;
    let req = NewToken {
        client_id,
        scope: filled(params.scope),
        expiry,
        origin,
    };
    match grant_type {
        GrantType::Password => {
            let (Some(username), Some(pass)) = (filled(params.username), filled(params.password))
            else {
                return Err(GrantError::MissingUserFields);
            };
            password(accounts, rules, req, &username, &pass).await
        }
        GrantType::MfaOtp => {
            let (Some(mfa_token), Some(otp)) = (filled(params.mfa_token), trimmed(params.otp))
            else {
                return Err(GrantError::MissingOtpFields);
            };
            accounts.change(|db, now| mfa_otp(db, now, rules, req, &mfa_token, &otp))
        }
        GrantType::RecoveryCode => {
            let (Some(mfa_token), Some(code)) =
                (filled(params.mfa_token), trimmed(params.recovery_code))
            else {
                return Err(GrantError::MissingRecoveryFields);
            };
            accounts.change(|db, now| recovery_code(db, now, rules, req, &mfa_token, &code))
        }
        GrantType::RefreshToken => {
            let refresh = filled(params.refresh_token).ok_or(GrantError::MissingRefreshToken)?;
            accounts.change(|db, now| refresh_token(db, now, rules, req, &refresh))
        }
        GrantType::ClientCredentials => {
            let owner = client
                .and_then(|c| c.owner)
                .ok_or(GrantError::Unauthorised)?;
            accounts.change(|db, now| client_credentials(db, now, rules, req, &owner))
        }
        GrantType::AuthorizationCode | GrantType::Extension => Err(GrantError::Unauthorised),
    }
}

/// Checks client credentials: the id's pattern, a secret, and under the `table` check a
/// known client with that secret. Returns the client when it is known.
pub fn authenticate_client(
    db: &Db,
    rules: &GrantRules,
    client_id: &str,
    secret: &str,
) -> Result<Option<Client>, GrantError> {
    if !valid_client_id(client_id) {
        return Err(GrantError::BadClientId);
    }
    if secret.is_empty() {
        return Err(GrantError::MissingSecret);
    }
    let client = db.client(client_id).cloned();
    if rules.client_check == ClientCheck::Table && !matches!(&client, Some(c) if c.secret == secret)
    {
        return Err(GrantError::ClientInvalid);
    }
    Ok(client)
}

/// `client_id` must match `/^[a-z0-9-_]{3,40}$/i`.
pub fn valid_client_id(id: &str) -> bool {
    (3..=40).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A parameter that was sent and is not empty.
fn filled(field: Option<String>) -> Option<String> {
    field.filter(|s| !s.is_empty())
}

/// The same, ignoring surrounding blanks (codes are typed by people).
fn trimmed(field: Option<String>) -> Option<String> {
    field
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}
