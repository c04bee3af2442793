//! Multi-factor login's state on the database: challenges waiting for their second factor,
//! recovery codes, and the switch that turns MFA on or off.

use chrono::{DateTime, Duration, Utc};

use super::Db;
use crate::clock::deadline;
use crate::domain::token::Reason;
use crate::domain::users::Mfa;

/// A password grant that answered `mfa_required`.
#[derive(Clone, Debug)]
pub(super) struct MfaChallenge {
    username: String,
    client_id: String,
    expires_at: DateTime<Utc>,
}

/// How long an `mfa_token` stays usable.
pub const MFA_TOKEN_LIFETIME_SECS: i64 = 300;

impl Db {
    /// Opens an MFA challenge for a password grant that succeeded; returns its `mfa_token`.
    pub fn start_mfa(&mut self, username: &str, client_id: &str, now: DateTime<Utc>) -> String {
        self.mfa_challenges.retain(|_, c| c.expires_at > now);
        let token = crate::domain::users::random_hex(40);
        self.mfa_challenges.insert(
            token.clone(),
            MfaChallenge {
                username: username.to_string(),
                client_id: client_id.to_string(),
                expires_at: deadline(now, Duration::seconds(MFA_TOKEN_LIFETIME_SECS)),
            },
        );
        token
    }

    /// The user an `mfa_token` was issued for, if it is live and belongs to `client_id`.
    pub fn mfa_user(&self, mfa_token: &str, client_id: &str, now: DateTime<Utc>) -> Option<String> {
        self.mfa_challenges
            .get(mfa_token)
            .filter(|c| c.expires_at > now && c.client_id == client_id)
            .map(|c| c.username.clone())
    }

    /// Ends a challenge once its grant has issued a token.
    pub fn finish_mfa(&mut self, mfa_token: &str) {
        self.mfa_challenges.remove(mfa_token);
    }

    /// Turns multi-factor login on (`Some`) or off (`None`); with `invalidate_tokens`, turning
    /// it on kills every valid token of the user, as the cloud's enrolment can. `None` if
    /// there is no such user; else the tokens killed.
    pub fn set_mfa(
        &mut self,
        username: &str,
        mfa: Option<Mfa>,
        invalidate_tokens: bool,
        now: DateTime<Utc>,
    ) -> Option<Vec<String>> {
        let user = self.user_mut(username)?;
        let enabling = mfa.is_some();
        user.mfa = mfa;
        let key = user.username.clone();
        if !enabling {
            self.mfa_challenges.retain(|_, c| c.username != key);
        }
        Some(if enabling && invalidate_tokens {
            self.invalidate_all(&key, Reason::MfaEnabled, now)
        } else {
            Vec::new()
        })
    }

    /// Spends one of the user's recovery codes; false if it is not one of them.
    pub fn spend_recovery_code(&mut self, username: &str, code: &str) -> bool {
        let Some(mfa) = self.user_mut(username).and_then(|u| u.mfa.as_mut()) else {
            return false;
        };
        let before = mfa.recovery_codes.len();
        mfa.recovery_codes.retain(|c| c != code);
        mfa.recovery_codes.len() < before
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::db::IssueRequest;
    use crate::domain::password::PasswordHash;
    use crate::domain::policy::PolicyKind;
    use crate::domain::token::{GrantKind, Origin};
    use crate::domain::users::User;

    const U: &str = "user@example.com";

    fn db_with_user(now: DateTime<Utc>) -> Db {
        let mut db = Db::default();
        db.add_user(User::new(U, PasswordHash::new("pw", 1), now));
        db
    }

    fn issue(db: &mut Db, now: DateTime<Utc>) -> String {
        let req = IssueRequest {
            username: U.into(),
            client_id: "cli".into(),
            grant: GrantKind::Password,
            scope: None,
            expires_at: None,
            refresh_lifetime: None,
            origin: Origin::default(),
        };
        db.grant(req, PolicyKind::Multi, "spark-build", now)
            .token
            .token
    }

    #[test]
    fn a_challenge_belongs_to_its_client_and_expires() {
        let now = Utc::now();
        let mut db = db_with_user(now);
        let t = db.start_mfa(U, "cli", now);
        assert_eq!(db.mfa_user(&t, "cli", now).as_deref(), Some(U));
        assert_eq!(db.mfa_user(&t, "other", now), None);
        let later = now + Duration::seconds(MFA_TOKEN_LIFETIME_SECS);
        assert_eq!(db.mfa_user(&t, "cli", later), None);
        db.finish_mfa(&t);
        assert_eq!(db.mfa_user(&t, "cli", now), None);
    }

    #[test]
    fn recovery_codes_work_once_each() {
        let now = Utc::now();
        let mut db = db_with_user(now);
        let mfa = Mfa {
            otp: "1".into(),
            recovery_codes: vec!["a".into(), "b".into()],
        };
        assert_eq!(db.set_mfa(U, Some(mfa), false, now), Some(vec![]));
        assert!(db.spend_recovery_code(U, "a"));
        assert!(!db.spend_recovery_code(U, "a"));
        assert!(!db.spend_recovery_code(U, "zz"));
        assert!(db.spend_recovery_code(U, "b"));
    }

    #[test]
    fn turning_mfa_on_with_invalidate_tokens_kills_them_and_off_ends_challenges() {
        let now = Utc::now();
        let mut db = db_with_user(now);
        let token = issue(&mut db, now);
        let mfa = Mfa {
            otp: "1".into(),
            recovery_codes: vec![],
        };
        assert_eq!(
            db.set_mfa(U, Some(mfa), true, now),
            Some(vec![token.clone()])
        );
        let reason = db
            .token(&token)
            .and_then(|t| t.invalidated.as_ref())
            .map(|i| i.reason.clone());
        assert_eq!(reason, Some(Reason::MfaEnabled));
        let challenge = db.start_mfa(U, "cli", now);
        assert_eq!(db.set_mfa(U, None, true, now), Some(vec![]));
        assert_eq!(db.mfa_user(&challenge, "cli", now), None);
        assert_eq!(db.set_mfa("nobody@example.com", None, false, now), None);
    }
}
