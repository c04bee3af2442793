//! One function per grant type. Each runs under the database lock with the time read under
//! it (see [`Accounts::change`]), except [`password`], which first checks the password
//! without the lock.

use chrono::{DateTime, Utc};

use super::rules::{GrantError, GrantRules, NewToken};
use super::Accounts;
use crate::domain::db::{Db, IssueRequest, Issued, RefreshError};
use crate::domain::policy::{plan_grant, Plan, PolicyKind};
use crate::domain::token::{GrantKind, TokenRecord};

/// The password grant, for any client including the Build page: the password is checked
/// off the lock; then, under it, it must not have changed meanwhile, a user with MFA is
/// asked for the second factor if the rules say so, and the policy decides the token.
pub async fn password(
    accounts: &impl Accounts,
    rules: &GrantRules,
    req: NewToken,
    username: &str,
    password: &str,
) -> Result<Issued, GrantError> {
    let user = accounts
        .check_password(username, password)
        .await
        .ok_or(GrantError::BadUserCredentials)?;
    accounts.change(|db, now| match db.user(&user.username) {
        Some(u) if u.password == user.password => {
            if u.mfa.is_some() && rules.second_factor {
                let mfa_token = db.start_mfa(&user.username, &req.client_id, now);
                return Err(GrantError::MfaRequired { mfa_token });
            }
            let issue = req.issue(user.username, GrantKind::Password, rules, now);
            Ok(grant(db, issue, rules, now))
        }
        _ => Err(GrantError::BadUserCredentials),
    })
}

/// `urn:custom:mfa-otp`: finishes a password grant with the user's one-time password.
pub fn mfa_otp(
    db: &mut Db,
    now: DateTime<Utc>,
    rules: &GrantRules,
    req: NewToken,
    mfa_token: &str,
    otp: &str,
) -> Result<Issued, GrantError> {
    let username = challenged_user(db, &req, mfa_token, now)?;
    let Some(mfa) = db.user(&username).and_then(|u| u.mfa.as_ref()) else {
        return Err(GrantError::BadMfaToken);
    };
    if mfa.otp != otp {
        return Err(GrantError::BadOtp);
    }
    db.finish_mfa(mfa_token);
    let issue = req.issue(username, GrantKind::MfaOtp, rules, now);
    Ok(grant(db, issue, rules, now))
}

/// `urn:custom:recovery-code`: finishes a password grant with one of the user's recovery
/// codes, which it spends.
pub fn recovery_code(
    db: &mut Db,
    now: DateTime<Utc>,
    rules: &GrantRules,
    req: NewToken,
    mfa_token: &str,
    code: &str,
) -> Result<Issued, GrantError> {
    let username = challenged_user(db, &req, mfa_token, now)?;
    if db.user(&username).and_then(|u| u.mfa.as_ref()).is_none() {
        return Err(GrantError::BadMfaToken);
    }
    if !db.spend_recovery_code(&username, code) {
        return Err(GrantError::BadRecoveryCode);
    }
    db.finish_mfa(mfa_token);
    let issue = req.issue(username, GrantKind::RecoveryCode, rules, now);
    Ok(grant(db, issue, rules, now))
}

/// The user a live `mfa_token` of this client was issued for.
fn challenged_user(
    db: &Db,
    req: &NewToken,
    mfa_token: &str,
    now: DateTime<Utc>,
) -> Result<String, GrantError> {
    db.mfa_user(mfa_token, &req.client_id, now)
        .ok_or(GrantError::BadMfaToken)
}

/// `refresh_token`: a live refresh token of this client buys a new token for its user and
/// is retired; the new token keeps the old scope unless the request names one.
pub fn refresh_token(
    db: &mut Db,
    now: DateTime<Utc>,
    rules: &GrantRules,
    req: NewToken,
    refresh_token: &str,
) -> Result<Issued, GrantError> {
    let old = db
        .check_refresh(refresh_token, &req.client_id, now)
        .map_err(|e| match e {
            RefreshError::Unknown => GrantError::BadRefreshToken,
            RefreshError::Expired => GrantError::RefreshExpired,
        })?;
    db.retire_refresh(refresh_token);
    let mut issue = req.issue(old.username, GrantKind::RefreshToken, rules, now);
    issue.scope = issue.scope.or(old.scope);
    Ok(grant(db, issue, rules, now))
}

/// `client_credentials`: a token for the client's `owner`, or with
/// `scope=customer=<email>` for that customer (2015 docs).
pub fn client_credentials(
    db: &mut Db,
    now: DateTime<Utc>,
    rules: &GrantRules,
    req: NewToken,
    owner: &str,
) -> Result<Issued, GrantError> {
    let acting = req
        .scope
        .as_deref()
        .and_then(|s| s.strip_prefix("customer="))
        .unwrap_or(owner);
    let username = db
        .user(acting)
        .map(|u| u.username.clone())
        .ok_or(GrantError::BadUserCredentials)?;
    let issue = req.issue(username, GrantKind::ClientCredentials, rules, now);
    Ok(grant(db, issue, rules, now))
}

/// Issues (or, for the Build client's password grant, hands back) a token under the policy.
fn grant(db: &mut Db, issue: IssueRequest, rules: &GrantRules, now: DateTime<Utc>) -> Issued {
    db.grant(issue, rules.policy, &rules.build_client_id, now)
}

/// The token the Build Settings page lists: the one a Build sign-in would hand back now
/// (under `single` and `multi` the newest valid token, under `per-client` the Build
/// client's). When none is valid, the latest such token, dead, so the page can say why.
/// `None` when the user never had a token.
pub fn build_page_token<'a>(
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
