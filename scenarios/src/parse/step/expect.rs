//! A step's `expect` table: status, error, body fields, token changes, token validity and
//! history, events and device fields, each allowed only where it can be checked.

use std::collections::BTreeSet;
use std::ops::Range;

use serde_json::Value;

use super::token_ref;
use crate::format::{Action, Expect, HistoryExpect, Scenario, TokenChange, TokenRef};
use crate::parse::Ctx;
use crate::raw::{RawExpect, RawStep, S};
use crate::ScenarioError;

pub(crate) fn convert(
    ctx: &Ctx,
    sc: &Scenario,
    saved: &BTreeSet<String>,
    action: &Action,
    step: &RawStep,
    r: &RawExpect,
    step_span: &Range<usize>,
) -> Result<Expect, ScenarioError> {
    let tref = |t: &S<String>| token_ref(ctx, sc, saved, t);
    let refs = |list: &Option<S<Vec<S<String>>>>| -> Result<Vec<TokenRef>, ScenarioError> {
        list.as_ref()
            .map(|l| l.get_ref().iter().map(tref).collect())
            .unwrap_or_else(|| Ok(Vec::new()))
    };
    let token = token_change(ctx, action, r)?;
    applies(ctx, action, step, r, step_span)?;
    let history = history(ctx, &tref, r, step_span)?;
    Ok(Expect {
        status: r.status.as_ref().map(|s| *s.get_ref()),
        error: r.error.as_ref().map(|s| s.get_ref().clone()),
        error_description: r.error_description.as_ref().map(|s| s.get_ref().clone()),
        body: fields(&r.body),
        token,
        same_as: r.same_as.as_ref().map(tref).transpose()?,
        valid: refs(&r.valid)?,
        invalid: refs(&r.invalid)?,
        history,
        event: r.event.as_ref().map(|s| s.get_ref().clone()),
        event_data: r.data.as_ref().map(|s| s.get_ref().clone()),
        device: fields(&r.device),
        tokens_unchanged: r.tokens_unchanged.as_ref().is_some_and(|t| *t.get_ref()),
    })
}

/// Whether a step makes a token, so `expect.token` and `expect.same_as` apply to it.
fn logs_in(action: &Action) -> bool {
    matches!(
        action,
        Action::Login { .. } | Action::BuildLogin { .. } | Action::ResetToken { .. }
    )
}

/// `Ok` when `ok`, else "`expect.FIELD` does not apply to step KIND (only to WHERE_)".
fn only(
    ctx: &Ctx,
    action: &Action,
    ok: bool,
    span: &Range<usize>,
    field: &str,
    where_: &str,
) -> Result<(), ScenarioError> {
    if ok {
        return Ok(());
    }
    let kind = action.kind();
    Err(ctx.err(
        span,
        format!("`expect.{field}` does not apply to step \"{kind}\" (only to {where_})"),
    ))
}

/// `expect.token`: "new" or "same", on steps that make a token.
fn token_change(
    ctx: &Ctx,
    action: &Action,
    r: &RawExpect,
) -> Result<Option<TokenChange>, ScenarioError> {
    let Some(t) = &r.token else {
        return Ok(None);
    };
    let where_ = "login, build-login and reset-token";
    only(ctx, action, logs_in(action), &t.span(), "token", where_)?;
    match t.get_ref().as_str() {
        "new" => Ok(Some(TokenChange::New)),
        "same" => Ok(Some(TokenChange::Same)),
        other => Err(ctx.err(
            &t.span(),
            format!("`expect.token` must be \"new\" or \"same\", not \"{other}\""),
        )),
    }
}

/// The other fields that only some steps can check: `same_as` (steps that make a token),
/// `event` and `data` (subscribe), `device` (steps that name a device).
fn applies(
    ctx: &Ctx,
    action: &Action,
    step: &RawStep,
    r: &RawExpect,
    step_span: &Range<usize>,
) -> Result<(), ScenarioError> {
    if let Some(s) = &r.same_as {
        let where_ = "login, build-login and reset-token";
        only(ctx, action, logs_in(action), &s.span(), "same_as", where_)?;
    }
    let subscribe = matches!(action, Action::Subscribe { .. });
    for (v, field) in [(&r.event, "event"), (&r.data, "data")] {
        if let Some(v) = v {
            only(ctx, action, subscribe, &v.span(), field, "subscribe")?;
        }
    }
    if r.device.is_some() {
        let named = step.device.is_some();
        only(
            ctx,
            action,
            named,
            step_span,
            "device",
            "steps that name a device",
        )?;
    }
    Ok(())
}

/// `expect.history`: per token reference, what `/__mock/tokens/<token>` must say.
fn history(
    ctx: &Ctx,
    tref: &dyn Fn(&S<String>) -> Result<TokenRef, ScenarioError>,
    r: &RawExpect,
    step_span: &Range<usize>,
) -> Result<Vec<(TokenRef, HistoryExpect)>, ScenarioError> {
    let text = |v: &Option<S<String>>| v.as_ref().map(|s| s.get_ref().clone());
    let mut history = Vec::new();
    for (name, h) in r.history.iter().flatten() {
        let key = S::new(step_span.clone(), name.clone());
        if let Some(s) = &h.status {
            if !["valid", "invalidated", "expired"].contains(&s.get_ref().as_str()) {
                return Err(ctx.err(
                    &s.span(),
                    "history `status` must be \"valid\", \"invalidated\" or \"expired\"",
                ));
            }
        }
        history.push((
            tref(&key)?,
            HistoryExpect {
                status: text(&h.status),
                death: text(&h.death),
                client: text(&h.client),
                grant: text(&h.grant),
                policy: text(&h.policy),
                replaced_by: h.replaced_by.as_ref().map(tref).transpose()?,
                story: text(&h.story),
            },
        ));
    }
    Ok(history)
}

/// A table of dotted paths (`"coreInfo.connected" = true`, or nested tables) as JSON values.
fn fields(t: &Option<toml::Table>) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    if let Some(t) = t {
        flatten("", t, &mut out);
    }
    out
}

fn flatten(prefix: &str, t: &toml::Table, out: &mut Vec<(String, Value)>) {
    for (k, v) in t {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(inner) => flatten(&path, inner, out),
            other => out.push((path, toml_to_json(other))),
        }
    }
}

pub(crate) fn toml_to_json(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::from(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => Value::from(*f),
        toml::Value::Boolean(b) => Value::from(*b),
        toml::Value::Datetime(d) => Value::from(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
    }
}
