//! A token's life story as JSON: the structured facts plus a `story` of plain sentences,
//! oldest first, so a person can read why a token died without decoding anything.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::clock::iso_millis;
use crate::domain::token::{GrantKind, Reason, TokenRecord};

fn grant_name(g: GrantKind) -> &'static str {
    match g {
        GrantKind::Password => "password",
        GrantKind::RefreshToken => "refresh_token",
        GrantKind::ClientCredentials => "client_credentials",
        GrantKind::Reset => "reset",
        GrantKind::Seed => "seed",
        GrantKind::MfaOtp => "urn:custom:mfa-otp",
        GrantKind::RecoveryCode => "urn:custom:recovery-code",
    }
}

fn successor(r: &Reason) -> Option<&str> {
    match r {
        Reason::ReplacedByGrant { new_token, .. }
        | Reason::ResetFromBuild { new_token }
        | Reason::ResetByAdmin { new_token } => Some(new_token),
        _ => None,
    }
}

/// How the token came to be: grant, user, client, policy and where from.
fn issued_sentence(t: &TokenRecord) -> String {
    let from = match (&t.origin.remote_addr, &t.origin.user_agent) {
        (Some(a), Some(ua)) => format!(" from {a} ({ua})"),
        (Some(a), None) => format!(" from {a}"),
        (None, Some(ua)) => format!(" ({ua})"),
        (None, None) => String::new(),
    };
    let how = match t.grant {
        GrantKind::Seed => "declared in the seed file".to_string(),
        GrantKind::Reset => "issued by Reset Token".to_string(),
        g => format!("issued by a {} grant", grant_name(g)),
    };
    format!(
        "{how} to {} for client {} under the {} policy{from}",
        t.username, t.client_id, t.policy
    )
}

/// The token's life in sentences, each with its time, oldest first (stable, so events at
/// the same instant keep the order below).
fn story(t: &TokenRecord, now: DateTime<Utc>) -> Vec<String> {
    let mut story: Vec<(DateTime<Utc>, String)> = vec![(t.issued_at, issued_sentence(t))];
    if let (Some(at), Some(route)) = (t.last_used_at, &t.last_used_route) {
        let times = if t.use_count == 1 { "once" } else { "times" };
        let count = if t.use_count == 1 {
            String::new()
        } else {
            format!("{} ", t.use_count)
        };
        story.push((at, format!("last used on {route} (used {count}{times})")));
    }
    if let Some(inv) = &t.invalidated {
        story.push((
            inv.at,
            format!("invalidated: {}", inv.reason.describe(inv.at)),
        ));
    } else if let Some(at) = t.expires_at.filter(|at| *at <= now) {
        story.push((at, "expired".to_string()));
    }
    for r in &t.rejected_uses {
        let from = r
            .remote_addr
            .as_deref()
            .map(|a| format!(" from {a}"))
            .unwrap_or_default();
        story.push((r.at, format!("refused on {}{from}: {}", r.route, r.reason)));
    }
    story.sort_by_key(|(at, _)| *at);
    story
        .into_iter()
        .map(|(at, s)| format!("{} {s}", iso_millis(at)))
        .collect()
}

pub fn history_json(t: &TokenRecord, now: DateTime<Utc>) -> Value {
    json!({
        "token": t.token,
        "user": t.username,
        "client": t.client_id,
        "status": t.status(now),
        "policy": t.policy,
        "scope": t.scope,
        "issued": {
            "at": iso_millis(t.issued_at),
            "client": t.client_id,
            "grant": grant_name(t.grant),
            "policy": t.policy,
            "remote_addr": t.origin.remote_addr,
            "user_agent": t.origin.user_agent,
        },
        "expires_at": t.expires_at.map(iso_millis),
        "last_used": t.last_used_at.map(|at| json!({
            "at": iso_millis(at),
            "route": t.last_used_route,
        })),
        "use_count": t.use_count,
        "invalidated": t.invalidated.as_ref().map(|inv| json!({
            "at": iso_millis(inv.at),
            "reason": inv.reason.describe(inv.at),
            "kind": inv.reason,
            "replaced_by": successor(&inv.reason),
        })),
        "death": t.death(now),
        "rejected_uses": t.rejected_uses.iter().map(|r| json!({
            "at": iso_millis(r.at),
            "route": r.route,
            "remote_addr": r.remote_addr,
            "reason": r.reason,
        })).collect::<Vec<_>>(),
        "rejected_count": t.rejected_count,
        "story": story(t, now),
    })
}
