//! A step's `expect` table: status, error, body fields, token changes, token validity and
//! history, events and device fields, each allowed only where it can be checked.

use std::collections::BTreeSet;

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
    step_span: &std::ops::Range<usize>,
) -> Result<Expect, ScenarioError> {
    let kind = action.kind();
    let tref = |t: &S<String>| token_ref(ctx, sc, saved, t);
    let logs_in = matches!(
        action,
        Action::Login { .. } | Action::BuildLogin { .. } | Action::ResetToken { .. }
    );
    let only = |ok: bool, span: std::ops::Range<usize>, field: &str, where_: &str| {
        if ok {
            Ok(())
        } else {
            Err(ctx.err(
                &span,
                format!("`expect.{field}` does not apply to step \"{kind}\" (only to {where_})"),
            ))
        }
    };
    let token = match &r.token {
        Some(t) => {
            only(
                logs_in,
                t.span(),
                "token",
                "login, build-login and reset-token",
            )?;
            Some(match t.get_ref().as_str() {
                "new" => TokenChange::New,
                "same" => TokenChange::Same,
                other => {
                    return Err(ctx.err(
                        &t.span(),
                        format!("`expect.token` must be \"new\" or \"same\", not \"{other}\""),
                    ))
                }
            })
        }
        None => None,
    };
    if let Some(s) = &r.same_as {
        only(
            logs_in,
            s.span(),
            "same_as",
            "login, build-login and reset-token",
        )?;
    }
    let subscribe = matches!(action, Action::Subscribe { .. });
    for (v, field) in [(&r.event, "event"), (&r.data, "data")] {
        if let Some(v) = v {
            only(subscribe, v.span(), field, "subscribe")?;
        }
    }
    if r.device.is_some() {
        only(
            step.device.is_some(),
            step_span.clone(),
            "device",
            "steps that name a device",
        )?;
    }
    let refs = |list: &Option<S<Vec<S<String>>>>| -> Result<Vec<TokenRef>, ScenarioError> {
        list.as_ref()
            .map(|l| l.get_ref().iter().map(tref).collect())
            .unwrap_or_else(|| Ok(Vec::new()))
    };
    let mut history = Vec::new();
    for (name, h) in r.history.iter().flatten() {
        let key = S::new(step_span.clone(), name.clone());
        let hr = h;
        if let Some(s) = &hr.status {
            if !["valid", "invalidated", "expired"].contains(&s.get_ref().as_str()) {
                return Err(ctx.err(
                    &s.span(),
                    "history `status` must be \"valid\", \"invalidated\" or \"expired\"",
                ));
            }
        }
        let text = |v: &Option<S<String>>| v.as_ref().map(|s| s.get_ref().clone());
        history.push((
            tref(&key)?,
            HistoryExpect {
                status: text(&hr.status),
                death: text(&hr.death),
                client: text(&hr.client),
                grant: text(&hr.grant),
                policy: text(&hr.policy),
                replaced_by: hr.replaced_by.as_ref().map(tref).transpose()?,
                story: text(&hr.story),
            },
        ));
    }
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
