//! Each user's tokens that are not invalidated, in issue order: the only ones that can be
//! valid, so a grant's policy check reads a handful of tokens rather than the user's whole
//! history. Not saved: built on first use, then kept up to date by every mutation (or
//! dropped, to be rebuilt, after a replay).

use std::collections::HashMap;
use std::sync::OnceLock;

use super::Db;
use crate::domain::token::TokenRecord;

#[derive(Clone, Debug, Default)]
pub(super) struct OpenIndex(OnceLock<HashMap<String, Vec<String>>>);

impl Db {
    fn open_index(&self) -> &HashMap<String, Vec<String>> {
        self.open.0.get_or_init(|| {
            let mut index: HashMap<String, Vec<String>> = HashMap::new();
            for (user, ids) in &self.by_user {
                let open: Vec<String> = ids
                    .iter()
                    .filter(|t| self.tokens.get(*t).is_some_and(|r| r.invalidated.is_none()))
                    .cloned()
                    .collect();
                if !open.is_empty() {
                    index.insert(user.clone(), open);
                }
            }
            index
        })
    }

    /// A user's tokens that are not invalidated (some may have expired), in issue order.
    pub(super) fn open_tokens(&self, username: &str) -> Vec<&TokenRecord> {
        self.open_index()
            .get(username)
            .map(|ids| ids.iter().filter_map(|t| self.tokens.get(t)).collect())
            .unwrap_or_default()
    }

    /// A new token was stored.
    pub(super) fn index_issued(&mut self, record: &TokenRecord) {
        if let Some(index) = self.open.0.get_mut() {
            if record.invalidated.is_none() {
                index
                    .entry(record.username.clone())
                    .or_default()
                    .push(record.token.clone());
            }
        }
    }

    /// A token was invalidated or removed.
    pub(super) fn index_closed(&mut self, username: &str, token: &str) {
        if let Some(ids) = self.open.0.get_mut().and_then(|i| i.get_mut(username)) {
            ids.retain(|t| t != token);
        }
    }

    /// A user's tokens moved to a new name.
    pub(super) fn index_renamed(&mut self, from: &str, to: &str) {
        if let Some(index) = self.open.0.get_mut() {
            match index.remove(from) {
                Some(ids) => index.insert(to.to_string(), ids),
                None => index.remove(to),
            };
        }
    }

    /// Tokens changed wholesale (a replay): rebuild on next use.
    pub(super) fn index_dropped(&mut self) {
        self.open = OpenIndex::default();
    }
}
