//! The checks of a step's `expect`: each becomes a ✓ or ✗ line in the transcript, or is
//! skipped (with the reason) when it needs `/__mock` and the target has none.

use serde_json::Value;

use super::Outcome;
use crate::format::{Step, TokenChange, TokenRef};
use crate::http::short;
use crate::tokens::Snapshot;
use crate::transcript::{Check, StepRecord};
use crate::world::World;

mod server;

use server::{device, history, validity};

pub(crate) async fn check(
    w: &mut World<'_>,
    step: &Step,
    out: &Outcome,
    same_as: Option<String>,
    before: &Snapshot,
    rec: &mut StepRecord,
) {
    let e = &step.expect;
    let reply = out.reply.as_ref();
    let got = || {
        reply.map_or_else(
            || "no answer".to_string(),
            |r| format!("got {}: {}", r.status, short(&r.text, 160)),
        )
    };
    let mut checks = Vec::new();
    if let Some(s) = e.status {
        let ok = reply.is_some_and(|r| r.status == s);
        checks.push(Check::new(ok, format!("status {s}"), (!ok).then(got)));
    }
    if let Some(err) = &e.error {
        let ok = reply.is_some_and(|r| {
            r.body.get("error").and_then(Value::as_str) == Some(err)
                || r.body
                    .get("errors")
                    .and_then(Value::as_array)
                    .is_some_and(|a| a.iter().any(|x| x == err))
        });
        checks.push(Check::new(ok, format!("error {err:?}"), (!ok).then(got)));
    }
    if let Some(d) = &e.error_description {
        let ok = reply
            .is_some_and(|r| r.body.get("error_description").and_then(Value::as_str) == Some(d));
        checks.push(Check::new(
            ok,
            format!("error_description {d:?}"),
            (!ok).then(got),
        ));
    }
    for (path, want) in &e.body {
        let have = reply.and_then(|r| lookup(&r.body, path));
        let ok = have.as_ref().is_some_and(|h| same(h, want));
        let detail =
            (!ok).then(|| format!("found {}", have.map_or("nothing".into(), |h| h.to_string())));
        checks.push(Check::new(ok, format!("body {path} = {want}"), detail));
    }
    if let Some(change) = e.token {
        let (what, ok) = match (change, &out.token) {
            (TokenChange::New, Some((_, new))) => ("a new token", *new),
            (TokenChange::Same, Some((_, new))) => ("the same token", !*new),
            (TokenChange::New, None) => ("a new token", false),
            (TokenChange::Same, None) => ("the same token", false),
        };
        checks.push(Check::new(
            ok,
            what.into(),
            (!ok).then(|| "it did not".to_string()),
        ));
    }
    if e.same_as.is_some() {
        let ok = out.token.as_ref().map(|(t, _)| t) == same_as.as_ref() && same_as.is_some();
        let want = same_as
            .as_deref()
            .map_or_else(|| "(none)".into(), |t| w.tokens.label(t));
        checks.push(Check::new(
            ok,
            format!("the token is {want}"),
            (!ok).then(got),
        ));
    }
    for (refs, want_valid) in [(&e.valid, true), (&e.invalid, false)] {
        for r in refs {
            checks.push(validity(w, r, want_valid).await);
        }
    }
    for (r, h) in &e.history {
        checks.push(history(w, r, h).await);
    }
    if let Some(name) = &e.event {
        let ok = out.event.as_ref().is_some_and(|(n, _)| n == name);
        checks.push(Check::new(
            ok,
            format!("event {name:?}"),
            (!ok).then(|| format!("got {:?}", out.event)),
        ));
    }
    if let Some(data) = &e.event_data {
        let ok = out.event.as_ref().is_some_and(|(_, d)| d == data);
        checks.push(Check::new(
            ok,
            format!("event data {data:?}"),
            (!ok).then(|| format!("got {:?}", out.event)),
        ));
    }
    if !e.device.is_empty() {
        checks.extend(device(w, step, &e.device).await);
    }
    if e.tokens_unchanged {
        checks.push(if w.control.admin() {
            let ok = *before == w.last;
            Check::new(
                ok,
                "no token changed".into(),
                (!ok).then(|| "the token list changed".into()),
            )
        } else {
            Check::skipped("no token changed".into(), "needs /__mock/tokens")
        });
    }
    rec.checks.extend(checks);
}

pub(super) fn ref_name(r: &TokenRef) -> String {
    match r {
        TokenRef::Actor(a) => format!("{a}'s"),
        TokenRef::Saved(s) => format!("{s:?}"),
        TokenRef::Literal(l) => crate::tokens::short(l),
    }
}

/// A dotted path into JSON; numeric segments index arrays.
pub(super) fn lookup(v: &Value, path: &str) -> Option<Value> {
    let mut cur = v;
    for seg in path.split('.') {
        cur = match cur {
            Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            other => other.get(seg)?,
        };
    }
    Some(cur.clone())
}

/// Equal, with numbers compared by value (TOML `1` matches JSON `1.0`).
pub(super) fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}
