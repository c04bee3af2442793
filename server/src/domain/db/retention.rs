//! Forgetting dead tokens: a token that has been expired or invalidated for longer than the
//! retention window (and whose refresh token is dead too) leaves the database, so the saved
//! state and the memory stop growing with history. Until then its history stays queryable.

use chrono::{DateTime, Duration, Utc};

use super::Db;
use crate::domain::token::TokenRecord;

/// Since when a token has been unusable, or `None` while it works.
fn dead_since(t: &TokenRecord, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let invalidated = t.invalidated.as_ref().map(|i| i.at);
    let expired = t.expires_at.filter(|at| *at <= now);
    match (invalidated, expired) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl Db {
    /// Since when a token has been of no use at all: dead, and its refresh token (if it
    /// still has one) expired. `None` while either still works.
    fn useless_since(&self, t: &TokenRecord, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let dead = dead_since(t, now)?;
        let refresh_live = t
            .refresh_token
            .as_ref()
            .is_some_and(|r| self.refresh.get(r) == Some(&t.token));
        if !refresh_live {
            return Some(dead);
        }
        match t.refresh_expires_at {
            Some(at) if at <= now => Some(dead.max(at)),
            _ => None,
        }
    }

    /// Removes the tokens that have been of no use for longer than `retention`; returns how
    /// many.
    pub fn prune(&mut self, now: DateTime<Utc>, retention: Duration) -> usize {
        let Some(cutoff) = now.checked_sub_signed(retention) else {
            return 0;
        };
        let doomed: Vec<String> = self
            .tokens
            .values()
            .filter(|t| self.useless_since(t, now).is_some_and(|at| at <= cutoff))
            .map(|t| t.token.clone())
            .collect();
        if doomed.is_empty() {
            return 0;
        }
        self.index_dropped();
        let gone: std::collections::HashSet<&str> = doomed.iter().map(String::as_str).collect();
        let mut owners = std::collections::BTreeSet::new();
        for token in &doomed {
            let Some(record) = self.tokens.remove(token) else {
                continue;
            };
            if let Some(r) = &record.refresh_token {
                if self.refresh.get(r) == Some(token) {
                    self.refresh.remove(r);
                    self.mark_refresh(r);
                }
            }
            owners.insert(record.username);
            self.mark_token(token);
        }
        for user in owners {
            if let Some(list) = self.by_user.get_mut(&user) {
                list.retain(|t| !gone.contains(t.as_str()));
                if list.is_empty() {
                    self.by_user.remove(&user);
                }
            }
            self.mark_list(&user);
        }
        doomed.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PolicyKind;
    use crate::domain::db::IssueRequest;
    use crate::domain::password::PasswordHash;
    use crate::domain::token::{GrantKind, Origin, Reason};
    use crate::domain::users::User;

    const U: &str = "u@example.com";

    fn issue(db: &mut Db, now: DateTime<Utc>, life: Option<i64>, refresh: Option<i64>) -> String {
        let req = IssueRequest {
            username: U.into(),
            client_id: "cli".into(),
            grant: GrantKind::Password,
            scope: None,
            expires_at: life.map(|d| now + Duration::days(d)),
            refresh_lifetime: refresh.map(Duration::days),
            origin: Origin::default(),
        };
        db.grant(req, PolicyKind::Multi, "spark-build", now)
            .token
            .token
    }

    #[test]
    fn dead_tokens_are_kept_for_the_window_then_forgotten_live_ones_never() {
        let t0 = Utc::now();
        let mut db = Db::default();
        db.add_user(User::new(U, PasswordHash::new("pw", 1), t0));
        let expiring = issue(&mut db, t0, Some(10), None);
        let revoked = issue(&mut db, t0, None, None);
        let forever = issue(&mut db, t0, None, None);
        let refreshable = issue(&mut db, t0, Some(1), Some(60));
        db.invalidate(&revoked, Reason::PasswordChanged, t0 + Duration::days(5));
        let window = Duration::days(30);
        // Day 34: `revoked` died on day 5 (29 days ago), `expiring` on day 10.
        assert_eq!(db.prune(t0 + Duration::days(34), window), 0);
        // Day 36: `revoked` has been dead 31 days; the rest are younger or alive.
        assert_eq!(db.prune(t0 + Duration::days(36), window), 1);
        assert!(db.token(&revoked).is_none());
        assert!(db.token(&expiring).is_some());
        // Day 41: `expiring` goes; `refreshable` expired on day 1 but its refresh token
        // lives until day 60, so it stays until day 90.
        assert_eq!(db.prune(t0 + Duration::days(41), window), 1);
        assert!(db.token(&refreshable).is_some());
        assert_eq!(db.prune(t0 + Duration::days(89), window), 0);
        assert_eq!(db.prune(t0 + Duration::days(91), window), 1);
        assert_eq!(db.prune(t0 + Duration::days(10_000), window), 0);
        let left: Vec<String> = db.user_tokens(U).iter().map(|t| t.token.clone()).collect();
        assert_eq!(left, [forever]);
    }
}
