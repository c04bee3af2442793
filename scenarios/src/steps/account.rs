//! `signup`, `login`, `build-login` and `reset-token`: the steps that make tokens.

use serde_json::Value;

use super::{answer, who, Outcome};
use crate::format::{Actor, Scenario};
use crate::http::{encode, Call, Reply};
use crate::tokens::short;
use crate::transcript::StepRecord;
use crate::world::World;

pub(super) async fn signup(
    w: &mut World<'_>,
    user: &str,
    rec: &mut StepRecord,
) -> Result<Outcome, String> {
    let password =
        w.sc.user(user)
            .map(|u| u.password.clone())
            .unwrap_or_default();
    let mut call = Call::new("POST", "/v1/users");
    call.form = vec![
        ("username".into(), user.to_string()),
        ("password".into(), password),
    ];
    let reply = w.send(&call).await?;
    let ok = match reply.body.get("ok") {
        Some(Value::Bool(false)) => format!(", {}", reply.error_summary().unwrap_or_default()),
        _ => String::new(),
    };
    rec.text = format!("{user} signs up {}{ok}", answer(&reply));
    rec.status = Some(reply.status);
    Ok(Outcome {
        reply: Some(reply),
        ..Default::default()
    })
}

/// Which login: the actor's password grant (answering `mfa_required` with `otp` when given),
/// or the Build client's for `build-login`.
pub(super) enum How<'a> {
    Password { otp: Option<&'a str> },
    Build,
}

/// A password grant: by the actor's own client, or by the Build client for `build-login`.
pub(super) async fn login(
    w: &mut World<'_>,
    n: usize,
    actor: &str,
    user: &str,
    save_as: Option<&str>,
    kind: How<'_>,
    rec: &mut StepRecord,
) -> Result<Outcome, String> {
    let (build, otp) = match kind {
        How::Password { otp } => (false, otp),
        How::Build => (true, None),
    };
    let a =
        w.sc.actor(actor)
            .ok_or_else(|| format!("no actor {actor}"))?;
    let client = OauthClient::new(w.sc, a, build);
    let Granted {
        reply,
        how,
        code_step,
    } = password_grant(w, &client, user, otp).await?;
    rec.status = Some(reply.status);
    let doing = if build {
        format!("{actor} logs into Build as {user} (client {})", client.id)
    } else {
        format!("{} logs in as {user}{code_step}", who(w.sc, actor))
    };
    let outcome = received(w, n, actor, save_as, &reply, how);
    rec.text = match &outcome.token {
        Some((t, true)) => format!("{doing} {}, new token {}", answer(&reply), short(t)),
        Some((t, false)) => format!(
            "{doing} {}, same token {}",
            answer(&reply),
            w.tokens.label(t)
        ),
        None => format!("{doing} {}", answer(&reply)),
    };
    Ok(Outcome {
        reply: Some(reply),
        ..outcome
    })
}

/// The OAuth client a login goes through, as the actor's app sends it.
struct OauthClient {
    id: String,
    secret: String,
    user_agent: String,
}

impl OauthClient {
    /// The actor's own client, or the Build client for a `build-login` by another actor.
    fn new(sc: &Scenario, a: &Actor, build: bool) -> Self {
        let (id, secret) = match build {
            true if a.client != sc.build_client => {
                (sc.build_client.clone(), sc.build_client.clone())
            }
            _ => (a.client.clone(), a.secret.clone()),
        };
        Self {
            id,
            secret,
            user_agent: a.user_agent.clone(),
        }
    }

    /// `POST /oauth/token` with this client's Basic credentials.
    fn grant(&self, form: Vec<(String, String)>) -> Call {
        let mut call = Call::new("POST", "/oauth/token");
        call.basic = Some((self.id.clone(), self.secret.clone()));
        call.user_agent = Some(self.user_agent.clone());
        call.form = form;
        call
    }
}

/// What a login's grants gave: the last answer, how the token was obtained (for its
/// history), and the login-code step for the transcript.
struct Granted {
    reply: Reply,
    how: String,
    code_step: String,
}

/// The password grant, then the login code (`urn:custom:mfa-otp`) when the server asks
/// for one (403 with an `mfa_token`) and the step gives `otp`.
async fn password_grant(
    w: &World<'_>,
    client: &OauthClient,
    user: &str,
    otp: Option<&str>,
) -> Result<Granted, String> {
    let password =
        w.sc.user(user)
            .map(|u| u.password.clone())
            .unwrap_or_default();
    let reply = w
        .send(&client.grant(vec![
            ("grant_type".into(), "password".into()),
            ("username".into(), user.to_string()),
            ("password".into(), password),
        ]))
        .await?;
    let mfa_token = reply
        .body
        .get("mfa_token")
        .and_then(Value::as_str)
        .filter(|_| reply.status == 403)
        .map(str::to_string);
    let (Some(otp), Some(mfa_token)) = (otp, mfa_token) else {
        return Ok(Granted {
            reply,
            how: format!("password grant by client {}", client.id),
            code_step: String::new(),
        });
    };
    let first = answer(&reply);
    let reply = w
        .send(&client.grant(vec![
            ("grant_type".into(), "urn:custom:mfa-otp".into()),
            ("mfa_token".into(), mfa_token),
            ("otp".into(), otp.to_string()),
        ]))
        .await?;
    Ok(Granted {
        reply,
        how: format!("password grant and login code by client {}", client.id),
        code_step: format!(" {first}; sends the login code"),
    })
}

/// Records the `access_token` of a reply as the actor's latest.
fn received(
    w: &mut World<'_>,
    n: usize,
    holder: &str,
    save_as: Option<&str>,
    reply: &Reply,
    how: String,
) -> Outcome {
    let token = reply
        .body
        .get("access_token")
        .and_then(Value::as_str)
        .filter(|_| reply.status == 200)
        .map(str::to_string);
    let token = token.map(|t| {
        let new = w.tokens.received(holder, &t, how, n);
        if let Some(name) = save_as {
            w.tokens.save(name, &t);
        }
        (t, new)
    });
    Outcome {
        token,
        ..Default::default()
    }
}

/// "Reset Token" in the Build settings: through the Build IDE's pages when the server has
/// them (the history then says "reset from Build settings"), else through
/// `POST /__mock/users/:email/reset-token` ("reset through the admin API").
pub(super) async fn reset_token(
    w: &mut World<'_>,
    n: usize,
    user: &str,
    actor: Option<&str>,
    save_as: Option<&str>,
    rec: &mut StepRecord,
) -> Result<Outcome, String> {
    let password =
        w.sc.user(user)
            .map(|u| u.password.clone())
            .unwrap_or_default();
    let ua = actor.and_then(|a| w.sc.actor(a)).map_or_else(
        || "Mozilla/5.0 (Spark Build IDE)".to_string(),
        |a| a.user_agent.clone(),
    );
    let (reply, how) = match super::build::reset(&w.http, user, &password, &ua).await? {
        Some(reply) => (reply, "on the Settings page (/build/settings)"),
        None if w.control.admin() => {
            let path = format!("/__mock/users/{}/reset-token", encode(user));
            let reply = w.http.admin("POST", &path, None).await?;
            (
                reply,
                "through POST /__mock/users/…/reset-token: the server has no Build pages",
            )
        }
        None => {
            rec.text = format!("{user} presses Reset Token in the Build settings");
            rec.skipped = Some("the target has no Build pages at /build and no /__mock".into());
            return Ok(Outcome::default());
        }
    };
    rec.status = Some(reply.status);
    let holder = actor.unwrap_or("Reset Token");
    let outcome = received(w, n, holder, save_as, &reply, "Reset Token".into());
    let new = match &outcome.token {
        Some((t, _)) => format!(", new token {}", short(t)),
        None => String::new(),
    };
    rec.text = format!("{user} presses Reset Token {how} {}{new}", answer(&reply));
    Ok(Outcome {
        reply: Some(reply),
        ..outcome
    })
}
