//! What the runner controls. Its own in-process server: everything. A spark-mock given with
//! `--target` (it answers `GET /__mock/health`): everything but a restart. Any other cloud:
//! only the API; steps that need control are skipped, and the transcript says which and why.

use serde_json::Value;

use crate::format::{Action, Scenario, User};
use crate::http::{Call, Http};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Control {
    /// The runner's own server.
    Local,
    /// A spark-mock started elsewhere: `/__mock` works, restarting does not.
    Admin,
    /// Another cloud: API steps only. Says why `/__mock` is out of reach.
    None(String),
}

impl Control {
    /// Whether `/__mock` answers (token histories, the clock, the policy, faults).
    pub fn admin(&self) -> bool {
        matches!(self, Control::Local | Control::Admin)
    }

    /// Why `action` cannot run here, or `None` when it can.
    pub fn skip_reason(&self, action: &Action) -> Option<String> {
        let needs_admin = matches!(
            action,
            Action::ChangePolicy { .. }
                | Action::EnableMfa { .. }
                | Action::DisableMfa { .. }
                | Action::AdvanceClock { .. }
                | Action::DeviceOffline { .. }
                | Action::DeviceOnline { .. }
                | Action::Reconnect { .. }
        );
        match (self, action) {
            (Control::Local, _) => None,
            (Control::Admin, Action::RestartServer) => {
                Some("restarting needs the runner's own server (the target runs elsewhere)".into())
            }
            (Control::Admin, _) => None,
            (Control::None(why), Action::RestartServer) => {
                Some(format!("restarting needs the runner's own server ({why})"))
            }
            (Control::None(why), _) if needs_admin => Some(format!(
                "needs control over the server through /__mock ({why})"
            )),
            (Control::None(_), _) => None,
        }
    }
}

/// Asks the target whether it is a spark-mock.
pub(crate) async fn detect(http: &Http) -> Control {
    match http.admin("GET", "/__mock/health", None).await {
        Ok(r) if r.status == 200 && r.body.get("ok") == Some(&Value::Bool(true)) => Control::Admin,
        Ok(r) => Control::None(format!(
            "the target is not a spark-mock I can steer: GET /__mock/health answered {}",
            r.status
        )),
        Err(e) => Control::None(format!("GET /__mock/health failed: {e}")),
    }
}

/// Against a target: say what it is, set the policy when it is a spark-mock, and sign the
/// users up (the runner's own server has them from its seed).
pub(crate) async fn prepare(
    sc: &Scenario,
    http: &Http,
    control: &Control,
    setup: &mut Vec<String>,
) {
    match control {
        Control::None(why) => setup.push(format!(
            "target {}: {why}; steps that need control are skipped",
            http.base()
        )),
        _ => steer(sc, http, setup).await,
    }
    for u in &sc.users {
        sign_up(http, control, u, setup).await;
    }
}

/// A target spark-mock: its profile (a warning when the scenario expects another) and the
/// scenario's token policy.
async fn steer(sc: &Scenario, http: &Http, setup: &mut Vec<String>) {
    let profile = http
        .admin_json("/__mock/state")
        .await
        .ok()
        .and_then(|s| s.get("profile")?.as_str().map(str::to_string))
        .unwrap_or_else(|| "?".into());
    setup.push(format!(
        "target {}: a spark-mock (profile {profile})",
        http.base()
    ));
    if profile != sc.profile.to_string() {
        setup.push(format!(
            "the scenario was written for profile {}: answers may differ",
            sc.profile
        ));
    }
    let body = serde_json::json!({"policy": sc.policy.to_string()});
    match http.admin("PUT", "/__mock/policy", Some(body)).await {
        Ok(r) if r.status == 200 => setup.push(format!(
            "token policy set to {} through PUT /__mock/policy",
            sc.policy
        )),
        Ok(r) => setup.push(format!("PUT /__mock/policy answered {}", r.status)),
        Err(e) => setup.push(format!("PUT /__mock/policy failed: {e}")),
    }
}

/// Signs one user up through the API, and turns on its multi-factor login when it has one.
async fn sign_up(http: &Http, control: &Control, u: &User, setup: &mut Vec<String>) {
    let mut call = Call::new("POST", "/v1/users");
    call.form = vec![
        ("username".into(), u.email.clone()),
        ("password".into(), u.password.clone()),
    ];
    let said = match http.send(&call).await {
        Ok(r) => format!(
            "{} {}",
            r.status,
            r.error_summary().unwrap_or_else(|| "ok".into())
        ),
        Err(e) => format!("failed: {e}"),
    };
    setup.push(format!("signed up {} → {said}", u.email));
    let Some(otp) = &u.mfa_otp else {
        return;
    };
    let path = format!("/__mock/users/{}/mfa", u.email);
    let said = if control.admin() {
        let body = serde_json::json!({ "otp": otp });
        match http.admin("PUT", &path, Some(body)).await {
            Ok(r) => r.status.to_string(),
            Err(e) => format!("failed: {e}"),
        }
    } else {
        "skipped: needs control over the server through /__mock".into()
    };
    setup.push(format!(
        "multi-factor login for {} (PUT {path}) → {said}",
        u.email
    ));
}
