//! The three token policies ([`PolicyKind`]) and their rules as pure decisions: given a
//! user's valid tokens and a new grant, which token comes back and which tokens die.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::domain::token::TokenRecord;

/// How tokens of one user live together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyKind {
    /// 2014 (S0): one valid token per user; any grant but the Build IDE's replaces it.
    Single,
    /// One valid token per (user, client): the future the 2014 thread promised.
    PerClient,
    /// Feb 2014 to today: tokens accumulate and each expires on its own.
    Multi,
}

impl fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PolicyKind::Single => "single",
            PolicyKind::PerClient => "per-client",
            PolicyKind::Multi => "multi",
        })
    }
}

impl FromStr for PolicyKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "single" => Ok(PolicyKind::Single),
            "per-client" | "perclient" => Ok(PolicyKind::PerClient),
            "multi" => Ok(PolicyKind::Multi),
            other => Err(format!(
                "unknown token policy `{other}`: expected `single`, `per-client` or `multi`"
            )),
        }
    }
}

/// What a grant does to a user's tokens.
#[derive(Debug, PartialEq, Eq)]
pub enum Plan {
    /// Hand back this existing token unchanged (the Build IDE's login).
    Reuse(String),
    /// Issue a new token and invalidate these.
    Issue { invalidate: Vec<String> },
}

/// Decides a grant. `valid` is the user's currently valid tokens, oldest first.
///
/// - `single`: a grant from any client but Build replaces every token; Build gets the
///   current token back and creates one only when there is none.
/// - `per-client`: a grant replaces only that client's token; Build reuses its own.
/// - `multi`: tokens accumulate; Build gets the most recently created token back, as the
///   2014 Build page "listed the single most recently created token".
pub fn plan_grant(
    policy: PolicyKind,
    from_build: bool,
    client_id: &str,
    valid: &[&TokenRecord],
) -> Plan {
    match (policy, from_build) {
        (PolicyKind::Single, true) | (PolicyKind::Multi, true) => match valid.last() {
            Some(t) => Plan::Reuse(t.token.clone()),
            None => Plan::Issue { invalidate: vec![] },
        },
        (PolicyKind::PerClient, true) => {
            match valid.iter().rev().find(|t| t.client_id == client_id) {
                Some(t) => Plan::Reuse(t.token.clone()),
                None => Plan::Issue { invalidate: vec![] },
            }
        }
        (PolicyKind::Single, false) => Plan::Issue {
            invalidate: valid.iter().map(|t| t.token.clone()).collect(),
        },
        (PolicyKind::PerClient, false) => Plan::Issue {
            invalidate: valid
                .iter()
                .filter(|t| t.client_id == client_id)
                .map(|t| t.token.clone())
                .collect(),
        },
        (PolicyKind::Multi, false) => Plan::Issue { invalidate: vec![] },
    }
}

/// Decides which tokens a "Reset Token" replaces: the token the Build page shows.
/// `single` kills them all; `per-client` the Build client's own; `multi` the newest.
pub fn plan_reset(
    policy: PolicyKind,
    build_client_id: &str,
    valid: &[&TokenRecord],
) -> Vec<String> {
    match policy {
        PolicyKind::Single => valid.iter().map(|t| t.token.clone()).collect(),
        PolicyKind::PerClient => valid
            .iter()
            .filter(|t| t.client_id == build_client_id)
            .map(|t| t.token.clone())
            .collect(),
        PolicyKind::Multi => valid
            .last()
            .map(|t| vec![t.token.clone()])
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::token::GrantKind;

    fn tok(name: &str, client: &str) -> TokenRecord {
        TokenRecord::new(
            name.into(),
            "u".into(),
            client.into(),
            GrantKind::Password,
            PolicyKind::Single,
            chrono::Utc::now(),
            None,
        )
    }

    #[test]
    fn single_replaces_everything_except_for_build() {
        let a = tok("a", "python");
        let b = tok("b", "spark-ios");
        let valid = [&a, &b];
        assert_eq!(
            plan_grant(PolicyKind::Single, false, "cli", &valid),
            Plan::Issue {
                invalidate: vec!["a".into(), "b".into()]
            }
        );
        assert_eq!(
            plan_grant(PolicyKind::Single, true, "spark-build", &valid),
            Plan::Reuse("b".into())
        );
        assert_eq!(
            plan_grant(PolicyKind::Single, true, "spark-build", &[]),
            Plan::Issue { invalidate: vec![] }
        );
    }

    #[test]
    fn per_client_replaces_only_the_same_client() {
        let a = tok("a", "python");
        let b = tok("b", "spark-ios");
        let c = tok("c", "spark-build");
        let valid = [&a, &b, &c];
        assert_eq!(
            plan_grant(PolicyKind::PerClient, false, "spark-ios", &valid),
            Plan::Issue {
                invalidate: vec!["b".into()]
            }
        );
        assert_eq!(
            plan_grant(PolicyKind::PerClient, true, "spark-build", &valid),
            Plan::Reuse("c".into())
        );
        assert_eq!(
            plan_reset(PolicyKind::PerClient, "spark-build", &valid),
            vec!["c"]
        );
    }

    #[test]
    fn multi_accumulates_and_build_sees_the_newest() {
        let a = tok("a", "python");
        let b = tok("b", "spark-ios");
        let valid = [&a, &b];
        assert_eq!(
            plan_grant(PolicyKind::Multi, false, "python", &valid),
            Plan::Issue { invalidate: vec![] }
        );
        assert_eq!(
            plan_grant(PolicyKind::Multi, true, "spark-build", &valid),
            Plan::Reuse("b".into())
        );
        assert_eq!(
            plan_reset(PolicyKind::Multi, "spark-build", &valid),
            vec!["b"]
        );
        assert_eq!(
            plan_reset(PolicyKind::Single, "spark-build", &valid),
            vec!["a", "b"]
        );
    }
}
