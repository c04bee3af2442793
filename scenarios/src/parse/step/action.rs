//! Each step kind's fields to its [`Action`]: one function per kind that has rules of its
//! own; the references they hold (actors, users, devices, tokens) are checked by the
//! [`Builder`].

use spark_mock_server::PolicyKind;

use super::builder::Builder;
use super::{Labels, BUILD_ACTOR};
use crate::format::{Action, OfflineFault, Scenario};
use crate::parse::cast::known_user;
use crate::raw::S;
use crate::ScenarioError;

/// The action of a step of `kind` (one of `KINDS`, its fields already checked).
pub(super) fn convert(
    b: &Builder,
    sc: &Scenario,
    labels: &mut Labels,
    kind: &str,
) -> Result<Action, ScenarioError> {
    let r = b.r;
    Ok(match kind {
        "signup" => Action::Signup { user: b.user(sc)? },
        "login" => login(b, sc, labels, false)?,
        "build-login" => login(b, sc, labels, true)?,
        "reset-token" => reset_token(b, sc, labels)?,
        "enable-mfa" => Action::EnableMfa {
            user: b.user(sc)?,
            otp: b.text(&r.otp),
            invalidate_tokens: r.invalidate_tokens.as_ref().is_some_and(|i| *i.get_ref()),
        },
        "disable-mfa" => Action::DisableMfa { user: b.user(sc)? },
        "call" => call(b, sc, labels)?,
        "get" => Action::Get {
            api: b.api(sc, labels)?,
            device: b.device(sc)?,
            variable: b.text(&r.variable),
        },
        "list" => Action::List {
            api: b.api(sc, labels)?,
        },
        "publish" => publish(b, sc, labels)?,
        "subscribe" => b.subscribe(sc, labels)?,
        "use-token" => request(b, sc, labels)?,
        "await" => await_background(b, labels)?,
        "change-policy" => change_policy(b)?,
        "advance-clock" => b.advance_clock()?,
        "device-offline" => device_offline(b, sc)?,
        "device-online" => Action::DeviceOnline {
            device: b.device(sc)?,
        },
        "reconnect" => reconnect(b, sc)?,
        "restart-server" => Action::RestartServer,
        _ => Action::Check,
    })
}

/// `login` or `build-login`: the actor (the implicit Build IDE for a `build-login` that
/// names none) and the user (the actor's own, or the only one declared).
fn login(
    b: &Builder,
    sc: &Scenario,
    labels: &mut Labels,
    build: bool,
) -> Result<Action, ScenarioError> {
    let r = b.r;
    let actor = match &r.actor {
        Some(a) => b.actor(sc, a)?,
        None => b.actor(sc, &S::new(b.span.clone(), BUILD_ACTOR.to_string()))?,
    };
    let user = match &r.user {
        Some(u) => known_user(b.ctx, sc, u)?,
        None => b.default_user(sc, &actor)?,
    };
    let save_as = b.save_as(labels)?;
    Ok(if build {
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
    })
}

fn reset_token(b: &Builder, sc: &Scenario, labels: &mut Labels) -> Result<Action, ScenarioError> {
    Ok(Action::ResetToken {
        user: b.user(sc)?,
        actor: (b.r.actor.as_ref())
            .map(|a| b.actor(sc, a).map(|a| a.name))
            .transpose()?,
        save_as: b.save_as(labels)?,
    })
}

fn call(b: &Builder, sc: &Scenario, labels: &mut Labels) -> Result<Action, ScenarioError> {
    let r = b.r;
    Ok(Action::Call {
        api: b.api(sc, labels)?,
        device: b.device(sc)?,
        function: b.text(&r.function),
        arg: r
            .arg
            .as_ref()
            .map(|a| a.get_ref().clone())
            .unwrap_or_default(),
    })
}

fn publish(b: &Builder, sc: &Scenario, labels: &mut Labels) -> Result<Action, ScenarioError> {
    let r = b.r;
    Ok(Action::Publish {
        api: b.api(sc, labels)?,
        event: b.text(&r.event),
        data: r
            .data
            .as_ref()
            .map(|d| d.get_ref().clone())
            .unwrap_or_default(),
        private: r.private.as_ref().is_some_and(|p| *p.get_ref()),
    })
}

/// `use-token`: any request, the method upper-cased.
fn request(b: &Builder, sc: &Scenario, labels: &mut Labels) -> Result<Action, ScenarioError> {
    let r = b.r;
    Ok(Action::Request {
        api: b.api(sc, labels)?,
        method: b.text(&r.method).to_ascii_uppercase(),
        path: b.text(&r.path),
        form: r
            .form
            .clone()
            .map(|f| f.into_iter().collect())
            .unwrap_or_default(),
    })
}

/// `await`: the label must name an earlier background step.
fn await_background(b: &Builder, labels: &Labels) -> Result<Action, ScenarioError> {
    let label = b.required(&b.r.label, "label")?;
    if !labels.background.contains(label.get_ref()) {
        return Err(b.ctx.err(
            &label.span(),
            format!(
                "no earlier step runs in the background as \"{}\"",
                label.get_ref()
            ),
        ));
    }
    Ok(Action::Await {
        label: label.get_ref().clone(),
    })
}

fn change_policy(b: &Builder) -> Result<Action, ScenarioError> {
    let p = b.required(&b.r.policy, "policy")?;
    let policy = p
        .get_ref()
        .parse::<PolicyKind>()
        .map_err(|e| b.ctx.err(&p.span(), e))?;
    Ok(Action::ChangePolicy { policy })
}

/// `device-offline`: `fault` is "offline" (the default) or "no_answer".
fn device_offline(b: &Builder, sc: &Scenario) -> Result<Action, ScenarioError> {
    let fault = match b.r.fault.as_ref().map(|f| (f.get_ref().as_str(), f.span())) {
        None | Some(("offline", _)) => OfflineFault::Offline,
        Some(("no_answer" | "no-answer", _)) => OfflineFault::NoAnswer,
        Some((other, fspan)) => {
            return Err(b.ctx.err(
                &fspan,
                format!("unknown fault \"{other}\" (expected \"offline\" or \"no_answer\")"),
            ))
        }
    };
    Ok(Action::DeviceOffline {
        device: b.device(sc)?,
        fault,
    })
}

/// `reconnect`: from another loopback address, 127.0.0.2 unless `from` says which.
fn reconnect(b: &Builder, sc: &Scenario) -> Result<Action, ScenarioError> {
    let from = match &b.r.from {
        Some(f) => f.get_ref().parse().map_err(|_| {
            b.ctx.err(
                &f.span(),
                format!("`from` must be an IP address, not \"{}\"", f.get_ref()),
            )
        })?,
        None => std::net::IpAddr::from([127, 0, 0, 2]),
    };
    Ok(Action::Reconnect {
        device: b.device(sc)?,
        from,
    })
}
