//! One access token and its life story: how it was issued, where it was used, why it died
//! and every use that was refused after. This is the answer to "when, how and why was my
//! token changed".

use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};

use crate::domain::policy::PolicyKind;

/// How many refused uses a token remembers in detail; older ones are only counted.
pub const MAX_REJECTED_USES: usize = 100;

/// A fresh token: the SHA-1 hex digest of 256 bytes from the OS CSPRNG, as node-oauth2-server
/// makes them (40 lowercase hex characters).
pub fn generate_token() -> String {
    let mut bytes = [0u8; 256];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(Sha1::digest(bytes))
}

/// The first characters of a token, for logs and journals.
pub fn short(token: &str) -> String {
    let head: String = token.chars().take(8).collect();
    format!("{head}…")
}

/// Which grant (or action) created a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantKind {
    Password,
    RefreshToken,
    ClientCredentials,
    /// The "Reset Token" action (Build settings or the admin API).
    Reset,
    /// Declared in the seed file.
    Seed,
    /// `urn:custom:mfa-otp`: a password grant finished with the one-time password.
    MfaOtp,
    /// `urn:custom:recovery-code`: a password grant finished with a recovery code.
    RecoveryCode,
}

/// Who asked for a token, from where.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    pub remote_addr: Option<String>,
    pub user_agent: Option<String>,
}

/// Why a token stopped working (expiry is computed from the clock, not stored).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    /// A later grant replaced it (single and per-client policies).
    ReplacedByGrant {
        client_id: String,
        grant: GrantKind,
        new_token: String,
    },
    /// Reset Token was pressed in the Build settings page.
    ResetFromBuild { new_token: String },
    /// Reset Token was triggered through `/__mock`.
    ResetByAdmin { new_token: String },
    /// A DELETE on the access-token API.
    Revoked { route: String },
    /// The user's password was changed with `invalidate_tokens`.
    PasswordChanged,
    /// Multi-factor login was turned on with `invalidate_tokens`.
    MfaEnabled,
    /// The user was deleted.
    UserDeleted,
}

impl Reason {
    /// The sentence the history shows, e.g. "replaced by a password grant from client
    /// spark-ios at 2014-03-01T12:00:00.000Z".
    pub fn describe(&self, at: DateTime<Utc>) -> String {
        let at = crate::clock::iso_millis(at);
        match self {
            Reason::ReplacedByGrant {
                client_id, grant, ..
            } => {
                let grant = match grant {
                    GrantKind::Password => "a password grant",
                    GrantKind::RefreshToken => "a refresh_token grant",
                    GrantKind::ClientCredentials => "a client_credentials grant",
                    GrantKind::Reset => "a token reset",
                    GrantKind::Seed => "a seeded token",
                    GrantKind::MfaOtp => "a password grant with a one-time password",
                    GrantKind::RecoveryCode => "a password grant with a recovery code",
                };
                format!("replaced by {grant} from client {client_id} at {at}")
            }
            Reason::ResetFromBuild { .. } => format!("reset from Build settings at {at}"),
            Reason::ResetByAdmin { .. } => format!("reset through the admin API at {at}"),
            Reason::Revoked { route } => format!("revoked by {route} at {at}"),
            Reason::PasswordChanged => format!("password changed at {at}"),
            Reason::MfaEnabled => format!("multi-factor login turned on at {at}"),
            Reason::UserDeleted => format!("user deleted at {at}"),
        }
    }
}

/// When and why a token was invalidated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invalidation {
    pub at: DateTime<Utc>,
    pub reason: Reason,
}

/// A refused use of a known token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectedUse {
    pub at: DateTime<Utc>,
    pub route: String,
    pub remote_addr: Option<String>,
    /// "expired" or the invalidation sentence.
    pub reason: String,
}

/// What a token is right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Valid,
    Expired,
    Invalidated,
}

/// An access token with everything that happened to it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TokenRecord {
    pub token: String,
    pub username: String,
    pub client_id: String,
    pub grant: GrantKind,
    /// The token policy in force when it was issued.
    pub policy: PolicyKind,
    pub scope: Option<String>,
    pub issued_at: DateTime<Utc>,
    /// `None` means it never expires.
    pub expires_at: Option<DateTime<Utc>>,
    pub refresh_token: Option<String>,
    pub refresh_expires_at: Option<DateTime<Utc>>,
    pub origin: Origin,
    pub last_used_at: Option<DateTime<Utc>>,
    pub last_used_route: Option<String>,
    pub use_count: u64,
    pub invalidated: Option<Invalidation>,
    pub rejected_uses: Vec<RejectedUse>,
    pub rejected_count: u64,
}

impl TokenRecord {
    /// A fresh, never used token with no refresh token and no origin.
    pub fn new(
        token: String,
        username: String,
        client_id: String,
        grant: GrantKind,
        policy: PolicyKind,
        issued_at: DateTime<Utc>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Self {
        TokenRecord {
            token,
            username,
            client_id,
            grant,
            policy,
            scope: None,
            issued_at,
            expires_at,
            refresh_token: None,
            refresh_expires_at: None,
            origin: Origin::default(),
            last_used_at: None,
            last_used_route: None,
            use_count: 0,
            invalidated: None,
            rejected_uses: vec![],
            rejected_count: 0,
        }
    }

    pub fn status(&self, now: DateTime<Utc>) -> Status {
        if self.invalidated.is_some() {
            Status::Invalidated
        } else if self.expires_at.is_some_and(|at| at <= now) {
            Status::Expired
        } else {
            Status::Valid
        }
    }

    pub fn is_valid(&self, now: DateTime<Utc>) -> bool {
        self.status(now) == Status::Valid
    }

    /// Why this token does not work, or `None` if it does.
    pub fn death(&self, now: DateTime<Utc>) -> Option<String> {
        if let Some(inv) = &self.invalidated {
            return Some(inv.reason.describe(inv.at));
        }
        match self.expires_at {
            Some(at) if at <= now => Some(format!("expired at {}", crate::clock::iso_millis(at))),
            _ => None,
        }
    }

    pub(crate) fn record_use(&mut self, now: DateTime<Utc>, route: &str) {
        self.last_used_at = Some(now);
        self.last_used_route = Some(route.to_string());
        self.use_count += 1;
    }

    pub(crate) fn record_rejection(&mut self, use_: RejectedUse) {
        self.rejected_count += 1;
        if self.rejected_uses.len() >= MAX_REJECTED_USES {
            self.rejected_uses.remove(0);
        }
        self.rejected_uses.push(use_);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_40_lowercase_hex_and_distinct() {
        let a = generate_token();
        let b = generate_token();
        assert_eq!(a.len(), 40);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
        assert_ne!(a, b);
    }

    #[test]
    fn reasons_read_as_sentences() {
        let at: DateTime<Utc> = "2014-03-01T12:00:00Z".parse().unwrap();
        let r = Reason::ReplacedByGrant {
            client_id: "spark-ios".into(),
            grant: GrantKind::Password,
            new_token: "x".into(),
        };
        assert_eq!(
            r.describe(at),
            "replaced by a password grant from client spark-ios at 2014-03-01T12:00:00.000Z"
        );
        assert_eq!(
            Reason::ResetFromBuild {
                new_token: "x".into()
            }
            .describe(at),
            "reset from Build settings at 2014-03-01T12:00:00.000Z"
        );
    }
}
