//! One `[[step]]` table to a [`Step`]: its kind, the fields that kind takes (required and
//! optional: any other is an error), its action (`action`, one function per kind),
//! references checked (`builder`), and its `expect` (`expect`).

use std::collections::BTreeSet;
use std::ops::Range;

use super::Ctx;
use crate::format::{Action, Actor, Scenario, Step};
use crate::raw::{RawStep, S};
use crate::ScenarioError;

mod action;
mod builder;
mod expect;

pub(crate) use builder::token_ref;
use builder::Builder;

/// Every step kind with the fields it requires and the ones it may take.
pub(crate) const KINDS: &[(&str, &[&str], &[&str])] = &[
    ("signup", &["user"], &[]),
    ("login", &["actor"], &["user", "save_as", "otp"]),
    ("build-login", &[], &["actor", "user", "save_as"]),
    ("reset-token", &["user"], &["actor", "save_as"]),
    (
        "call",
        &["actor", "device", "function"],
        &["arg", "token", "background"],
    ),
    (
        "get",
        &["actor", "device", "variable"],
        &["token", "background"],
    ),
    ("list", &["actor"], &["token", "background"]),
    (
        "publish",
        &["actor", "event"],
        &["data", "private", "token", "background"],
    ),
    (
        "subscribe",
        &["actor", "event"],
        &["stream", "device", "publish", "within_s", "token"],
    ),
    (
        "use-token",
        &["actor", "method", "path"],
        &["form", "token", "background"],
    ),
    ("await", &["label"], &[]),
    ("change-policy", &["policy"], &[]),
    ("advance-clock", &[], &["days", "hours", "minutes", "secs"]),
    ("device-offline", &["device"], &["fault"]),
    ("device-online", &["device"], &[]),
    ("reconnect", &["device"], &["from"]),
    ("restart-server", &[], &[]),
    ("enable-mfa", &["user", "otp"], &["invalidate_tokens"]),
    ("disable-mfa", &["user"], &[]),
    ("check", &[], &[]),
];

/// Names steps give to tokens (`save_as`) and to background requests (`background`).
#[derive(Default)]
pub(crate) struct Labels {
    tokens: BTreeSet<String>,
    background: BTreeSet<String>,
}

/// The implicit Build IDE actor of `build-login` steps that name none.
pub const BUILD_ACTOR: &str = "build";

pub(crate) fn convert(
    ctx: &Ctx,
    sc: &Scenario,
    labels: &mut Labels,
    s: &S<RawStep>,
) -> Result<Step, ScenarioError> {
    let span = s.span();
    let r = s.get_ref();
    let kind = kind(ctx, r, &span)?;
    let what = format!("step \"{kind}\"");
    let b = Builder {
        ctx,
        span: span.clone(),
        r,
        what: &what,
    };
    let action = action::convert(&b, sc, labels, kind)?;
    let expect = match &r.expect {
        Some(e) => expect::convert(ctx, sc, &labels.tokens, &action, r, e, &span)?,
        None => Default::default(),
    };
    if matches!(action, Action::Check) && expect.is_empty() {
        return Err(ctx.err(&span, "step \"check\": missing field `expect`"));
    }
    Ok(Step {
        line: ctx.line(&span),
        note: r.note.as_ref().map(|n| n.get_ref().trim().to_string()),
        action,
        expect,
    })
}

/// The step's kind (`do`), once its fields are the ones that kind requires and takes.
fn kind(ctx: &Ctx, r: &RawStep, span: &Range<usize>) -> Result<&'static str, ScenarioError> {
    let Some(action) = &r.action else {
        return Err(ctx.err(span, "step: missing field `do` (which step this is)"));
    };
    let kind = action.get_ref().as_str();
    let Some((kind, required, optional)) = KINDS.iter().find(|(k, ..)| *k == kind) else {
        let all: Vec<&str> = KINDS.iter().map(|(k, ..)| *k).collect();
        return Err(ctx.err(
            &action.span(),
            format!(
                "unknown step \"{kind}\" (expected one of {})",
                all.join(", ")
            ),
        ));
    };
    let present = r.present(span.clone());
    for (field, fspan) in &present {
        if !required.contains(field) && !optional.contains(field) {
            return Err(ctx.err(fspan, format!("step \"{kind}\" does not take `{field}`")));
        }
    }
    for field in *required {
        if !present.iter().any(|(f, _)| f == field) {
            return Err(ctx.err(span, format!("step \"{kind}\": missing field `{field}`")));
        }
    }
    Ok(kind)
}

/// Whether a step names the actor `build` or is a `build-login` without an actor.
pub(crate) fn wants_build_actor(steps: &[S<RawStep>]) -> bool {
    steps.iter().any(|s| {
        let r = s.get_ref();
        let named = r.actor.as_ref().is_some_and(|a| a.get_ref() == BUILD_ACTOR);
        let build = r
            .action
            .as_ref()
            .is_some_and(|a| a.get_ref() == "build-login");
        named || (build && r.actor.is_none())
    })
}

/// `build`: the Build IDE, for files that use it without declaring it.
pub(crate) fn build_actor(sc: &Scenario) -> Actor {
    Actor {
        name: BUILD_ACTOR.to_string(),
        client: sc.build_client.clone(),
        secret: sc.build_client.clone(),
        user_agent: "Mozilla/5.0 (Spark Build IDE)".to_string(),
        user: None,
    }
}
