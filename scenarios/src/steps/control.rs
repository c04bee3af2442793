//! Steps that need control over the server: the token policy, the clock, devices going
//! offline, coming back, moving to another network, and a restart that keeps state. `check`
//! does nothing: its expectations are the step.

use std::net::IpAddr;

use serde_json::{json, Value};
use spark_mock_server::PolicyKind;

use super::{duration, Outcome};
use crate::devices::entry;
use crate::format::{Action, OfflineFault};
use crate::transcript::StepRecord;
use crate::world::World;

pub(super) async fn run(
    w: &mut World<'_>,
    action: &Action,
    rec: &mut StepRecord,
) -> Result<Outcome, String> {
    rec.text = match action {
        Action::ChangePolicy { policy } => change_policy(w, rec, *policy).await?,
        Action::EnableMfa {
            user,
            otp,
            invalidate_tokens,
        } => {
            let body = json!({"otp": otp, "invalidate_tokens": invalidate_tokens});
            mfa(w, rec, user, "PUT", Some(body)).await?
        }
        Action::DisableMfa { user } => mfa(w, rec, user, "DELETE", None).await?,
        Action::AdvanceClock { secs } => advance_clock(w, rec, *secs).await?,
        Action::DeviceOffline { device, fault } => device_offline(w, device, *fault).await?,
        Action::DeviceOnline { device } => {
            let fault = w.sims.online(device, &w.http).await?;
            let removed = fault
                .map(|id| format!(" (fault #{id} removed)"))
                .unwrap_or_default();
            format!("{device} comes back online{removed}")
        }
        Action::Reconnect { device, from } => reconnect(w, device, *from).await?,
        Action::RestartServer => w.restart().await?,
        Action::Check => "check".to_string(),
        other => return Err(format!("{} is not a control step", other.kind())),
    };
    Ok(Outcome::default())
}

/// `PUT /__mock/policy`, and which policy it replaced.
async fn change_policy(
    w: &mut World<'_>,
    rec: &mut StepRecord,
    policy: PolicyKind,
) -> Result<String, String> {
    let body = json!({"policy": policy.to_string()});
    let r = w.http.admin("PUT", "/__mock/policy", Some(body)).await?;
    rec.status = Some(r.status);
    ok(&r, "PUT /__mock/policy")?;
    let previous = r
        .body
        .get("previous")
        .and_then(Value::as_str)
        .unwrap_or("?");
    Ok(format!(
        "the token policy changes from {previous} to {policy} (PUT /__mock/policy) → {}",
        r.status
    ))
}

/// `POST /__mock/clock`, and the server's time after it.
async fn advance_clock(
    w: &mut World<'_>,
    rec: &mut StepRecord,
    secs: i64,
) -> Result<String, String> {
    let body = json!({"advance_secs": secs});
    let r = w.http.admin("POST", "/__mock/clock", Some(body)).await?;
    rec.status = Some(r.status);
    ok(&r, "POST /__mock/clock")?;
    let now = r.body.get("now").and_then(Value::as_str).unwrap_or("?");
    Ok(format!(
        "the clock moves {} forward → it is now {now}",
        duration(secs)
    ))
}

/// A fault through the admin API: the device drops off, or stops answering.
async fn device_offline(
    w: &mut World<'_>,
    device: &str,
    fault: OfflineFault,
) -> Result<String, String> {
    let id = w.sims.offline(device, fault, &w.http).await?;
    Ok(match fault {
        OfflineFault::Offline => format!(
            "{device} goes offline (fault #{id} \"offline\"): the cloud drops it and refuses it"
        ),
        OfflineFault::NoAnswer => {
            format!("{device} stops answering (fault #{id} \"no_answer\"): calls will time out")
        }
    })
}

/// The device reconnects from `from`; the cloud's `last_ip_address` before and after.
async fn reconnect(w: &mut World<'_>, device: &str, from: IpAddr) -> Result<String, String> {
    let id = w.sims.id(device).unwrap_or_default().to_string();
    let ip = |d: Option<Value>| {
        d.and_then(|d| d.get("last_ip_address")?.as_str().map(str::to_string))
            .unwrap_or_else(|| "?".into())
    };
    let before = ip(entry(&w.http, &id).await?);
    w.sims.reconnect(device, from, &w.http).await?;
    let after = ip(entry(&w.http, &id).await?);
    Ok(format!(
        "{device} moves to another Wi-Fi network and reconnects from {from} → last_ip_address {before} → {after}"
    ))
}

/// `PUT` or `DELETE /__mock/users/:email/mfa`, and what it did.
async fn mfa(
    w: &mut World<'_>,
    rec: &mut StepRecord,
    user: &str,
    method: &str,
    body: Option<Value>,
) -> Result<String, String> {
    let path = format!("/__mock/users/{user}/mfa");
    let r = w.http.admin(method, &path, body).await?;
    rec.status = Some(r.status);
    ok(&r, &format!("{method} {path}"))?;
    let killed = r
        .body
        .get("invalidated")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let on = method == "PUT";
    Ok(format!(
        "{user} turns {} multi-factor login ({method} {path}) → {}{}",
        if on { "on" } else { "off" },
        r.status,
        if on {
            let s = if killed == 1 { "" } else { "s" };
            format!(", {killed} token{s} invalidated")
        } else {
            String::new()
        }
    ))
}

/// An admin call that did not answer 200 is a step that could not run.
fn ok(r: &crate::http::Reply, what: &str) -> Result<(), String> {
    if r.status == 200 {
        Ok(())
    } else {
        Err(format!(
            "{what} answered {}: {}",
            r.status,
            crate::http::short(&r.text, 200)
        ))
    }
}
