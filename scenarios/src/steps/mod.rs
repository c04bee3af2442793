//! The steps, by family: `account` (signup, logins, Reset Token), `api` (use-token steps:
//! call, get, list, publish, subscribe, any request, and background requests), `control`
//! (policy, clock, devices, restart), and `expect` (the checks).

mod account;
mod api;
mod build;
mod control;
pub(crate) mod expect;
mod subscribe;

use crate::format::{Action, Scenario, Step};
use crate::http::Reply;
use crate::transcript::StepRecord;
use crate::world::World;

/// What a step produced, for its checks.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    pub reply: Option<Reply>,
    /// The token a login or Reset Token returned, and whether it was new to the run.
    pub token: Option<(String, bool)>,
    /// The event a subscription received: name and data.
    pub event: Option<(String, String)>,
}

pub(crate) async fn run(
    w: &mut World<'_>,
    n: usize,
    step: &Step,
    rec: &mut StepRecord,
) -> Result<Outcome, String> {
    match &step.action {
        Action::Signup { user } => account::signup(w, user, rec).await,
        Action::Login {
            actor,
            user,
            save_as,
            otp,
        } => {
            let how = account::How::Password {
                otp: otp.as_deref(),
            };
            account::login(w, n, actor, user, save_as.as_deref(), how, rec).await
        }
        Action::BuildLogin {
            actor,
            user,
            save_as,
        } => {
            account::login(
                w,
                n,
                actor,
                user,
                save_as.as_deref(),
                account::How::Build,
                rec,
            )
            .await
        }
        Action::ResetToken {
            user,
            actor,
            save_as,
        } => account::reset_token(w, n, user, actor.as_deref(), save_as.as_deref(), rec).await,
        Action::Subscribe { .. } => subscribe::subscribe(w, n, step, rec).await,
        Action::Await { label } => api::await_background(w, label, rec).await,
        Action::Call { .. }
        | Action::Get { .. }
        | Action::List { .. }
        | Action::Publish { .. }
        | Action::Request { .. } => api::request(w, n, &step.action, rec).await,
        _ => control::run(w, &step.action, rec).await,
    }
}

/// Steps after which "no token changed" / "no token died" is worth saying.
pub(crate) fn quiet_on_tokens(action: &Action) -> bool {
    matches!(
        action,
        Action::Login { .. }
            | Action::BuildLogin { .. }
            | Action::ResetToken { .. }
            | Action::ChangePolicy { .. }
            | Action::AdvanceClock { .. }
            | Action::DeviceOffline { .. }
            | Action::DeviceOnline { .. }
            | Action::Reconnect { .. }
            | Action::RestartServer
            | Action::EnableMfa { .. }
            | Action::DisableMfa { .. }
    )
}

/// What a step would have done, for steps that are skipped.
pub(crate) fn plan(sc: &Scenario, action: &Action) -> String {
    match action {
        Action::Signup { user } => format!("{user} signs up"),
        Action::Login { actor, user, .. } => format!("{} logs in as {user}", who(sc, actor)),
        Action::BuildLogin { actor, user, .. } => format!("{actor} logs into Build as {user}"),
        Action::ResetToken { user, .. } => {
            format!("{user} presses Reset Token in the Build settings")
        }
        Action::Call {
            api,
            device,
            function,
            arg,
        } => {
            format!(
                "{} calls {device}.{function}({})",
                api.actor,
                api::show_arg(arg)
            )
        }
        Action::Get {
            api,
            device,
            variable,
        } => format!("{} reads {device}.{variable}", api.actor),
        Action::List { api } => format!("{} lists devices", api.actor),
        Action::Publish { api, event, .. } => format!("{} publishes {event:?}", api.actor),
        Action::Subscribe { api, prefix, .. } => format!("{} subscribes to {prefix:?}", api.actor),
        Action::Request {
            api, method, path, ..
        } => format!("{} sends {method} {path}", api.actor),
        Action::Await { label } => format!("waits for {label:?}"),
        Action::ChangePolicy { policy } => format!("the token policy becomes {policy}"),
        Action::EnableMfa { user, .. } => format!("{user} turns on multi-factor login"),
        Action::DisableMfa { user } => format!("{user} turns off multi-factor login"),
        Action::AdvanceClock { secs } => format!("the clock moves {} forward", duration(*secs)),
        Action::DeviceOffline { device, .. } => format!("{device} goes offline"),
        Action::DeviceOnline { device } => format!("{device} comes back online"),
        Action::Reconnect { device, from } => format!("{device} reconnects from {from}"),
        Action::RestartServer => "the server restarts".into(),
        Action::Check => "check".into(),
    }
}

/// "phone (spark-ios)".
pub(crate) fn who(sc: &Scenario, actor: &str) -> String {
    match sc.actor(actor) {
        Some(a) => format!("{} ({})", a.name, a.client),
        None => actor.to_string(),
    }
}

/// "90 days", "2 hours", "1 day 3 h", "45 s".
pub(crate) fn duration(secs: i64) -> String {
    let (d, rest) = (secs / 86_400, secs % 86_400);
    match (d, rest) {
        (0, s) if s % 3600 == 0 => format!("{} h", s / 3600),
        (0, s) => format!("{s} s"),
        (1, 0) => "1 day".into(),
        (d, 0) => format!("{d} days"),
        (d, s) => format!("{d} days {s} s"),
    }
}

/// "→ 200" or "→ 400 invalid_grant: The access token provided is invalid."
pub(crate) fn answer(r: &Reply) -> String {
    match r.error_summary() {
        Some(e) if r.status >= 300 => format!("→ {} {e}", r.status),
        _ => format!("→ {}", r.status),
    }
}
