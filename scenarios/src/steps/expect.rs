//! The checks of a step's `expect`: each becomes a ✓ or ✗ line in the transcript, or is
//! skipped (with the reason) when it needs `/__mock` and the target has none.

use serde_json::Value;

use super::Outcome;
use crate::format::{Expect, Step, TokenChange, TokenRef};
use crate::http::{short, Reply};
use crate::tokens::Snapshot;
use crate::transcript::{Check, StepRecord};
use crate::world::World;

mod server;

use server::{device, history, validity};

/// Runs the step's checks, in the order the transcript lists them: the answer, the token
/// it gave, the server's view of tokens, the event, the device, and "no token changed".
pub(crate) async fn check(
    w: &mut World<'_>,
    step: &Step,
    out: &Outcome,
    same_as: Option<String>,
    before: &Snapshot,
    rec: &mut StepRecord,
) {
    let e = &step.expect;
    let mut checks = reply_checks(e, out.reply.as_ref());
    checks.extend(token_checks(w, e, out, same_as));
    for (refs, want_valid) in [(&e.valid, true), (&e.invalid, false)] {
        for r in refs {
            checks.push(validity(w, r, want_valid).await);
        }
    }
    for (r, h) in &e.history {
        checks.push(history(w, r, h).await);
    }
    checks.extend(event_checks(e, out));
    if !e.device.is_empty() {
        checks.extend(device(w, step, &e.device).await);
    }
    if e.tokens_unchanged {
        checks.push(tokens_unchanged(w, before));
    }
    rec.checks.extend(checks);
}

/// What came back, for a failed check: "got 400: {…}" or "no answer".
fn got(reply: Option<&Reply>) -> String {
    reply.map_or_else(
        || "no answer".to_string(),
        |r| format!("got {}: {}", r.status, short(&r.text, 160)),
    )
}

/// `status`, `error`, `error_description` and `body`: the answer itself.
fn reply_checks(e: &Expect, reply: Option<&Reply>) -> Vec<Check> {
    let mut checks = Vec::new();
    if let Some(s) = e.status {
        let ok = reply.is_some_and(|r| r.status == s);
        checks.push(Check::new(
            ok,
            format!("status {s}"),
            (!ok).then(|| got(reply)),
        ));
    }
    if let Some(err) = &e.error {
        let ok = reply.is_some_and(|r| {
            r.body.get("error").and_then(Value::as_str) == Some(err)
                || r.body
                    .get("errors")
                    .and_then(Value::as_array)
                    .is_some_and(|a| a.iter().any(|x| x == err))
        });
        checks.push(Check::new(
            ok,
            format!("error {err:?}"),
            (!ok).then(|| got(reply)),
        ));
    }
    if let Some(d) = &e.error_description {
        let ok = reply
            .is_some_and(|r| r.body.get("error_description").and_then(Value::as_str) == Some(d));
        checks.push(Check::new(
            ok,
            format!("error_description {d:?}"),
            (!ok).then(|| got(reply)),
        ));
    }
    for (path, want) in &e.body {
        let have = reply.and_then(|r| lookup(&r.body, path));
        let ok = have.as_ref().is_some_and(|h| same(h, want));
        let detail =
            (!ok).then(|| format!("found {}", have.map_or("nothing".into(), |h| h.to_string())));
        checks.push(Check::new(ok, format!("body {path} = {want}"), detail));
    }
    checks
}

/// `token` (new or the same) and `same_as` (the token `same_as` named before the step).
fn token_checks(w: &World<'_>, e: &Expect, out: &Outcome, same_as: Option<String>) -> Vec<Check> {
    let mut checks = Vec::new();
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
            (!ok).then(|| got(out.reply.as_ref())),
        ));
    }
    checks
}

/// `event` and `data`: the event a subscription received.
fn event_checks(e: &Expect, out: &Outcome) -> Vec<Check> {
    let mut checks = Vec::new();
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
    checks
}

/// `tokens_unchanged`: `/__mock/tokens` after the step equals the snapshot before it.
fn tokens_unchanged(w: &World<'_>, before: &Snapshot) -> Check {
    if !w.control.admin() {
        return Check::skipped("no token changed".into(), "needs /__mock/tokens");
    }
    let ok = *before == w.last;
    Check::new(
        ok,
        "no token changed".into(),
        (!ok).then(|| "the token list changed".into()),
    )
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
