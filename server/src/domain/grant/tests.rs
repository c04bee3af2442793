//! The grants run directly against a database, without HTTP or `AppState`.

use std::future::Future;

use chrono::{DateTime, Duration, Utc};
use parking_lot::Mutex;

use super::*;
use crate::domain::password::PasswordHash;
use crate::domain::policy::PolicyKind;
use crate::domain::token::{GrantKind, Status};
use crate::domain::users::{Mfa, User};

const U: &str = "user@example.com";
const BUILD: &str = "spark-build";

const PARTICLE: GrantFeatures = GrantFeatures {
    grant_types: &[
        GrantType::Password,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
        GrantType::MfaOtp,
        GrantType::RecoveryCode,
    ],
    refresh_tokens: true,
    second_factor: true,
};
const SPARK_2014: GrantFeatures = GrantFeatures {
    grant_types: &[GrantType::Password],
    refresh_tokens: false,
    second_factor: false,
};

/// A database behind a plain lock, with a clock the test moves.
struct World {
    db: Mutex<Db>,
    now: Mutex<DateTime<Utc>>,
}

impl World {
    fn new() -> World {
        let now = DateTime::parse_from_rfc3339("2014-03-01T12:00:00Z")
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default();
        let mut db = Db::default();
        db.add_user(User::new(U, PasswordHash::new("pw", 1), now));
        for id in ["cli", "other", BUILD] {
            db.insert_client(Client::builtin(id, "secret"));
        }
        World {
            db: Mutex::new(db),
            now: Mutex::new(now),
        }
    }

    fn advance(&self, by: Duration) {
        *self.now.lock() += by;
    }

    fn status(&self, token: &str) -> Option<Status> {
        let now = *self.now.lock();
        self.db.lock().token(token).map(|t| t.status(now))
    }
}

impl Accounts for World {
    fn read<R>(&self, f: impl FnOnce(&Db) -> R) -> R {
        f(&self.db.lock())
    }
    fn change<R>(&self, f: impl FnOnce(&mut Db, DateTime<Utc>) -> R) -> R {
        let now = *self.now.lock();
        f(&mut self.db.lock(), now)
    }
    fn check_password(
        &self,
        username: &str,
        password: &str,
    ) -> impl Future<Output = Option<User>> + Send {
        let user = self.db.lock().user(username).cloned();
        std::future::ready(user.filter(|u| u.password.verify(password)))
    }
}

fn rules(policy: PolicyKind, era: GrantFeatures) -> GrantRules {
    GrantRules {
        policy,
        build_client_id: BUILD.into(),
        client_check: ClientCheck::Table,
        token_lifetime: Duration::days(90),
        refresh_lifetime: era.refresh_tokens.then(|| Duration::days(14)),
        grant_types: era.grant_types,
        second_factor: era.second_factor,
    }
}

/// The parameters of a form; through serde, as `api::oauth` reads them.
fn form(grant_type: &str, client: &str, fields: &[(&str, &str)]) -> TokenParams {
    let base = [
        ("grant_type", grant_type),
        ("client_id", client),
        ("client_secret", "secret"),
    ];
    let map: serde_json::Map<String, serde_json::Value> = base
        .iter()
        .chain(fields)
        .map(|(k, v)| (k.to_string(), v.to_string().into()))
        .collect();
    serde_json::from_value(map.into()).expect("string fields always deserialize")
}

async fn login(w: &World, r: &GrantRules, client: &str) -> Result<Issued, GrantError> {
    let p = form("password", client, &[("username", U), ("password", "pw")]);
    token_grant(w, r, p, Origin::default()).await
}

/// The Build page's sign-in, as `web::account` makes it.
async fn build_sign_in(w: &World, policy: PolicyKind) -> Issued {
    let r = rules(policy, PARTICLE).for_build_page();
    let req = NewToken {
        client_id: BUILD.into(),
        scope: None,
        expiry: Expiry::Default,
        origin: Origin::default(),
    };
    match password(w, &r, req, U, "pw").await {
        Ok(issued) => issued,
        Err(e) => panic!("Build sign-in failed: {e}"),
    }
}

#[tokio::test]
async fn build_sign_in_hands_back_the_current_token_under_each_policy() {
    for policy in [PolicyKind::Single, PolicyKind::PerClient, PolicyKind::Multi] {
        let w = World::new();
        let cli = login(&w, &rules(policy, PARTICLE), "cli").await;
        let cli = cli.map(|i| i.token.token).unwrap_or_default();
        let first = build_sign_in(&w, policy).await;
        // per-client: the CLI's token is not Build's, so Build gets its own, once.
        let per_client = policy == PolicyKind::PerClient;
        assert_eq!(first.reused, !per_client, "{policy}");
        assert_eq!(first.token.token == cli, !per_client, "{policy}");
        assert!(first.invalidated.is_empty(), "{policy}");
        // Build's own token has no refresh token; the CLI's, handed back, keeps its own.
        assert_eq!(first.token.refresh_token.is_none(), per_client, "{policy}");
        let again = build_sign_in(&w, policy).await;
        assert!(again.reused, "{policy}");
        assert_eq!(again.token.token, first.token.token, "{policy}");
        assert_eq!(w.status(&cli), Some(Status::Valid), "{policy}");
    }
}

#[tokio::test]
async fn a_grant_from_another_client_replaces_the_token_under_single_only() {
    for (policy, survives) in [(PolicyKind::Single, false), (PolicyKind::Multi, true)] {
        let w = World::new();
        let r = rules(policy, SPARK_2014);
        let first = login(&w, &r, "cli").await.map(|i| i.token.token);
        let second = login(&w, &r, "other").await;
        let first = first.unwrap_or_default();
        assert_eq!(
            second.map(|i| i.invalidated.len()),
            Ok(usize::from(!survives))
        );
        let expected = if survives {
            Status::Valid
        } else {
            Status::Invalidated
        };
        assert_eq!(w.status(&first), Some(expected), "{policy}");
    }
}

#[tokio::test]
async fn refresh_grant_rules() {
    let w = World::new();
    let r = rules(PolicyKind::Multi, PARTICLE);
    let p = form(
        "password",
        "cli",
        &[("username", U), ("password", "pw"), ("scope", "s")],
    );
    let issued = token_grant(&w, &r, p, Origin::default()).await;
    let refresh = issued
        .ok()
        .and_then(|i| i.token.refresh_token)
        .unwrap_or_default();
    let grant = |client: &str| {
        let p = form("refresh_token", client, &[("refresh_token", &refresh)]);
        token_grant(&w, &r, p, Origin::default())
    };
    assert_eq!(
        grant("other").await.err(),
        Some(GrantError::BadRefreshToken)
    );
    let renewed = grant("cli").await.map(|i| (i.token.grant, i.token.scope));
    assert_eq!(renewed, Ok((GrantKind::RefreshToken, Some("s".into()))));
    assert_eq!(grant("cli").await.err(), Some(GrantError::BadRefreshToken));

    let stale = login(&w, &r, "cli").await;
    let stale = stale
        .ok()
        .and_then(|i| i.token.refresh_token)
        .unwrap_or_default();
    w.advance(Duration::days(14));
    let p = form("refresh_token", "cli", &[("refresh_token", &stale)]);
    let expired = token_grant(&w, &r, p, Origin::default()).await;
    assert_eq!(expired.err(), Some(GrantError::RefreshExpired));
}

#[tokio::test]
async fn a_second_factor_is_asked_only_where_the_rules_say() {
    let w = World::new();
    let mfa = Mfa {
        otp: "123456".into(),
        recovery_codes: vec!["rc".into()],
    };
    w.change(|db, now| db.set_mfa(U, Some(mfa), false, now));
    let r = rules(PolicyKind::Multi, PARTICLE);
    let challenge = || async {
        match login(&w, &r, "cli").await {
            Err(GrantError::MfaRequired { mfa_token }) => mfa_token,
            other => panic!("expected mfa_required, got {other:?}"),
        }
    };
    let finish = |grant: &str, token: &str, field: &str, code: &str| {
        let p = form(grant, "cli", &[("mfa_token", token), (field, code)]);
        token_grant(&w, &r, p, Origin::default())
    };
    let t = challenge().await;
    let bad = finish("urn:custom:mfa-otp", &t, "otp", "000000").await;
    assert_eq!(bad.err(), Some(GrantError::BadOtp));
    let ok = finish("urn:custom:mfa-otp", &t, "otp", " 123456 ").await;
    assert_eq!(ok.map(|i| i.token.grant), Ok(GrantKind::MfaOtp));
    let spent = finish("urn:custom:mfa-otp", &t, "otp", "123456").await;
    assert_eq!(spent.err(), Some(GrantError::BadMfaToken));

    let t = challenge().await;
    let code = finish("urn:custom:recovery-code", &t, "recovery_code", "rc").await;
    assert_eq!(code.map(|i| i.token.grant), Ok(GrantKind::RecoveryCode));
    let t = challenge().await;
    let reused = finish("urn:custom:recovery-code", &t, "recovery_code", "rc").await;
    assert_eq!(reused.err(), Some(GrantError::BadRecoveryCode));

    assert!(login(&w, &rules(PolicyKind::Multi, SPARK_2014), "cli")
        .await
        .is_ok());
    // The Build page has no second-factor step: it hands back the newest token.
    assert!(build_sign_in(&w, PolicyKind::Multi).await.reused);
}

#[tokio::test]
async fn the_token_endpoint_checks_in_the_library_order() {
    let w = World::new();
    let r = rules(PolicyKind::Multi, SPARK_2014);
    let run = |p: TokenParams| token_grant(&w, &r, p, Origin::default());
    let user = [("username", U), ("password", "pw")];
    let mut missing = form("password", "cli", &[]);
    missing.grant_type = None;
    assert_eq!(run(missing).await.err(), Some(GrantError::UnknownGrantType));
    let bad_id = form("urn:anything", "x", &user);
    assert_eq!(run(bad_id).await.err(), Some(GrantError::BadClientId));
    let mut wrong = form("refresh_token", "cli", &[]);
    wrong.client_secret = Some("nope".into());
    assert_eq!(run(wrong).await.err(), Some(GrantError::ClientInvalid));
    let refresh = form("refresh_token", "cli", &[]);
    assert_eq!(run(refresh).await.err(), Some(GrantError::Unauthorised));
    let both = form("password", "cli", &[("expires_in", "-1")]);
    assert_eq!(run(both).await.err(), Some(GrantError::BadExpiresIn));
    let fields = form("password", "cli", &[("username", U)]);
    assert_eq!(run(fields).await.err(), Some(GrantError::MissingUserFields));
    let wrong_pw = form("password", "cli", &[("username", U), ("password", "x")]);
    assert_eq!(
        run(wrong_pw).await.err(),
        Some(GrantError::BadUserCredentials)
    );
    let never = form("password", "cli", &[user[0], user[1], ("expires_in", "0")]);
    assert_eq!(run(never).await.map(|i| i.token.expires_at), Ok(None));
}

#[tokio::test]
async fn client_credentials_act_for_the_owner_or_the_named_customer() {
    let w = World::new();
    let r = rules(PolicyKind::Multi, PARTICLE);
    let run = |p: TokenParams| token_grant(&w, &r, p, Origin::default());
    let ownerless = form("client_credentials", "cli", &[]);
    assert_eq!(run(ownerless).await.err(), Some(GrantError::Unauthorised));
    if let Some(c) = w.db.lock().client_mut("cli") {
        c.owner = Some(U.into());
    }
    let owned = run(form("client_credentials", "cli", &[])).await;
    let owned = owned.map(|i| (i.token.username, i.token.grant));
    assert_eq!(owned, Ok((U.to_string(), GrantKind::ClientCredentials)));
    let nobody = form(
        "client_credentials",
        "cli",
        &[("scope", "customer=no@x.io")],
    );
    assert_eq!(
        run(nobody).await.err(),
        Some(GrantError::BadUserCredentials)
    );
}

#[test]
fn expiry_parameters() {
    let now = Utc::now();
    let day = Duration::days(1);
    let parse = |i: Option<&str>, a: Option<&str>| Expiry::parse(i, a).map(|e| e.at(now, day));
    assert_eq!(parse(None, None), Ok(Some(now + day)));
    assert_eq!(parse(Some(" "), Some("null")), Ok(None));
    assert_eq!(
        parse(Some("60"), Some("null")),
        Ok(Some(now + Duration::seconds(60)))
    );
    assert_eq!(parse(Some("0"), None), Ok(None));
    assert_eq!(parse(Some("-1"), None), Err(GrantError::BadExpiresIn));
    assert_eq!(parse(Some("1e3"), None), Err(GrantError::BadExpiresIn));
    let at = parse(None, Some("2030-01-02"))
        .ok()
        .flatten()
        .map(|t| t.to_rfc3339());
    assert_eq!(at.as_deref(), Some("2030-01-02T00:00:00+00:00"));
    assert_eq!(parse(None, Some("soon")), Err(GrantError::BadExpiresAt));
}

#[test]
fn client_id_pattern() {
    assert!(valid_client_id("CLI2"));
    assert!(valid_client_id("spark-build"));
    assert!(valid_client_id("a_b"));
    assert!(!valid_client_id("ab"));
    assert!(!valid_client_id("has space"));
    assert!(!valid_client_id(&"x".repeat(41)));
}
