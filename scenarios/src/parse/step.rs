//! One `[[step]]` table to a [`Step`]: its kind, the fields that kind takes (required and
//! optional: any other is an error), references checked, and its `expect`.

use std::collections::BTreeSet;

use spark_mock_server::PolicyKind;

use super::{known_user, Ctx};
use crate::format::{Action, Actor, OfflineFault, Scenario, Step};
use crate::raw::{RawStep, S};
use crate::ScenarioError;

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
    let Some(action) = &r.action else {
        return Err(ctx.err(&span, "step: missing field `do` (which step this is)"));
    };
    let kind = action.get_ref().as_str();
    let Some((_, required, optional)) = KINDS.iter().find(|(k, ..)| *k == kind) else {
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
            return Err(ctx.err(&span, format!("step \"{kind}\": missing field `{field}`")));
        }
    }
    let what = format!("step \"{kind}\"");
    let b = Builder {
        ctx,
        span: span.clone(),
        r,
        what: &what,
    };
    let action = match kind {
        "signup" => Action::Signup { user: b.user(sc)? },
        "login" | "build-login" => {
            let build = kind == "build-login";
            let actor = match &r.actor {
                Some(a) => b.actor(sc, a)?,
                None => b.actor(sc, &S::new(span.clone(), BUILD_ACTOR.to_string()))?,
            };
            let user = match &r.user {
                Some(u) => known_user(ctx, sc, u)?,
                None => b.default_user(sc, &actor)?,
            };
            let save_as = b.save_as(labels)?;
            if build {
                Action::BuildLogin {
                    actor: actor.name,
                    user,
                    save_as,
                }
            } else {
                Action::Login {
                    actor: actor.name,
                    user,
                    save_as,
                    otp: r.otp.as_ref().map(|o| o.get_ref().clone()),
                }
            }
        }
        "reset-token" => Action::ResetToken {
            user: b.user(sc)?,
            actor: r
                .actor
                .as_ref()
                .map(|a| b.actor(sc, a).map(|a| a.name))
                .transpose()?,
            save_as: b.save_as(labels)?,
        },
        "enable-mfa" => Action::EnableMfa {
            user: b.user(sc)?,
            otp: b.text(&r.otp),
            invalidate_tokens: r.invalidate_tokens.as_ref().is_some_and(|i| *i.get_ref()),
        },
        "disable-mfa" => Action::DisableMfa { user: b.user(sc)? },
        "call" => Action::Call {
            api: b.api(sc, labels)?,
            device: b.device(sc)?,
            function: b.text(&r.function),
            arg: r
                .arg
                .as_ref()
                .map(|a| a.get_ref().clone())
                .unwrap_or_default(),
        },
        "get" => Action::Get {
            api: b.api(sc, labels)?,
            device: b.device(sc)?,
            variable: b.text(&r.variable),
        },
        "list" => Action::List {
            api: b.api(sc, labels)?,
        },
        "publish" => Action::Publish {
            api: b.api(sc, labels)?,
            event: b.text(&r.event),
            data: r
                .data
                .as_ref()
                .map(|d| d.get_ref().clone())
                .unwrap_or_default(),
            private: r.private.as_ref().is_some_and(|p| *p.get_ref()),
        },
        "subscribe" => b.subscribe(sc, labels)?,
        "use-token" => Action::Request {
            api: b.api(sc, labels)?,
            method: b.text(&r.method).to_ascii_uppercase(),
            path: b.text(&r.path),
            form: r
                .form
                .clone()
                .map(|f| f.into_iter().collect())
                .unwrap_or_default(),
        },
        "await" => {
            let label = r.label.as_ref().expect("required");
            if !labels.background.contains(label.get_ref()) {
                return Err(ctx.err(
                    &label.span(),
                    format!(
                        "no earlier step runs in the background as \"{}\"",
                        label.get_ref()
                    ),
                ));
            }
            Action::Await {
                label: label.get_ref().clone(),
            }
        }
        "change-policy" => {
            let p = r.policy.as_ref().expect("required");
            let policy = p
                .get_ref()
                .parse::<PolicyKind>()
                .map_err(|e| ctx.err(&p.span(), e))?;
            Action::ChangePolicy { policy }
        }
        "advance-clock" => b.advance_clock()?,
        "device-offline" => {
            let fault = match r.fault.as_ref().map(|f| (f.get_ref().as_str(), f.span())) {
                None | Some(("offline", _)) => OfflineFault::Offline,
                Some(("no_answer" | "no-answer", _)) => OfflineFault::NoAnswer,
                Some((other, fspan)) => {
                    return Err(ctx.err(
                        &fspan,
                        format!(
                            "unknown fault \"{other}\" (expected \"offline\" or \"no_answer\")"
                        ),
                    ))
                }
            };
            Action::DeviceOffline {
                device: b.device(sc)?,
                fault,
            }
        }
        "device-online" => Action::DeviceOnline {
            device: b.device(sc)?,
        },
        "reconnect" => {
            let from = match &r.from {
                Some(f) => f.get_ref().parse().map_err(|_| {
                    ctx.err(
                        &f.span(),
                        format!("`from` must be an IP address, not \"{}\"", f.get_ref()),
                    )
                })?,
                None => std::net::IpAddr::from([127, 0, 0, 2]),
            };
            Action::Reconnect {
                device: b.device(sc)?,
                from,
            }
        }
        "restart-server" => Action::RestartServer,
        _ => Action::Check,
    };
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
