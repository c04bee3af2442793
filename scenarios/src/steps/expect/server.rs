//! The checks that ask the server: whether a token works, what its history says, what the
//! cloud knows about a device. Through `/__mock` when it answers; otherwise validity is
//! probed with `GET /v1/devices` and the rest is skipped.

use serde_json::Value;

use super::{lookup, ref_name, same};
use crate::format::{HistoryExpect, Step, TokenRef};
use crate::http::Call;
use crate::transcript::Check;
use crate::world::World;

/// Whether a token works: its history's status through `/__mock`, else a probe request.
pub(super) async fn validity(w: &World<'_>, r: &TokenRef, want_valid: bool) -> Check {
    let word = if want_valid { "valid" } else { "invalid" };
    let Some(token) = w.resolve(r) else {
        return Check::new(
            false,
            format!("{} token is {word}", ref_name(r)),
            Some("there is no such token yet".into()),
        );
    };
    let what = format!("{} is {word}", w.tokens.label(&token));
    if w.control.admin() {
        return match w.http.admin_json(&format!("/__mock/tokens/{token}")).await {
            Ok(h) => {
                let status = h
                    .get("status")
                    .and_then(Value::as_str)
                    .unwrap_or("?")
                    .to_string();
                let ok = (status == "valid") == want_valid;
                let death = h
                    .get("death")
                    .and_then(Value::as_str)
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default();
                Check::new(ok, what, (!ok).then(|| format!("it is {status}{death}")))
            }
            Err(e) => Check::new(false, what, Some(e)),
        };
    }
    let mut probe = Call::new("GET", "/v1/devices");
    probe.bearer = Some(token);
    match w.http.send(&probe).await {
        Ok(reply) => {
            let ok = (reply.status == 200) == want_valid;
            Check::new(
                ok,
                format!("{what} (probed with GET /v1/devices)"),
                (!ok).then(|| format!("GET /v1/devices answered {}", reply.status)),
            )
        }
        Err(e) => Check::new(false, what, Some(e)),
    }
}

pub(super) async fn history(w: &World<'_>, r: &TokenRef, h: &HistoryExpect) -> Check {
    let Some(token) = w.resolve(r) else {
        return Check::new(
            false,
            format!("history of {} token", ref_name(r)),
            Some("there is no such token yet".into()),
        );
    };
    let label = w.tokens.label(&token);
    let mut wants = Vec::new();
    let pairs = [
        ("status", &h.status),
        ("client", &h.client),
        ("policy", &h.policy),
    ];
    wants.extend(
        pairs
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k} {v}"))),
    );
    wants.extend(h.grant.as_ref().map(|g| format!("grant {g}")));
    wants.extend(h.death.as_ref().map(|d| format!("death mentions {d:?}")));
    wants.extend(h.story.as_ref().map(|s| format!("story mentions {s:?}")));
    let replaced = h.replaced_by.as_ref().map(|r| w.resolve(r));
    if let Some(rb) = &replaced {
        wants.push(format!(
            "replaced by {}",
            rb.as_deref().map_or("?".into(), |t| w.tokens.label(t))
        ));
    }
    let what = format!("history of {label}: {}", wants.join(", "));
    if !w.control.admin() {
        return Check::skipped(what, "needs /__mock/tokens");
    }
    let body = match w.http.admin_json(&format!("/__mock/tokens/{token}")).await {
        Ok(b) => b,
        Err(e) => return Check::new(false, what, Some(e)),
    };
    let text = |v: &Value| v.as_str().map(str::to_string);
    let field = |p: &str| lookup(&body, p).and_then(|v| text(&v));
    let mut wrong = Vec::new();
    for (path, want) in [
        ("status", &h.status),
        ("client", &h.client),
        ("policy", &h.policy),
        ("issued.grant", &h.grant),
    ] {
        if let Some(want) = want {
            if field(path).as_deref() != Some(want.as_str()) {
                wrong.push(format!("{path} is {:?}", field(path)));
            }
        }
    }
    if let Some(d) = &h.death {
        if !field("death").is_some_and(|death| death.contains(d.as_str())) {
            wrong.push(format!("death is {:?}", field("death")));
        }
    }
    if let Some(s) = &h.story {
        let story: Vec<String> = body["story"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(text)
            .collect();
        if !story.iter().any(|l| l.contains(s.as_str())) {
            wrong.push(format!("story is {story:?}"));
        }
    }
    if let Some(rb) = replaced {
        if field("invalidated.replaced_by") != rb {
            wrong.push(format!(
                "replaced_by is {:?}",
                field("invalidated.replaced_by")
            ));
        }
    }
    let ok = wrong.is_empty();
    Check::new(ok, what, (!ok).then(|| wrong.join("; ")))
}

pub(super) async fn device(w: &World<'_>, step: &Step, fields: &[(String, Value)]) -> Vec<Check> {
    use crate::format::Action;
    let name = match &step.action {
        Action::Call { device, .. } | Action::Get { device, .. } => device,
        Action::DeviceOffline { device, .. } | Action::DeviceOnline { device } => device,
        Action::Reconnect { device, .. } => device,
        Action::Subscribe {
            stream: crate::format::Stream::Device(d),
            ..
        } => d,
        _ => return Vec::new(),
    };
    let what = |k: &str, v: &Value| format!("{name} {k} = {v}");
    if !w.control.admin() {
        return fields
            .iter()
            .map(|(k, v)| Check::skipped(what(k, v), "needs /__mock/devices"))
            .collect();
    }
    let id = w.sc.device(name).map(|d| d.id.clone()).unwrap_or_default();
    let entry = crate::devices::entry(&w.http, &id).await;
    fields
        .iter()
        .map(|(k, v)| match &entry {
            Ok(Some(d)) => {
                let have = lookup(d, k);
                let ok = have.as_ref().is_some_and(|h| same(h, v));
                Check::new(
                    ok,
                    what(k, v),
                    (!ok).then(|| format!("found {}", have.unwrap_or(Value::Null))),
                )
            }
            Ok(None) => Check::new(false, what(k, v), Some("the cloud does not list it".into())),
            Err(e) => Check::new(false, what(k, v), Some(e.clone())),
        })
        .collect()
}
