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

pub(super) async fn request(
    w: &mut World<'_>,
    n: usize,
    action: &Action,
    rec: &mut StepRecord,
) -> Result<Outcome, String> {
    let (api, call, doing, watch) = match action {
        Action::Call {
            api,
            device,
            function,
            arg,
        } => {
            let mut c = Call::new(
                "POST",
                format!("/v1/devices/{}/{}", device_id(w, device), encode(function)),
            );
            c.form = vec![("arg".into(), arg.clone())];
            (
                api,
                c,
                format!("{} calls {device}.{function}({})", api.actor, show_arg(arg)),
                Some(device),
            )
        }
        Action::Get {
            api,
            device,
            variable,
        } => {
            let c = Call::new(
                "GET",
                format!("/v1/devices/{}/{}", device_id(w, device), encode(variable)),
            );
            (
                api,
                c,
                format!("{} reads {device}.{variable}", api.actor),
                Some(device),
            )
        }
        Action::List { api } => (
            api,
            Call::new("GET", "/v1/devices"),
            format!("{} lists devices", api.actor),
            None,
        ),
        Action::Publish {
            api,
            event,
            data,
            private,
        } => {
            let mut c = Call::new("POST", "/v1/devices/events");
            c.form = vec![
                ("name".into(), event.clone()),
                ("data".into(), data.clone()),
                ("private".into(), private.to_string()),
            ];
            (
                api,
                c,
                format!("{} publishes {event:?} {data:?}", api.actor),
                None,
            )
        }
        Action::Request {
            api,
            method,
            path,
            form,
        } => {
            let mut c = Call::new(method, path.clone());
            c.form = form.clone();
            (api, c, format!("{} sends {method} {path}", api.actor), None)
        }
        _ => return Err("not an API step".into()),
    };
    let (call, token) = prepare(w, api, call)?;
    let with = w.tokens.label(&token);
    if let Some(label) = &api.background {
        let events = watch.and_then(|d| w.sims.handle(d)).map(|h| h.events());
        let http = w.http.clone();
        let task = tokio::spawn(async move { http.send(&call).await });
        let reached = match events {
            Some(rx) => reached(rx).await,
            None => String::new(),
        };
        rec.text = format!("{doing} with {with}, in the background as {label:?}{reached}");
        let b = Background {
            task,
            started_at: n,
            actor: api.actor.clone(),
            token,
            what: doing,
        };
        w.background.insert(label.clone(), b);
        return Ok(Outcome::default());
    }
    let reply = w.send(&call).await?;
    used(w, &token, n, &reply);
    rec.status = Some(reply.status);
    rec.text = format!(
        "{doing} with {with} {}{}",
        answer(&reply),
        detail(action, &reply)
    );
    Ok(Outcome {
        reply: Some(reply),
        ..Default::default()
    })
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
