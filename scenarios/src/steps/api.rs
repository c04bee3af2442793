//! The use-token steps: an actor sends an API request with its latest token or a named one.
//! `call`, `get`, `list`, `publish` and `use-token` (any request) may run in the background
//! until an `await` step; `subscribe` opens an event stream and waits for an event.

use std::time::Duration;

use serde_json::Value;
use spark_mock_sim::SimEvent;

use super::{answer, Outcome};
use crate::format::{Action, ApiStep};
use crate::http::{encode, Call, Reply};
use crate::transcript::StepRecord;
use crate::world::{Background, World};

/// How long a background request may take to reach the device before the runner moves on.
const REACH_PATIENCE: Duration = Duration::from_secs(10);

/// The actor's call with its token and user agent; the token and a label for transcripts.
pub(super) fn prepare(
    w: &World<'_>,
    api: &ApiStep,
    mut call: Call,
) -> Result<(Call, String), String> {
    let token = w
        .resolve(&api.token)
        .ok_or_else(|| format!("{} has no token yet (log in first)", api.actor))?;
    call.bearer = Some(token.clone());
    call.user_agent = w.sc.actor(&api.actor).map(|a| a.user_agent.clone());
    Ok((call, token))
}

pub(super) fn device_id(w: &World<'_>, name: &str) -> String {
    w.sc.device(name)
        .map_or_else(|| name.to_string(), |d| d.id.clone())
}

/// An API step: sent with the actor's token, at once or in the background.
pub(super) async fn request(
    w: &mut World<'_>,
    n: usize,
    action: &Action,
    rec: &mut StepRecord,
) -> Result<Outcome, String> {
    let p = planned(w, action)?;
    let (call, token) = prepare(w, p.api, p.call)?;
    let p = Planned { call, ..p };
    if let Some(label) = &p.api.background {
        background(w, n, label, p, token, rec).await;
        return Ok(Outcome::default());
    }
    let with = w.tokens.label(&token);
    let reply = w.send(&p.call).await?;
    used(w, &token, n, &reply);
    rec.status = Some(reply.status);
    rec.text = format!(
        "{} with {with} {}{}",
        p.doing,
        answer(&reply),
        detail(action, &reply)
    );
    Ok(Outcome {
        reply: Some(reply),
        ..Default::default()
    })
}

/// An API step's request, how the transcript tells it, and the device that will see it.
struct Planned<'s> {
    api: &'s ApiStep,
    call: Call,
    doing: String,
    watch: Option<&'s str>,
}

/// The request of `call`, `get`, `list`, `publish` or `use-token`.
fn planned<'s>(w: &World<'_>, action: &'s Action) -> Result<Planned<'s>, String> {
    Ok(match action {
        Action::Call {
            api,
            device,
            function,
            arg,
        } => {
            let path = format!("/v1/devices/{}/{}", device_id(w, device), encode(function));
            let mut call = Call::new("POST", path);
            call.form = vec![("arg".into(), arg.clone())];
            let doing = format!("{} calls {device}.{function}({})", api.actor, show_arg(arg));
            Planned {
                api,
                call,
                doing,
                watch: Some(device),
            }
        }
        Action::Get {
            api,
            device,
            variable,
        } => {
            let path = format!("/v1/devices/{}/{}", device_id(w, device), encode(variable));
            Planned {
                api,
                call: Call::new("GET", path),
                doing: format!("{} reads {device}.{variable}", api.actor),
                watch: Some(device),
            }
        }
        Action::List { api } => Planned {
            api,
            call: Call::new("GET", "/v1/devices"),
            doing: format!("{} lists devices", api.actor),
            watch: None,
        },
        Action::Publish {
            api,
            event,
            data,
            private,
        } => {
            let mut call = Call::new("POST", "/v1/devices/events");
            call.form = vec![
                ("name".into(), event.clone()),
                ("data".into(), data.clone()),
                ("private".into(), private.to_string()),
            ];
            let doing = format!("{} publishes {event:?} {data:?}", api.actor);
            Planned {
                api,
                call,
                doing,
                watch: None,
            }
        }
        Action::Request {
            api,
            method,
            path,
            form,
        } => {
            let mut call = Call::new(method, path.clone());
            call.form = form.clone();
            let doing = format!("{} sends {method} {path}", api.actor);
            Planned {
                api,
                call,
                doing,
                watch: None,
            }
        }
        _ => return Err("not an API step".into()),
    })
}

/// Starts the request as `label` and waits (a while) until the device has it, so the
/// next step runs while the call is in flight.
async fn background(
    w: &mut World<'_>,
    n: usize,
    label: &str,
    p: Planned<'_>,
    token: String,
    rec: &mut StepRecord,
) {
    let with = w.tokens.label(&token);
    let events = p.watch.and_then(|d| w.sims.handle(d)).map(|h| h.events());
    let http = w.http.clone();
    let call = p.call;
    let task = tokio::spawn(async move { http.send(&call).await });
    let reached = match events {
        Some(rx) => reached(rx).await,
        None => String::new(),
    };
    rec.text = format!(
        "{} with {with}, in the background as {label:?}{reached}",
        p.doing
    );
    let b = Background {
        task,
        started_at: n,
        actor: p.api.actor.clone(),
        token,
        what: p.doing,
    };
    w.background.insert(label.to_string(), b);
}

/// `"espresso"`, or nothing for an empty argument.
pub(super) fn show_arg(arg: &str) -> String {
    if arg.is_empty() {
        String::new()
    } else {
        format!("{arg:?}")
    }
}

/// Waits until the simulated core reports the request: " (the core has it)".
async fn reached(mut rx: tokio::sync::broadcast::Receiver<SimEvent>) -> String {
    let wait = async {
        while let Ok(e) = rx.recv().await {
            if matches!(
                e,
                SimEvent::FunctionCalled { .. } | SimEvent::VariableRead { .. }
            ) {
                return true;
            }
        }
        false
    };
    match tokio::time::timeout(REACH_PATIENCE, wait).await {
        Ok(true) => " (the core has received it)".into(),
        _ => " (the core has not seen it yet)".into(),
    }
}

/// Records a use of the token; a foreign cloud's refusal is the only sign it died.
pub(super) fn used(w: &mut World<'_>, token: &str, n: usize, reply: &Reply) {
    w.tokens.used(token, n, reply.status);
    let error = reply
        .body
        .get("error")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !w.control.admin() && matches!(error, "invalid_grant" | "invalid_token") {
        w.tokens.refused(token, n, error);
    }
}

/// The salient part of a successful answer.
fn detail(action: &Action, r: &Reply) -> String {
    if r.status != 200 {
        return String::new();
    }
    match action {
        Action::Call { .. } => r
            .body
            .get("return_value")
            .map(|v| format!(", return_value {v}")),
        Action::Get { .. } => r.body.get("result").map(|v| format!(", result {v}")),
        Action::List { .. } => r
            .body
            .as_array()
            .map(|a| format!(", {} device(s)", a.len())),
        _ => None,
    }
    .unwrap_or_default()
}

pub(super) async fn await_background(
    w: &mut World<'_>,
    label: &str,
    rec: &mut StepRecord,
) -> Result<Outcome, String> {
    let b = w
        .background
        .remove(label)
        .ok_or_else(|| format!("{label:?} was never started"))?;
    let patience = w.sc.device_timeout + Duration::from_secs(60);
    let reply = match tokio::time::timeout(patience, b.task).await {
        Ok(Ok(r)) => r?,
        Ok(Err(e)) => return Err(format!("{label:?} failed: {e}")),
        Err(_) => return Err(format!("{label:?} did not end within {patience:?}")),
    };
    used(w, &b.token, b.started_at, &reply);
    rec.status = Some(reply.status);
    rec.text = format!(
        "{} waits for {label:?} ({}, started at step {}) {}",
        b.actor,
        b.what,
        b.started_at,
        answer(&reply)
    );
    Ok(Outcome {
        reply: Some(reply),
        ..Default::default()
    })
}
