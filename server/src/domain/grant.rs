//! The token endpoint's logic (`POST /oauth/token`), in the order node-oauth2-server checks
//! things: method and encoding, grant type, client credentials, the client, whether the
//! grant is allowed, then the grant itself. Every failure is the library's exact error.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use crate::config::{ClientCheck, Profile};
use crate::domain::db::{IssueRequest, Issued, RefreshError};
use crate::domain::token::{GrantKind, Origin};
use crate::error::{text, OAuthError};
use crate::state::AppState;

/// A token request as the HTTP layer parsed it.
#[derive(Clone, Debug, Default)]
pub struct TokenRequest {
    /// POST with `application/x-www-form-urlencoded`.
    pub is_post_form: bool,
    /// Client credentials from an HTTP Basic header, if one was sent.
    pub basic: Option<(String, String)>,
    pub form: HashMap<String, String>,
    pub origin: Origin,
}

impl TokenRequest {
    fn field(&self, name: &str) -> Option<&str> {
        self.form.get(name).map(String::as_str)
    }
}

/// `client_id` must match `/^[a-z0-9-_]{3,40}$/i`.
pub fn valid_client_id(id: &str) -> bool {
    (3..=40).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

const KNOWN_GRANTS: [&str; 4] = [
    "password",
    "refresh_token",
    "client_credentials",
    "authorization_code",
];

/// Particle's second-factor grants, which finish a password grant that answered
/// `mfa_required`.
const MFA_OTP: &str = "urn:custom:mfa-otp";
const RECOVERY_CODE: &str = "urn:custom:recovery-code";

/// Runs a token request to its end: a token, or the exact OAuth error.
pub async fn token_grant(state: &AppState, req: TokenRequest) -> Result<Issued, OAuthError> {
    let profile = state.config().profile;
    if !req.is_post_form {
        return Err(OAuthError::invalid_request(text::NOT_FORM));
    }
    let grant_type = req.field("grant_type").unwrap_or_default().to_string();
    if !(KNOWN_GRANTS.contains(&grant_type.as_str()) || grant_type.contains(':')) {
        return Err(OAuthError::invalid_request(text::BAD_GRANT_TYPE));
    }

    // Basic is tried first, then the form fields.
    let (client_id, client_secret) = match &req.basic {
        Some((id, secret)) => (id.clone(), secret.clone()),
        None => (
            req.field("client_id").unwrap_or_default().to_string(),
            req.field("client_secret").unwrap_or_default().to_string(),
        ),
    };
    if !valid_client_id(&client_id) {
        return Err(OAuthError::invalid_client(text::BAD_CLIENT_ID));
    }
    if client_secret.is_empty() {
        return Err(OAuthError::invalid_client(text::MISSING_SECRET));
    }
    let client = state.db_read(|db| db.client(&client_id).cloned());
    if state.config().client_check == ClientCheck::Table
        && !matches!(&client, Some(c) if c.secret == client_secret)
    {
        return Err(OAuthError::invalid_client(match profile {
            Profile::Spark2014 => text::CLIENT_INVALID_2014,
            Profile::Particle => text::CLIENT_INVALID_PARTICLE,
        }));
    }
    let allowed = match profile {
        Profile::Spark2014 => grant_type == "password",
        Profile::Particle => matches!(
            grant_type.as_str(),
            "password" | "refresh_token" | "client_credentials" | MFA_OTP | RECOVERY_CODE
        ),
    };
    if !allowed {
        return Err(OAuthError::invalid_client(text::GRANT_UNAUTHORISED));
    }

    // Validates expires_in / expires_at before any work; `stamp` recomputes both under the
    // database lock.
    let expires_at = requested_expiry(&req, state, state.clock().now())?;
    // Issue times follow commit order: the clock is read under the database lock, so a grant
    // that waited (password check, lock) never commits with an earlier time than one it
    // follows, and no token's history says it was replaced before it was issued.
    let stamp = |issue: &mut IssueRequest| -> Result<DateTime<Utc>, OAuthError> {
        let now = state.clock().now();
        issue.expires_at = requested_expiry(&req, state, now)?;
        Ok(now)
    };
    let refresh_lifetime = (profile == Profile::Particle)
        .then(|| Duration::seconds(state.config().refresh_lifetime_secs));
    let mut issue = IssueRequest {
        username: String::new(),
        client_id: client_id.clone(),
        grant: GrantKind::Password,
        scope: req
            .field("scope")
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        expires_at,
        refresh_lifetime,
        origin: req.origin.clone(),
    };

    match grant_type.as_str() {
        "password" => {
            let (Some(username), Some(password)) = (
                req.field("username").filter(|s| !s.is_empty()),
                req.field("password").filter(|s| !s.is_empty()),
            ) else {
                return Err(OAuthError::invalid_client(text::MISSING_USER_FIELDS));
            };
            let user = state
                .check_password(username, password)
                .await
                .ok_or_else(|| OAuthError::invalid_grant(text::BAD_USER_CREDENTIALS))?;
            issue.username = user.username.clone();
            let policy = state.policy();
            let build = state.config().build_client_id.clone();
            state.db(|db| {
                let now = stamp(&mut issue)?;
                // The password may have changed while it was being checked.
                match db.user(&user.username) {
                    Some(u) if u.password == user.password => {
                        // 2014 had no second factor; the particle cloud asks for it.
                        if u.mfa.is_some() && profile == Profile::Particle {
                            let token = db.start_mfa(&user.username, &client_id, now);
                            return Err(OAuthError::mfa_required(token));
                        }
                        Ok(db.grant(issue, policy, &build, now))
                    }
                    _ => Err(OAuthError::invalid_grant(text::BAD_USER_CREDENTIALS)),
                }
            })
        }
        MFA_OTP | RECOVERY_CODE => {
            let otp_grant = grant_type == MFA_OTP;
            let (code_field, missing) = if otp_grant {
                ("otp", text::MFA_OTP_FIELDS)
            } else {
                ("recovery_code", text::MFA_RECOVERY_FIELDS)
            };
            let (Some(mfa_token), Some(code)) = (
                req.field("mfa_token").filter(|s| !s.is_empty()),
                req.field(code_field)
                    .map(str::trim)
                    .filter(|s| !s.is_empty()),
            ) else {
                return Err(OAuthError::invalid_request(missing));
            };
            let policy = state.policy();
            let build = state.config().build_client_id.clone();
            state.db(|db| {
                let now = stamp(&mut issue)?;
                let username = db
                    .mfa_user(mfa_token, &client_id, now)
                    .ok_or_else(|| OAuthError::invalid_grant(text::MFA_BAD_TOKEN))?;
                let Some(mfa) = db.user(&username).and_then(|u| u.mfa.clone()) else {
                    return Err(OAuthError::invalid_grant(text::MFA_BAD_TOKEN));
                };
                if otp_grant {
                    if mfa.otp != code {
                        return Err(OAuthError::invalid_grant(text::MFA_BAD_OTP));
                    }
                    issue.grant = GrantKind::MfaOtp;
                } else {
                    if !db.spend_recovery_code(&username, code) {
                        return Err(OAuthError::invalid_grant(text::MFA_BAD_RECOVERY_CODE));
                    }
                    issue.grant = GrantKind::RecoveryCode;
                }
                db.finish_mfa(mfa_token);
                issue.username = username;
                Ok(db.grant(issue, policy, &build, now))
            })
        }
        "refresh_token" => {
            let Some(refresh) = req.field("refresh_token").filter(|s| !s.is_empty()) else {
                return Err(OAuthError::invalid_request(text::NO_REFRESH));
            };
            let policy = state.policy();
            let build = state.config().build_client_id.clone();
            state.db(|db| {
                let now = stamp(&mut issue)?;
                let old = db
                    .check_refresh(refresh, &client_id, now)
                    .map_err(|e| match e {
                        RefreshError::Unknown => OAuthError::invalid_grant(text::BAD_REFRESH),
                        RefreshError::Expired => OAuthError::invalid_grant(text::REFRESH_EXPIRED),
                    })?;
                db.retire_refresh(refresh);
                issue.username = old.username;
                issue.grant = GrantKind::RefreshToken;
                issue.scope = issue.scope.or(old.scope);
                Ok(db.grant(issue, policy, &build, now))
            })
        }
        "client_credentials" => {
            let owner = client
                .and_then(|c| c.owner)
                .ok_or_else(|| OAuthError::invalid_client(text::GRANT_UNAUTHORISED))?;
            // `scope=customer=<email>` acts for that customer (2015 docs).
            let acting = match issue
                .scope
                .as_deref()
                .and_then(|s| s.strip_prefix("customer="))
            {
                Some(email) => email.to_string(),
                None => owner,
            };
            let policy = state.policy();
            let build = state.config().build_client_id.clone();
            state.db(|db| {
                let now = stamp(&mut issue)?;
                let user = db
                    .user(&acting)
                    .ok_or_else(|| OAuthError::invalid_grant(text::BAD_USER_CREDENTIALS))?;
                issue.username = user.username.clone();
                issue.grant = GrantKind::ClientCredentials;
                Ok(db.grant(issue, policy, &build, now))
            })
        }
        _ => Err(OAuthError::invalid_client(text::GRANT_UNAUTHORISED)),
    }
}

/// `expires_in` (seconds, 0 = never) wins over `expires_at` (ISO-8601, or `null` = never);
/// without either, the default lifetime.
fn requested_expiry(
    req: &TokenRequest,
    state: &AppState,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, OAuthError> {
    if let Some(raw) = req
        .field("expires_in")
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let secs: i64 = raw
            .parse()
            .ok()
            .filter(|s| *s >= 0 && *s <= 100 * 365 * 86_400)
            .ok_or_else(|| OAuthError::invalid_request("Invalid expires_in parameter"))?;
        return Ok((secs > 0).then(|| now + Duration::seconds(secs)));
    }
    if let Some(raw) = req
        .field("expires_at")
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if raw.eq_ignore_ascii_case("null") {
            return Ok(None);
        }
        let at = DateTime::parse_from_rfc3339(raw)
            .map(|d| d.with_timezone(&Utc))
            .or_else(|_| {
                chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                    .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
            })
            .map_err(|_| OAuthError::invalid_request("Invalid expires_at parameter"))?;
        return Ok(Some(at));
    }
    Ok(Some(now + state.token_lifetime()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_id_pattern() {
        assert!(valid_client_id("CLI2"));
        assert!(valid_client_id("spark-build"));
        assert!(valid_client_id("a_b"));
        assert!(!valid_client_id("ab"));
        assert!(!valid_client_id("has space"));
        assert!(!valid_client_id(&"x".repeat(41)));
    }
}
