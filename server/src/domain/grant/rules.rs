//! What a grant needs besides the database: the rules in force ([`GrantRules`]), the parts
//! of the request every grant shares ([`NewToken`]), and the typed ways a grant fails.

use chrono::{DateTime, Duration, Utc};

use crate::clock;
use crate::config::ClientCheck;
use crate::domain::db::IssueRequest;
use crate::domain::policy::PolicyKind;
use crate::domain::token::{GrantKind, Origin};
use crate::error::text;

/// The grant types node-oauth2-server recognises, plus Particle's second-factor grants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantType {
    Password,
    RefreshToken,
    ClientCredentials,
    /// Recognised by the library, never allowed here.
    AuthorizationCode,
    /// `urn:custom:mfa-otp`: finishes a password grant that answered `mfa_required`.
    MfaOtp,
    /// `urn:custom:recovery-code`: the same with a recovery code.
    RecoveryCode,
    /// Any other extension grant (a name with a `:`): recognised, never allowed.
    Extension,
}

impl GrantType {
    /// `None` for a name the library rejects outright: not one of its four, and no `:`.
    pub fn parse(name: &str) -> Option<GrantType> {
        Some(match name {
            "password" => GrantType::Password,
            "refresh_token" => GrantType::RefreshToken,
            "client_credentials" => GrantType::ClientCredentials,
            "authorization_code" => GrantType::AuthorizationCode,
            "urn:custom:mfa-otp" => GrantType::MfaOtp,
            "urn:custom:recovery-code" => GrantType::RecoveryCode,
            other if other.contains(':') => GrantType::Extension,
            _ => return None,
        })
    }
}

/// What one era of the cloud offers at the token endpoint. Each profile builds one; the
/// grants read only these flags, never the profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GrantFeatures {
    /// The grant types a client may use.
    pub grant_types: &'static [GrantType],
    /// Whether a token comes with a refresh token (unless it never expires).
    pub refresh_tokens: bool,
    /// Whether a password grant for a user with MFA asks for the second factor.
    pub second_factor: bool,
}

/// Everything a grant needs to know besides the database, read once per request.
#[derive(Clone, Debug)]
pub struct GrantRules {
    pub policy: PolicyKind,
    /// The client whose password grants never rotate the token (the Build IDE).
    pub build_client_id: String,
    pub client_check: ClientCheck,
    /// A token's lifetime when the request asks for none.
    pub token_lifetime: Duration,
    /// The lifetime of the refresh token issued with each token; `None`: no refresh tokens.
    pub refresh_lifetime: Option<Duration>,
    /// The grant types a client may use.
    pub grant_types: &'static [GrantType],
    /// Whether a password grant for a user with MFA asks for the second factor.
    pub second_factor: bool,
}

impl GrantRules {
    /// The rules of the Build page's own sign-in: a password grant by the Build client that
    /// never asks for a second factor (the 2014 page had none) and issues no refresh token.
    pub fn for_build_page(self) -> GrantRules {
        GrantRules {
            refresh_lifetime: None,
            grant_types: &[GrantType::Password],
            second_factor: false,
            ..self
        }
    }

    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }
}

/// The lifetime a token request asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Expiry {
    /// The default lifetime.
    #[default]
    Default,
    Never,
    In(Duration),
    At(DateTime<Utc>),
}

impl Expiry {
    /// `expires_in` (seconds, 0 = never) wins over `expires_at` (ISO-8601, a date, or
    /// `null` = never); blank counts as absent.
    pub fn parse(expires_in: Option<&str>, expires_at: Option<&str>) -> Result<Expiry, GrantError> {
        if let Some(raw) = expires_in.map(str::trim).filter(|s| !s.is_empty()) {
            let secs: i64 = raw
                .parse()
                .ok()
                .filter(|s| *s >= 0 && *s <= 100 * 365 * 86_400)
                .ok_or(GrantError::BadExpiresIn)?;
            return Ok(if secs > 0 {
                Expiry::In(Duration::seconds(secs))
            } else {
                Expiry::Never
            });
        }
        let Some(raw) = expires_at.map(str::trim).filter(|s| !s.is_empty()) else {
            return Ok(Expiry::Default);
        };
        if raw.eq_ignore_ascii_case("null") {
            return Ok(Expiry::Never);
        }
        let at = DateTime::parse_from_rfc3339(raw)
            .map(|d| d.with_timezone(&Utc))
            .or_else(|_| {
                chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d")
                    .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
            })
            .map_err(|_| GrantError::BadExpiresAt)?;
        Ok(Expiry::At(at))
    }

    /// When a token issued at `now` expires; `None`: never. Past the last representable
    /// time (a clock set near 9999) it is that time, never an overflow.
    pub fn at(self, now: DateTime<Utc>, default_lifetime: Duration) -> Option<DateTime<Utc>> {
        match self {
            Expiry::Default => Some(clock::deadline(now, default_lifetime)),
            Expiry::Never => None,
            Expiry::In(d) => Some(clock::deadline(now, d)),
            Expiry::At(at) => Some(at),
        }
    }
}

/// What the new token should look like, before the grant decides whose it is.
#[derive(Clone, Debug)]
pub struct NewToken {
    pub client_id: String,
    pub scope: Option<String>,
    pub expiry: Expiry,
    pub origin: Origin,
}

impl NewToken {
    /// The request for `username`'s token. `now` is read under the database lock, so issue
    /// times follow commit order.
    pub(super) fn issue(
        self,
        username: String,
        grant: GrantKind,
        rules: &GrantRules,
        now: DateTime<Utc>,
    ) -> IssueRequest {
        IssueRequest {
            username,
            client_id: self.client_id,
            grant,
            scope: self.scope,
            expires_at: self.expiry.at(now, rules.token_lifetime),
            refresh_lifetime: rules.refresh_lifetime,
            origin: self.origin,
        }
    }
}

/// Why a grant failed. The texts are the library's; the HTTP layer chooses the OAuth error
/// type and, for [`GrantError::ClientInvalid`], the profile's wording.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    #[error("{}", text::BAD_GRANT_TYPE)]
    UnknownGrantType,
    #[error("{}", text::BAD_CLIENT_ID)]
    BadClientId,
    #[error("{}", text::MISSING_SECRET)]
    MissingSecret,
    /// No such client, or the wrong secret (the table check only).
    #[error("{}", text::CLIENT_INVALID_PARTICLE)]
    ClientInvalid,
    #[error("{}", text::GRANT_UNAUTHORISED)]
    Unauthorised,
    #[error("Invalid expires_in parameter")]
    BadExpiresIn,
    #[error("Invalid expires_at parameter")]
    BadExpiresAt,
    #[error("{}", text::MISSING_USER_FIELDS)]
    MissingUserFields,
    #[error("{}", text::BAD_USER_CREDENTIALS)]
    BadUserCredentials,
    /// The password was right; the token comes from a second-factor grant that brings
    /// `mfa_token` back.
    #[error("{}", text::MFA_REQUIRED)]
    MfaRequired { mfa_token: String },
    #[error("{}", text::MFA_OTP_FIELDS)]
    MissingOtpFields,
    #[error("{}", text::MFA_RECOVERY_FIELDS)]
    MissingRecoveryFields,
    #[error("{}", text::MFA_BAD_TOKEN)]
    BadMfaToken,
    #[error("{}", text::MFA_BAD_OTP)]
    BadOtp,
    #[error("{}", text::MFA_BAD_RECOVERY_CODE)]
    BadRecoveryCode,
    #[error("{}", text::NO_REFRESH)]
    MissingRefreshToken,
    #[error("{}", text::BAD_REFRESH)]
    BadRefreshToken,
    #[error("{}", text::REFRESH_EXPIRED)]
    RefreshExpired,
}
