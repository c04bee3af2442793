//! What changed in the database since the journal last took it, as whole records.
//!
//! Every mutating method of [`Db`] marks what it touched; [`Db::take_changes`] turns the
//! marks into a [`DbDelta`] holding the current version of each touched user, client and
//! token (or its absence), and [`Db::apply`] replays one. The journal stores deltas, so
//! replay is "apply upserts and deletes in order": no operation is re-run, no token is
//! re-generated, and applying a delta twice changes nothing.

use std::collections::{BTreeSet, HashSet};

use serde::{Deserialize, Serialize};

use super::Db;
use crate::domain::token::TokenRecord;
use crate::domain::users::{Client, User};

/// Marks left by mutations; never saved. Off unless [`Db::track_changes`] turned it on
/// (without a journal nobody would take them).
#[derive(Clone, Debug, Default)]
pub(super) struct Tracker {
    on: bool,
    /// The whole database was replaced (a reset): the next delta carries all of it.
    replaced: bool,
    users: BTreeSet<String>,
    clients: BTreeSet<String>,
    /// Tokens in the order they first changed, so new ones keep their issue order.
    tokens: Vec<String>,
    token_set: HashSet<String>,
    /// Tokens whose only change is a use or a refusal (saved in the background).
    used: HashSet<String>,
    refresh: BTreeSet<String>,
    /// Users whose token list changed other than by an append (rename, pruning).
    lists: BTreeSet<String>,
}

impl Tracker {
    /// The marks so far, leaving none (tracking stays as it was).
    fn take(&mut self) -> Tracker {
        let on = self.on;
        let marks = std::mem::take(self);
        self.on = on;
        marks
    }

    fn is_empty(&self, with_uses: bool) -> bool {
        !self.replaced
            && self.users.is_empty()
            && self.clients.is_empty()
            && self.tokens.is_empty()
            && self.refresh.is_empty()
            && self.lists.is_empty()
            && (!with_uses || self.used.is_empty())
    }
}

/// The changed records of one commit. An entry with `None` is a deletion.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct DbDelta {
    /// The whole database after a reset; applied before the rest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced: Option<Box<Db>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<(String, Option<User>)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clients: Vec<(String, Option<Client>)>,
    /// In the order they first changed: a new token joins the end of its user's list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tokens: Vec<(String, Option<TokenRecord>)>,
    /// Refresh token → access token.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refresh: Vec<(String, Option<String>)>,
    /// Users' whole token lists, where they changed other than by an append.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub token_lists: Vec<(String, Option<Vec<String>>)>,
}

impl DbDelta {
    pub fn is_empty(&self) -> bool {
        self.replaced.is_none()
            && self.users.is_empty()
            && self.clients.is_empty()
            && self.tokens.is_empty()
            && self.refresh.is_empty()
            && self.token_lists.is_empty()
    }
}

impl Db {
    pub(super) fn mark_user(&mut self, username: &str) {
        if self.changes.on {
            self.changes.users.insert(username.to_string());
        }
    }

    pub(super) fn mark_client(&mut self, id: &str) {
        if self.changes.on {
            self.changes.clients.insert(id.to_string());
        }
    }

    pub(super) fn mark_token(&mut self, token: &str) {
        if self.changes.on && self.changes.token_set.insert(token.to_string()) {
            self.changes.tokens.push(token.to_string());
        }
    }

    pub(super) fn mark_used(&mut self, token: &str) {
        if self.changes.on && !self.changes.token_set.contains(token) {
            self.changes.used.insert(token.to_string());
        }
    }

    pub(super) fn mark_refresh(&mut self, refresh_token: &str) {
        if self.changes.on {
            self.changes.refresh.insert(refresh_token.to_string());
        }
    }

    pub(super) fn mark_list(&mut self, username: &str) {
        if self.changes.on {
            self.changes.lists.insert(username.to_string());
        }
    }

    /// Starts marking changes for [`Db::take_changes`].
    pub fn track_changes(&mut self) {
        self.changes.on = true;
    }

    /// Records that the whole database was replaced (a reset).
    pub fn mark_replaced(&mut self) {
        self.changes.replaced = self.changes.on;
    }

    /// Whether anything is waiting for [`Db::take_changes`]; `with_uses` counts token uses.
    pub fn has_changes(&self, with_uses: bool) -> bool {
        !self.changes.is_empty(with_uses)
    }

    /// Takes the changes made since the last call, as the current version of each record.
    /// Without `with_uses`, tokens whose only change is a use or a refusal stay marked for
    /// a later call.
    pub fn take_changes(&mut self, with_uses: bool) -> DbDelta {
        let mut marks = self.changes.take();
        let mut used = std::mem::take(&mut marks.used);
        used.retain(|t| !marks.token_set.contains(t));
        if !with_uses {
            self.changes.used = std::mem::take(&mut used);
        }
        if marks.replaced {
            return DbDelta {
                replaced: Some(Box::new(self.clone())),
                ..DbDelta::default()
            };
        }
        let mut tokens = marks.tokens;
        tokens.extend(used.into_iter().filter(|t| self.tokens.contains_key(t)));
        DbDelta {
            replaced: None,
            users: marks
                .users
                .into_iter()
                .map(|u| {
                    let user = self.users.get(&u).cloned();
                    (u, user)
                })
                .collect(),
            clients: marks
                .clients
                .into_iter()
                .map(|c| {
                    let client = self.clients.get(&c).cloned();
                    (c, client)
                })
                .collect(),
            tokens: tokens
                .into_iter()
                .map(|t| {
                    let record = self.tokens.get(&t).cloned();
                    (t, record)
                })
                .collect(),
            refresh: marks
                .refresh
                .into_iter()
                .map(|r| {
                    let token = self.refresh.get(&r).cloned();
                    (r, token)
                })
                .collect(),
            token_lists: marks
                .lists
                .into_iter()
                .map(|u| {
                    let list = self.by_user.get(&u).cloned();
                    (u, list)
                })
                .collect(),
        }
    }

    /// Replays a delta taken from another database (the journal, at start-up).
    pub fn apply(&mut self, delta: DbDelta) {
        if let Some(db) = delta.replaced {
            let tracker = std::mem::take(&mut self.changes);
            *self = *db;
            self.changes = tracker;
        }
        for (name, user) in delta.users {
            match user {
                Some(u) => self.users.insert(name, u),
                None => self.users.remove(&name),
            };
        }
        for (id, client) in delta.clients {
            match client {
                Some(c) => self.clients.insert(id, c),
                None => self.clients.remove(&id),
            };
        }
        let mut deleted: HashSet<String> = HashSet::new();
        let mut owners: BTreeSet<String> = BTreeSet::new();
        for (token, record) in delta.tokens {
            match record {
                Some(r) => {
                    if !self.tokens.contains_key(&token) {
                        self.by_user
                            .entry(r.username.clone())
                            .or_default()
                            .push(token.clone());
                    }
                    self.tokens.insert(token, r);
                }
                None => {
                    if let Some(old) = self.tokens.remove(&token) {
                        owners.insert(old.username);
                        deleted.insert(token);
                    }
                }
            }
        }
        for user in owners {
            if let Some(list) = self.by_user.get_mut(&user) {
                list.retain(|t| !deleted.contains(t));
            }
        }
        for (refresh, token) in delta.refresh {
            match token {
                Some(t) => self.refresh.insert(refresh, t),
                None => self.refresh.remove(&refresh),
            };
        }
        for (user, list) in delta.token_lists {
            match list {
                Some(l) => self.by_user.insert(user, l),
                None => self.by_user.remove(&user),
            };
        }
        self.index_dropped();
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Duration, Utc};

    use super::*;
    use crate::config::PolicyKind;
    use crate::domain::db::IssueRequest;
    use crate::domain::password::PasswordHash;
    use crate::domain::token::{GrantKind, Origin, Reason};

    const A: &str = "a@example.com";
    const B: &str = "b@example.com";

    fn same(live: &Db, replica: &Db) {
        assert_eq!(
            serde_json::to_value(live).unwrap(),
            serde_json::to_value(replica).unwrap()
        );
        for user in [A, B, "c@example.com"] {
            let ids = |db: &Db| -> Vec<String> {
                db.user_tokens(user)
                    .iter()
                    .map(|t| t.token.clone())
                    .collect()
            };
            assert_eq!(ids(live), ids(replica), "{user}'s tokens in issue order");
            // The live index was kept up to date; the replica's is rebuilt from scratch.
            let open = |db: &Db| -> Vec<String> {
                db.open_tokens(user)
                    .iter()
                    .map(|t| t.token.clone())
                    .collect()
            };
            assert_eq!(open(live), open(replica), "{user}'s open tokens");
        }
    }

    fn grant(
        db: &mut Db,
        user: &str,
        client: &str,
        policy: PolicyKind,
        now: DateTime<Utc>,
    ) -> String {
        let req = IssueRequest {
            username: user.into(),
            client_id: client.into(),
            grant: GrantKind::Password,
            scope: None,
            expires_at: Some(now + Duration::days(90)),
            refresh_lifetime: Some(Duration::days(14)),
            origin: Origin::default(),
        };
        db.grant(req, policy, "spark-build", now).token.token
    }

    fn client(id: &str, owner: &str) -> Client {
        Client {
            id: id.into(),
            secret: "s".into(),
            name: id.into(),
            kind: "installed".into(),
            redirect_uri: None,
            scope: None,
            owner: Some(owner.into()),
        }
    }

    /// Every kind of change, taken at uneven points (sometimes without the token uses):
    /// the replica built from the deltas alone ends equal to the live database.
    #[test]
    fn replaying_the_deltas_rebuilds_the_database_exactly() {
        let now = Utc::now();
        let mut live = Db::default();
        live.track_changes();
        let mut replica = Db::default();
        // Without the uses the replica lags behind by exactly those; with them, it is equal.
        let sync = |live: &mut Db, replica: &mut Db, with_uses: bool| {
            replica.apply(live.take_changes(with_uses));
            if with_uses {
                same(live, replica);
            }
        };
        live.add_user(User::new(A, PasswordHash::new("pw", 1), now));
        live.add_user(User::new(B, PasswordHash::new("pw", 1), now));
        let first = grant(&mut live, A, "cli", PolicyKind::Multi, now);
        sync(&mut live, &mut replica, true);
        for i in 0..5 {
            grant(
                &mut live,
                A,
                if i % 2 == 0 { "cli" } else { "ios" },
                PolicyKind::PerClient,
                now,
            );
        }
        let _ = live.authenticate(&first, "/v1/devices", None, now);
        sync(&mut live, &mut replica, false);
        live.insert_client(client("app-1", A));
        live.insert_client(client("app-2", A));
        live.remove_client("app-2");
        if let Some(c) = live.client_mut("app-1") {
            c.name = "renamed".into();
        }
        let b = grant(&mut live, B, "cli", PolicyKind::Single, now);
        let refresh = live
            .token(&b)
            .and_then(|t| t.refresh_token.clone())
            .unwrap();
        live.retire_refresh(&refresh);
        live.user_mut(B).unwrap().first_name = Some("Bee".into());
        let _ = live.authenticate(&first, "/v1/user", Some("10.0.0.1"), now);
        sync(&mut live, &mut replica, false);
        assert!(live.rename_user(A, "c@example.com"));
        grant(&mut live, "c@example.com", "cli", PolicyKind::Multi, now);
        live.invalidate_all(B, Reason::PasswordChanged, now);
        live.delete_user(B, now);
        sync(&mut live, &mut replica, true);
        let later = now + Duration::days(200);
        assert!(live.prune(later, Duration::days(30)) > 0);
        grant(&mut live, "c@example.com", "cli", PolicyKind::Multi, later);
        sync(&mut live, &mut replica, true);
        same(&live, &replica);
        // A reset replaces everything at once.
        let mut fresh = Db::default();
        fresh.track_changes();
        fresh.add_user(User::new(A, PasswordHash::new("pw", 1), now));
        live = fresh;
        live.mark_replaced();
        grant(&mut live, A, "cli", PolicyKind::Multi, now);
        sync(&mut live, &mut replica, true);
        same(&live, &replica);
        assert!(!live.has_changes(true), "everything was taken");
    }

    #[test]
    fn uses_wait_for_a_commit_that_asks_for_them_unless_the_token_changed_too() {
        let now = Utc::now();
        let mut db = Db::default();
        db.track_changes();
        db.add_user(User::new(A, PasswordHash::new("pw", 1), now));
        let t = grant(&mut db, A, "cli", PolicyKind::Multi, now);
        db.take_changes(true);
        let _ = db.authenticate(&t, "/v1/user", None, now);
        assert!(db.has_changes(true) && !db.has_changes(false));
        assert!(db.take_changes(false).is_empty());
        let d = db.take_changes(true);
        assert_eq!(d.tokens.len(), 1);
        assert_eq!(d.tokens[0].1.as_ref().map(|t| t.use_count), Some(1));
        let _ = db.authenticate(&t, "/v1/user", None, now);
        db.invalidate(&t, Reason::PasswordChanged, now);
        let d = db.take_changes(false);
        assert_eq!(d.tokens.len(), 1, "once, with its uses");
        assert_eq!(d.tokens[0].1.as_ref().map(|t| t.use_count), Some(2));
        assert!(!db.has_changes(true));
    }

    #[test]
    fn without_tracking_nothing_is_marked() {
        let now = Utc::now();
        let mut db = Db::default();
        db.add_user(User::new(A, PasswordHash::new("pw", 1), now));
        grant(&mut db, A, "cli", PolicyKind::Multi, now);
        assert!(!db.has_changes(true));
    }
}
