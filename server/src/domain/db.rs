//! The account database: users, OAuth clients and tokens, with the operations the API needs.
//! It is plain data guarded by one lock in `AppState`, so every grant is atomic: N
//! concurrent grants under `single` leave exactly one valid token.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::clock::deadline;
use crate::domain::policy::PolicyKind;
use crate::domain::policy::{plan_grant, plan_reset, Plan};
use crate::domain::token::{
    generate_token, GrantKind, Invalidation, Origin, Reason, RejectedUse, Status, TokenRecord,
};
use crate::domain::users::{normalize_username, Client, User};

mod changes;
mod mfa;
mod open;
mod retention;

pub use changes::DbDelta;
pub use mfa::MFA_TOKEN_LIFETIME_SECS;

/// What a new token should look like.
#[derive(Clone, Debug)]
pub struct IssueRequest {
    pub username: String,
    pub client_id: String,
    pub grant: GrantKind,
    pub scope: Option<String>,
    /// `None`: never expires.
    pub expires_at: Option<DateTime<Utc>>,
    /// Lifetime of a refresh token to issue with it, if any.
    pub refresh_lifetime: Option<Duration>,
    pub origin: Origin,
}

/// The result of a grant.
#[derive(Clone, Debug)]
pub struct Issued {
    pub token: TokenRecord,
    /// True when an existing token was handed back (Build IDE login).
    pub reused: bool,
    /// The tokens this grant invalidated.
    pub invalidated: Vec<String>,
}

/// Why a presented token was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    Unknown,
    Expired,
    /// Invalidated, with the history sentence.
    Invalidated(String),
}

/// Why a refresh grant failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshError {
    Unknown,
    Expired,
}

/// Every mutation goes through a method, which marks what it changed for the journal
/// (see `changes`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Db {
    users: BTreeMap<String, User>,
    clients: BTreeMap<String, Client>,
    tokens: HashMap<String, TokenRecord>,
    /// Each user's tokens in the order they were issued.
    by_user: HashMap<String, Vec<String>>,
    refresh: HashMap<String, String>,
    /// Password grants waiting for their second factor, by `mfa_token`. Not saved: a
    /// restart asks for the password again.
    #[serde(skip)]
    mfa_challenges: HashMap<String, mfa::MfaChallenge>,
    #[serde(skip)]
    changes: changes::Tracker,
    #[serde(skip)]
    open: open::OpenIndex,
}

impl Db {
    pub fn user(&self, username: &str) -> Option<&User> {
        self.users.get(&normalize_username(username))
    }

    /// A user to change (marked as changed).
    pub fn user_mut(&mut self, username: &str) -> Option<&mut User> {
        let key = normalize_username(username);
        if self.users.contains_key(&key) {
            self.mark_user(&key);
        }
        self.users.get_mut(&key)
    }

    pub fn users(&self) -> &BTreeMap<String, User> {
        &self.users
    }

    /// Adds a user; false if the username is taken.
    pub fn add_user(&mut self, user: User) -> bool {
        if self.users.contains_key(&user.username) {
            return false;
        }
        self.mark_user(&user.username);
        self.users.insert(user.username.clone(), user);
        true
    }

    pub fn clients(&self) -> &BTreeMap<String, Client> {
        &self.clients
    }

    pub fn client(&self, id: &str) -> Option<&Client> {
        self.clients.get(id)
    }

    /// A client to change (marked as changed).
    pub fn client_mut(&mut self, id: &str) -> Option<&mut Client> {
        if self.clients.contains_key(id) {
            self.mark_client(id);
        }
        self.clients.get_mut(id)
    }

    /// Adds or replaces a client.
    pub fn insert_client(&mut self, client: Client) {
        self.mark_client(&client.id);
        self.clients.insert(client.id.clone(), client);
    }

    pub fn remove_client(&mut self, id: &str) -> Option<Client> {
        let removed = self.clients.remove(id);
        if removed.is_some() {
            self.mark_client(id);
        }
        removed
    }

    pub fn token(&self, token: &str) -> Option<&TokenRecord> {
        self.tokens.get(token)
    }

    /// Every token ever issued, oldest first per user.
    pub fn all_tokens(&self) -> Vec<&TokenRecord> {
        let mut all: Vec<&TokenRecord> = self.tokens.values().collect();
        all.sort_by(|a, b| a.issued_at.cmp(&b.issued_at).then(a.token.cmp(&b.token)));
        all
    }

    /// A user's tokens in issue order.
    pub fn user_tokens(&self, username: &str) -> Vec<&TokenRecord> {
        self.by_user
            .get(&normalize_username(username))
            .map(|ids| ids.iter().filter_map(|t| self.tokens.get(t)).collect())
            .unwrap_or_default()
    }

    pub fn valid_tokens(&self, username: &str, now: DateTime<Utc>) -> Vec<&TokenRecord> {
        self.open_tokens(&normalize_username(username))
            .into_iter()
            .filter(|t| t.is_valid(now))
            .collect()
    }

    /// Applies a grant under `policy`. `build_client_id` names the client whose logins
    /// never rotate the token.
    pub fn grant(
        &mut self,
        req: IssueRequest,
        policy: PolicyKind,
        build_client_id: &str,
        now: DateTime<Utc>,
    ) -> Issued {
        let from_build = req.client_id == build_client_id && req.grant == GrantKind::Password;
        let plan = {
            let valid = self.valid_tokens(&req.username, now);
            plan_grant(policy, from_build, &req.client_id, &valid)
        };
        match plan {
            Plan::Reuse(token) => match self.tokens.get(&token) {
                Some(t) => Issued {
                    token: t.clone(),
                    reused: true,
                    invalidated: vec![],
                },
                None => self.issue(req, policy, &[], now),
            },
            Plan::Issue { invalidate } => self.issue(req, policy, &invalidate, now),
        }
    }

    /// "Reset Token": replaces the token the Build page shows with a fresh one issued to the
    /// Build client. `from_build` tells the history whether the page or the admin API did it.
    pub fn reset(
        &mut self,
        username: &str,
        policy: PolicyKind,
        build_client_id: &str,
        lifetime: Duration,
        from_build: bool,
        now: DateTime<Utc>,
    ) -> Issued {
        let victims = {
            let valid = self.valid_tokens(username, now);
            plan_reset(policy, build_client_id, &valid)
        };
        let req = IssueRequest {
            username: normalize_username(username),
            client_id: build_client_id.to_string(),
            grant: GrantKind::Reset,
            scope: None,
            expires_at: Some(deadline(now, lifetime)),
            refresh_lifetime: None,
            origin: Origin::default(),
        };
        let issued = self.issue_with(req, policy, now);
        let new_token = issued.token.clone();
        let reason = if from_build {
            Reason::ResetFromBuild { new_token }
        } else {
            Reason::ResetByAdmin { new_token }
        };
        for t in &victims {
            self.invalidate(t, reason.clone(), now);
        }
        Issued {
            token: issued,
            reused: false,
            invalidated: victims,
        }
    }

    fn issue(
        &mut self,
        req: IssueRequest,
        policy: PolicyKind,
        invalidate: &[String],
        now: DateTime<Utc>,
    ) -> Issued {
        let client_id = req.client_id.clone();
        let grant = req.grant;
        let record = self.issue_with(req, policy, now);
        for t in invalidate {
            let reason = Reason::ReplacedByGrant {
                client_id: client_id.clone(),
                grant,
                new_token: record.token.clone(),
            };
            self.invalidate(t, reason, now);
        }
        Issued {
            token: record,
            reused: false,
            invalidated: invalidate.to_vec(),
        }
    }

    fn issue_with(
        &mut self,
        req: IssueRequest,
        policy: PolicyKind,
        now: DateTime<Utc>,
    ) -> TokenRecord {
        let mut token = generate_token();
        while self.tokens.contains_key(&token) {
            token = generate_token();
        }
        // No refresh token for a token that never expires (the particle rule).
        let refresh = match (req.refresh_lifetime, req.expires_at) {
            (Some(life), Some(_)) => Some((generate_token(), deadline(now, life))),
            _ => None,
        };
        let mut record = TokenRecord::new(
            token,
            normalize_username(&req.username),
            req.client_id,
            req.grant,
            policy,
            now,
            req.expires_at,
        );
        record.scope = req.scope;
        record.refresh_token = refresh.as_ref().map(|r| r.0.clone());
        record.refresh_expires_at = refresh.as_ref().map(|r| r.1);
        record.origin = req.origin;
        self.insert(record.clone());
        record
    }

    /// Stores a token as given (seed files and restored state).
    pub fn insert(&mut self, record: TokenRecord) {
        if let Some(r) = &record.refresh_token {
            self.refresh.insert(r.clone(), record.token.clone());
            self.mark_refresh(r);
        }
        self.mark_token(&record.token);
        match self.tokens.get(&record.token) {
            Some(old) => {
                let (user, token) = (old.username.clone(), old.token.clone());
                self.index_closed(&user, &token);
            }
            None => self
                .by_user
                .entry(record.username.clone())
                .or_default()
                .push(record.token.clone()),
        }
        self.index_issued(&record);
        self.tokens.insert(record.token.clone(), record);
    }

    /// Marks a token dead, keeping the first reason if it already was.
    pub fn invalidate(&mut self, token: &str, reason: Reason, now: DateTime<Utc>) -> bool {
        match self.tokens.get_mut(token) {
            Some(t) if t.invalidated.is_none() => {
                t.invalidated = Some(Invalidation { at: now, reason });
                let user = t.username.clone();
                self.index_closed(&user, token);
                self.mark_token(token);
                true
            }
            _ => false,
        }
    }

    /// Invalidates every valid token of a user; returns the ones it killed.
    pub fn invalidate_all(
        &mut self,
        username: &str,
        reason: Reason,
        now: DateTime<Utc>,
    ) -> Vec<String> {
        let victims: Vec<String> = self
            .valid_tokens(username, now)
            .into_iter()
            .map(|t| t.token.clone())
            .collect();
        for t in &victims {
            self.invalidate(t, reason.clone(), now);
        }
        victims
    }

    /// Checks a presented bearer token, recording the use or the refusal in its history.
    pub fn authenticate(
        &mut self,
        token: &str,
        route: &str,
        remote_addr: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<TokenRecord, Refusal> {
        let Some(record) = self.tokens.get_mut(token) else {
            return Err(Refusal::Unknown);
        };
        let result = match record.status(now) {
            Status::Valid => {
                record.record_use(now, route);
                Ok(record.clone())
            }
            status => {
                let reason = record.death(now).unwrap_or_else(|| "invalid".to_string());
                record.record_rejection(RejectedUse {
                    at: now,
                    route: route.to_string(),
                    remote_addr: remote_addr.map(str::to_string),
                    reason: reason.clone(),
                });
                Err(if status == Status::Expired {
                    Refusal::Expired
                } else {
                    Refusal::Invalidated(reason)
                })
            }
        };
        self.mark_used(token);
        result
    }

    /// Looks up a refresh token for `client_id`. The caller then grants a new token and
    /// calls [`Db::retire_refresh`].
    pub fn check_refresh(
        &self,
        refresh_token: &str,
        client_id: &str,
        now: DateTime<Utc>,
    ) -> Result<TokenRecord, RefreshError> {
        let record = self
            .refresh
            .get(refresh_token)
            .and_then(|t| self.tokens.get(t))
            .filter(|t| t.client_id == client_id)
            .ok_or(RefreshError::Unknown)?;
        match record.refresh_expires_at {
            Some(at) if at <= now => Err(RefreshError::Expired),
            _ => Ok(record.clone()),
        }
    }

    /// Revokes a used refresh token (the library revokes the old one on refresh).
    pub fn retire_refresh(&mut self, refresh_token: &str) {
        if self.refresh.remove(refresh_token).is_some() {
            self.mark_refresh(refresh_token);
        }
    }

    /// Changes a user's email, carrying their tokens and clients along. False if the new
    /// name is taken or the user does not exist.
    pub fn rename_user(&mut self, from: &str, to: &str) -> bool {
        let (from, to) = (normalize_username(from), normalize_username(to));
        if self.users.contains_key(&to) {
            return false;
        }
        let Some(mut user) = self.users.remove(&from) else {
            return false;
        };
        user.username = to.clone();
        self.users.insert(to.clone(), user);
        self.mark_user(&from);
        self.mark_user(&to);
        if let Some(ids) = self.by_user.remove(&from) {
            for t in &ids {
                if let Some(r) = self.tokens.get_mut(t) {
                    r.username = to.clone();
                }
                self.mark_token(t);
            }
            self.by_user.insert(to.clone(), ids);
            self.index_renamed(&from, &to);
            self.mark_list(&from);
            self.mark_list(&to);
        }
        let moved: Vec<String> = self
            .clients
            .values_mut()
            .filter(|c| c.owner.as_deref() == Some(from.as_str()))
            .map(|c| {
                c.owner = Some(to.clone());
                c.id.clone()
            })
            .collect();
        for id in moved {
            self.mark_client(&id);
        }
        true
    }

    /// Removes a user and kills their tokens.
    pub fn delete_user(&mut self, username: &str, now: DateTime<Utc>) -> bool {
        let key = normalize_username(username);
        if self.users.remove(&key).is_none() {
            return false;
        }
        self.mark_user(&key);
        self.invalidate_all(&key, Reason::UserDeleted, now);
        true
    }
}
