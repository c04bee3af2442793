//! Typed errors of the domain. The HTTP layer renders them in the profile's exact shape.

use std::borrow::Cow;
use std::fmt;

/// The OAuth error types of node-oauth2-server (1.5.3 and Particle's fork).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OAuthKind {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    InvalidScope,
    /// A bad or expired bearer token. spark-2014 reports it as `invalid_grant`/400.
    InvalidToken,
    RateLimitExceeded,
    ServerError,
    /// Particle's fork: the password was right, the second factor is missing (403).
    MfaRequired,
}

impl OAuthKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OAuthKind::InvalidRequest => "invalid_request",
            OAuthKind::InvalidClient => "invalid_client",
            OAuthKind::InvalidGrant => "invalid_grant",
            OAuthKind::InvalidScope => "invalid_scope",
            OAuthKind::InvalidToken => "invalid_token",
            OAuthKind::RateLimitExceeded => "rate_limit_exceeded",
            OAuthKind::ServerError => "server_error",
            OAuthKind::MfaRequired => "mfa_required",
        }
    }
}

impl fmt::Display for OAuthKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An OAuth error with the library's exact description.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {description}")]
pub struct OAuthError {
    pub kind: OAuthKind,
    pub description: Cow<'static, str>,
    /// With `mfa_required`: the token the OTP or recovery-code grant must bring back.
    pub mfa_token: Option<String>,
}

impl OAuthError {
    pub fn new(kind: OAuthKind, description: impl Into<Cow<'static, str>>) -> Self {
        OAuthError {
            kind,
            description: description.into(),
            mfa_token: None,
        }
    }
    pub fn mfa_required(mfa_token: String) -> Self {
        OAuthError {
            mfa_token: Some(mfa_token),
            ..Self::new(OAuthKind::MfaRequired, text::MFA_REQUIRED)
        }
    }
    pub fn invalid_request(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(OAuthKind::InvalidRequest, d)
    }
    pub fn invalid_client(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(OAuthKind::InvalidClient, d)
    }
    pub fn invalid_grant(d: impl Into<Cow<'static, str>>) -> Self {
        Self::new(OAuthKind::InvalidGrant, d)
    }
}

/// The library's texts, one place so every route uses the same words.
pub mod text {
    pub const NOT_FORM: &str =
        "Method must be POST with application/x-www-form-urlencoded encoding";
    pub const BAD_GRANT_TYPE: &str = "Invalid or missing grant_type parameter";
    pub const BAD_CLIENT_ID: &str = "Invalid or missing client_id parameter";
    pub const MISSING_SECRET: &str = "Missing client_secret parameter";
    pub const CLIENT_INVALID_2014: &str = "The client credentials are invalid";
    pub const CLIENT_INVALID_PARTICLE: &str = "Client credentials are invalid";
    pub const GRANT_UNAUTHORISED: &str = "The grant type is unauthorised for this client_id";
    pub const MISSING_USER_FIELDS: &str =
        "Missing parameters. \"username\" and \"password\" are required";
    pub const BAD_USER_CREDENTIALS: &str = "User credentials are invalid";
    pub const NO_REFRESH: &str = "No \"refresh_token\" parameter";
    pub const BAD_REFRESH: &str = "Invalid refresh token";
    pub const REFRESH_EXPIRED: &str = "Refresh token has expired";
    pub const MFA_REQUIRED: &str = "Multi-factor authentication required";
    pub const MFA_OTP_FIELDS: &str = "You must provide otp and mfa token.";
    /// The recovery-code, bad-token and bad-code texts are not documented: chosen to match.
    pub const MFA_RECOVERY_FIELDS: &str = "You must provide recovery code and mfa token.";
    pub const MFA_BAD_TOKEN: &str = "Invalid or expired mfa token";
    pub const MFA_BAD_OTP: &str = "Invalid otp";
    pub const MFA_BAD_RECOVERY_CODE: &str = "Invalid recovery code";
    pub const TOKEN_NOT_FOUND: &str = "The access token was not found";
    pub const TOKEN_INVALID: &str = "The access token provided is invalid.";
    pub const TOKEN_EXPIRED: &str = "The access token provided has expired.";
    pub const ONE_METHOD_2014: &str =
        "Only one method may be used to authenticate at a time (Auth header, GET or POST).";
    pub const ONE_METHOD_PARTICLE: &str =
        "Only one method may be used to authenticate at a time (Auth header,  GET or POST).";
    pub const MALFORMED_HEADER: &str = "Malformed auth header";
    pub const BODY_ON_GET: &str = "Method cannot be GET When putting the token in the body.";
    pub const BODY_NOT_FORM: &str =
        "When putting the token in the body, content type must be application/x-www-form-urlencoded.";
}
