//! The token endpoint's side of a profile: the rules its era grants by, and its OAuth
//! errors for the domain's [`GrantError`]s.

use chrono::Duration;

use super::{shape, Shape};
use crate::config::{Config, PolicyKind};
use crate::domain::grant::{GrantError, GrantRules};
use crate::error::{OAuthError, OAuthKind};

/// The rules a grant follows now: the configuration, the policy in force, and what the
/// profile's era offers (grant types, refresh tokens, a second factor).
pub fn grant_rules(config: &Config, policy: PolicyKind) -> GrantRules {
    let era = shape(config.profile).grant_features();
    GrantRules {
        policy,
        build_client_id: config.build_client_id.clone(),
        client_check: config.client_check,
        token_lifetime: Duration::seconds(config.token_lifetime_secs),
        refresh_lifetime: era
            .refresh_tokens
            .then(|| Duration::try_seconds(config.refresh_lifetime_secs).unwrap_or(Duration::MAX)),
        grant_types: era.grant_types,
        second_factor: era.second_factor,
    }
}

/// A failed grant as node-oauth2-server reports it: the error type, and the library's text
/// (the profile's own for unknown client credentials).
pub fn grant_error(shape: &dyn Shape, e: GrantError) -> OAuthError {
    use GrantError as E;
    let kind = match &e {
        E::MfaRequired { mfa_token } => return OAuthError::mfa_required(mfa_token.clone()),
        E::ClientInvalid => return OAuthError::invalid_client(shape.client_invalid_text()),
        E::UnknownGrantType
        | E::BadExpiresIn
        | E::BadExpiresAt
        | E::MissingOtpFields
        | E::MissingRecoveryFields
        | E::MissingRefreshToken => OAuthKind::InvalidRequest,
        E::BadClientId | E::MissingSecret | E::Unauthorised | E::MissingUserFields => {
            OAuthKind::InvalidClient
        }
        E::BadUserCredentials
        | E::BadMfaToken
        | E::BadOtp
        | E::BadRecoveryCode
        | E::BadRefreshToken
        | E::RefreshExpired => OAuthKind::InvalidGrant,
    };
    OAuthError::new(kind, e.to_string())
}
