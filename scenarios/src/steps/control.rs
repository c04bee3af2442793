//! Steps that need control over the server: the token policy, the clock, devices going
//! offline, coming back, moving to another network, and a restart that keeps state. `check`
//! does nothing: its expectations are the step.

use serde_json::{json, Value};

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
        Action::ChangePolicy { policy } => {
            let r = w
                .http
                .admin(
                    "PUT",
                    "/__mock/policy",
                    Some(json!({"policy": policy.to_string()})),
                )
                .await?;
            rec.status = Some(r.status);
            ok(&r, "PUT /__mock/policy")?;
            let previous = r
                .body
                .get("previous")
                .and_then(Value::as_str)
                .unwrap_or("?");
            format!(
                "the token policy changes from {previous} to {policy} (PUT /__mock/policy) → {}",
                r.status
            )
        }
        Action::EnableMfa {
            user,
            otp,
            invalidate_tokens,
        } => {
            let body = json!({"otp": otp, "invalidate_tokens": invalidate_tokens});
            mfa(w, rec, user, "PUT", Some(body)).await?
        }
        Action::DisableMfa { user } => mfa(w, rec, user, "DELETE", None).await?,
        Action::AdvanceClock { secs } => {
            let r = w
                .http
                .admin("POST", "/__mock/clock", Some(json!({"advance_secs": secs})))
                .await?;
            rec.status = Some(r.status);
            ok(&r, "POST /__mock/clock")?;
            let now = r.body.get("now").and_then(Value::as_str).unwrap_or("?");
            format!(
                "the clock moves {} forward → it is now {now}",
                duration(*secs)
            )
        }
        Action::DeviceOffline { device, fault } => {
            let id = w.sims.offline(device, *fault, &w.http).await?;
            match fault {
                OfflineFault::Offline => {
                    format!("{device} goes offline (fault #{id} \"offline\"): the cloud drops it and refuses it")
                }
                OfflineFault::NoAnswer => {
                    format!(
                        "{device} stops answering (fault #{id} \"no_answer\"): calls will time out"
                    )
                }
            }
        }
        Action::DeviceOnline { device } => {
            let fault = w.sims.online(device, &w.http).await?;
            let removed = fault
                .map(|id| format!(" (fault #{id} removed)"))
                .unwrap_or_default();
            format!("{device} comes back online{removed}")
        }
        Action::Reconnect { device, from } => {
            let id = w.sims.id(device).unwrap_or_default().to_string();
            let ip = |d: Option<Value>| {
                d.and_then(|d| d.get("last_ip_address")?.as_str().map(str::to_string))
                    .unwrap_or_else(|| "?".into())
            };
            let before = ip(entry(&w.http, &id).await?);
            w.sims.reconnect(device, *from, &w.http).await?;
            let after = ip(entry(&w.http, &id).await?);
            format!(
                "{device} moves to another Wi-Fi network and reconnects from {from} → last_ip_address {before} → {after}"
            )
        }
        Action::RestartServer => w.restart().await?,
        Action::Check => "check".to_string(),
        other => return Err(format!("{} is not a control step", other.kind())),
    };
    Ok(Outcome::default())
}

/// An admin call that did not answer 200 is a step that could not run.
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
