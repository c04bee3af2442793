//! The cast a scenario declares: `[[user]]`, `[[actor]]` and `[[device]]` (the latter
//! parsed by sim-device itself), each checked for missing fields, names declared twice and
//! references to users the file does not declare.

use std::path::Path;

use spark_mock_sim::FleetConfig;

use super::{need, Ctx};
use crate::format::{Actor, Device, Scenario, User};
use crate::raw::{RawActor, RawUser, S};
use crate::ScenarioError;

/// `[[actor]]` tables, each name once.
pub(super) fn add_actors(
    ctx: &Ctx,
    sc: &mut Scenario,
    raw: &[S<RawActor>],
) -> Result<(), ScenarioError> {
    for a in raw {
        let actor = actor(ctx, sc, a)?;
        if sc.actor(&actor.name).is_some() {
            return Err(ctx.err(
                &a.span(),
                format!("actor \"{}\" is declared twice", actor.name),
            ));
        }
        sc.actors.push(actor);
    }
    Ok(())
}

/// `[[device]]` entries (each maybe several devices), each name once.
pub(super) fn add_devices(
    ctx: &Ctx,
    sc: &mut Scenario,
    raw: &[S<toml::Value>],
    base_dir: &Path,
) -> Result<(), ScenarioError> {
    for d in raw {
        for device in devices(ctx, sc, d, base_dir)? {
            if sc.device(&device.name).is_some() {
                return Err(ctx.err(
                    &d.span(),
                    format!("device \"{}\" is declared twice", device.name),
                ));
            }
            sc.devices.push(device);
        }
    }
    Ok(())
}

pub(super) fn user(ctx: &Ctx, u: &S<RawUser>) -> Result<User, ScenarioError> {
    let span = u.span();
    let r = u.get_ref();
    Ok(User {
        email: need(ctx, &r.email, &span, "[[user]]", "email")?.clone(),
        password: need(ctx, &r.password, &span, "[[user]]", "password")?.clone(),
        first_name: r.first_name.as_ref().map(|f| f.get_ref().clone()),
        mfa_otp: r.mfa_otp.as_ref().map(|f| f.get_ref().clone()),
    })
}

/// The user a reference names, checked against `[[user]]`.
pub(crate) fn known_user(ctx: &Ctx, sc: &Scenario, u: &S<String>) -> Result<String, ScenarioError> {
    match sc.user(u.get_ref()) {
        Some(user) => Ok(user.email.clone()),
        None => Err(ctx.err(
            &u.span(),
            format!(
                "unknown user \"{}\" (declare it in a [[user]] table)",
                u.get_ref()
            ),
        )),
    }
}

fn actor(ctx: &Ctx, sc: &Scenario, a: &S<RawActor>) -> Result<Actor, ScenarioError> {
    let span = a.span();
    let r = a.get_ref();
    let name = need(ctx, &r.name, &span, "[[actor]]", "name")?.clone();
    let client = need(ctx, &r.client, &span, "[[actor]]", "client")?.clone();
    let user = r
        .user
        .as_ref()
        .map(|u| known_user(ctx, sc, u))
        .transpose()?;
    Ok(Actor {
        secret: r
            .secret
            .as_ref()
            .map_or_else(|| client.clone(), |s| s.get_ref().clone()),
        user_agent: r
            .user_agent
            .as_ref()
            .map_or_else(|| format!("{client}/1.0"), |s| s.get_ref().clone()),
        name,
        client,
        user,
    })
}

/// One sim-device `[[device]]` entry (maybe `count` devices), parsed by sim-device itself;
/// its errors point at the entry's line.
fn devices(
    ctx: &Ctx,
    sc: &Scenario,
    entry: &S<toml::Value>,
    base_dir: &Path,
) -> Result<Vec<Device>, ScenarioError> {
    let span = entry.span();
    let Some(table) = entry.get_ref().as_table() else {
        return Err(ctx.err(&span, "wrong type for `device`: expected a table"));
    };
    if let Some(owner) = table.get("owner").and_then(|o| o.as_str()) {
        if sc.user(owner).is_none() {
            return Err(ctx.err(&span, format!("device owner \"{owner}\" is not a [[user]]")));
        }
    }
    let mut doc = toml::Table::new();
    if let Some(first) = sc.users.first() {
        let mut fleet = toml::Table::new();
        fleet.insert("owner".into(), toml::Value::String(first.email.clone()));
        doc.insert("fleet".into(), toml::Value::Table(fleet));
    }
    doc.insert(
        "device".into(),
        toml::Value::Array(vec![entry.get_ref().clone()]),
    );
    let text = toml::to_string(&doc).map_err(|e| ctx.err(&span, e.to_string()))?;
    let fleet = FleetConfig::parse(&text, ctx.file, base_dir).map_err(|e| {
        let message = match &e {
            spark_mock_sim::ConfigError::Syntax { message, .. }
            | spark_mock_sim::ConfigError::Invalid { message, .. } => message.clone(),
            other => other.to_string(),
        };
        ctx.err(&span, format!("device: {message}"))
    })?;
    Ok(fleet
        .devices
        .into_iter()
        .map(|spec| Device {
            name: spec.name.clone().unwrap_or_else(|| spec.id.to_hex()),
            id: spec.id.to_hex(),
            spec,
        })
        .collect())
}
