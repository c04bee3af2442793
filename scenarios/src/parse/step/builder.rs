//! Field by field: the pieces of a step that need checking (actors, users, devices, token
//! references, labels) and the steps with the most rules (`subscribe`, `advance-clock`).

use std::collections::BTreeSet;
use std::ops::Range;
use std::time::Duration;

use super::Labels;
use crate::format::{Action, Actor, ApiStep, Scenario, Stream, TokenRef};
use crate::parse::cast::known_user;
use crate::parse::Ctx;
use crate::raw::{RawStep, S};
use crate::ScenarioError;

/// One raw step being converted: its table's span for "missing" errors.
pub(super) struct Builder<'a> {
    pub ctx: &'a Ctx<'a>,
    pub span: Range<usize>,
    pub r: &'a RawStep,
    pub what: &'a str,
}

impl Builder<'_> {
    /// A required text field (its presence was checked against `KINDS`).
    pub(super) fn text(&self, v: &Option<S<String>>) -> String {
        v.as_ref().map(|s| s.get_ref().clone()).unwrap_or_default()
    }

    /// A field `KINDS` requires of this kind (so present), as "missing field" all the same.
    pub(super) fn required<'v, T>(
        &self,
        v: &'v Option<S<T>>,
        field: &str,
    ) -> Result<&'v S<T>, ScenarioError> {
        v.as_ref().ok_or_else(|| {
            self.ctx.err(
                &self.span,
                format!("{}: missing field `{field}`", self.what),
            )
        })
    }

    pub(super) fn user(&self, sc: &Scenario) -> Result<String, ScenarioError> {
        match &self.r.user {
            Some(u) => known_user(self.ctx, sc, u),
            None => Err(self
                .ctx
                .err(&self.span, format!("{}: missing field `user`", self.what))),
        }
    }

    pub(super) fn actor(&self, sc: &Scenario, a: &S<String>) -> Result<Actor, ScenarioError> {
        sc.actor(a.get_ref()).cloned().ok_or_else(|| {
            let known: Vec<&str> = sc.actors.iter().map(|a| a.name.as_str()).collect();
            self.ctx.err(
                &a.span(),
                format!(
                    "unknown actor \"{}\" (declared: {})",
                    a.get_ref(),
                    known.join(", ")
                ),
            )
        })
    }

    pub(super) fn default_user(
        &self,
        sc: &Scenario,
        actor: &Actor,
    ) -> Result<String, ScenarioError> {
        match (&actor.user, sc.users.as_slice()) {
            (Some(u), _) => Ok(u.clone()),
            (None, [only]) => Ok(only.email.clone()),
            _ => Err(self.ctx.err(
                &self.span,
                format!(
                    "{}: missing field `user` (actor \"{}\" names no user)",
                    self.what, actor.name
                ),
            )),
        }
    }

    pub(super) fn save_as(&self, labels: &mut Labels) -> Result<Option<String>, ScenarioError> {
        Ok(self.r.save_as.as_ref().map(|s| {
            labels.tokens.insert(s.get_ref().clone());
            s.get_ref().clone()
        }))
    }

    pub(super) fn device(&self, sc: &Scenario) -> Result<String, ScenarioError> {
        let d = self.required(&self.r.device, "device")?;
        match sc.device(d.get_ref()) {
            Some(dev) => Ok(dev.name.clone()),
            None => Err(self.ctx.err(
                &d.span(),
                format!(
                    "unknown device \"{}\" (declare it in a [[device]] table)",
                    d.get_ref()
                ),
            )),
        }
    }

    pub(super) fn api(&self, sc: &Scenario, labels: &mut Labels) -> Result<ApiStep, ScenarioError> {
        let actor = self.actor(sc, self.required(&self.r.actor, "actor")?)?;
        let token = match &self.r.token {
            Some(t) => token_ref(self.ctx, sc, &labels.tokens, t)?,
            None => TokenRef::Actor(actor.name.clone()),
        };
        let background = self.r.background.as_ref().map(|b| {
            labels.background.insert(b.get_ref().clone());
            b.get_ref().clone()
        });
        if let (Some(_), Some(_)) = (&background, &self.r.expect) {
            return Err(self.ctx.err(
                &self.span,
                "a background step is checked by its `await` step: move `expect` there",
            ));
        }
        Ok(ApiStep {
            actor: actor.name,
            token,
            background,
        })
    }

    pub(super) fn subscribe(
        &self,
        sc: &Scenario,
        labels: &mut Labels,
    ) -> Result<Action, ScenarioError> {
        let r = self.r;
        let device = r.device.as_ref().map(|_| self.device(sc)).transpose()?;
        let stream = match (
            r.stream.as_ref().map(|s| (s.get_ref().as_str(), s.span())),
            device,
        ) {
            (None | Some(("mine", _)), None) => Stream::Mine,
            (Some(("all", _)), None) => Stream::All,
            (None | Some(("device", _)), Some(d)) => Stream::Device(d),
            (Some(("device", sspan)), None) => {
                return Err(self.ctx.err(&sspan, "stream \"device\" needs `device`"))
            }
            (Some((other, sspan)), _) => {
                return Err(self.ctx.err(
                    &sspan,
                    format!(
                        "unknown stream \"{other}\" (expected \"mine\", \"all\" or \"device\")"
                    ),
                ))
            }
        };
        let within = match &r.within_s {
            Some(w) if !(0.01..=600.0).contains(w.get_ref()) => {
                return Err(self
                    .ctx
                    .err(&w.span(), "within_s must be between 0.01 and 600"))
            }
            Some(w) => Duration::from_secs_f64(*w.get_ref()),
            None => Duration::from_secs(10),
        };
        Ok(Action::Subscribe {
            api: self.api(sc, labels)?,
            stream,
            prefix: self.text(&r.event),
            publish: r.publish.as_ref().map(|p| p.get_ref().clone()),
            within,
        })
    }

    pub(super) fn advance_clock(&self) -> Result<Action, ScenarioError> {
        let r = self.r;
        let parts = [
            (&r.days, 86_400),
            (&r.hours, 3_600),
            (&r.minutes, 60),
            (&r.secs, 1),
        ];
        if parts.iter().all(|(v, _)| v.is_none()) {
            return Err(self.ctx.err(
                &self.span,
                "step \"advance-clock\": missing field `days` (or `hours`, `minutes`, `secs`)",
            ));
        }
        let secs = parts
            .iter()
            .filter_map(|(v, unit)| v.as_ref().map(|v| v.get_ref().saturating_mul(*unit)))
            .fold(0i64, i64::saturating_add);
        Ok(Action::AdvanceClock { secs })
    }
}

/// A token reference: an actor (its latest token), a `save_as` label of an earlier step, or
/// a literal 40-hex token.
pub(crate) fn token_ref(
    ctx: &Ctx,
    sc: &Scenario,
    saved: &BTreeSet<String>,
    t: &S<String>,
) -> Result<TokenRef, ScenarioError> {
    let name = t.get_ref();
    if saved.contains(name) {
        Ok(TokenRef::Saved(name.clone()))
    } else if sc.actor(name).is_some() {
        Ok(TokenRef::Actor(name.clone()))
    } else if name.len() == 40 && name.bytes().all(|c| c.is_ascii_hexdigit()) {
        Ok(TokenRef::Literal(name.to_ascii_lowercase()))
    } else {
        Err(ctx.err(
            &t.span(),
            format!(
                "unknown token \"{name}\" (expected an actor, a `save_as` name of an earlier step, or 40 hex characters)"
            ),
        ))
    }
}
