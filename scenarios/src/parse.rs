//! TOML text to a checked [`Scenario`]. Every error names the file and the line: TOML
//! syntax, an unknown key, a wrong type (toml's spans), an unknown step, a missing field or a
//! reference to an undeclared actor, user, device or token (the raw values' spans).

mod step;

use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use spark_mock_server::{PolicyKind, Profile};
use spark_mock_sim::FleetConfig;

use crate::format::{Actor, Device, Scenario, User};
use crate::raw::{RawActor, RawFile, RawUser, S};
use crate::ScenarioError;

/// Reads and parses a scenario file; relative sim-device key paths resolve against its
/// directory.
pub fn parse_file(path: impl AsRef<Path>) -> Result<Scenario, ScenarioError> {
    let path = path.as_ref();
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError::Read {
        file: file.clone(),
        message: e.to_string(),
    })?;
    parse_str(&text, &file, path.parent().unwrap_or(Path::new(".")))
}

/// Parses scenario text; `file` names it in errors and reports.
pub fn parse_str(text: &str, file: &str, base_dir: &Path) -> Result<Scenario, ScenarioError> {
    let ctx = Ctx { text, file };
    let raw: RawFile = toml::from_str(text).map_err(|e| ctx.toml_error(&e))?;
    convert(&ctx, raw, base_dir)
}

/// The text being parsed, for turning spans into lines.
pub(crate) struct Ctx<'a> {
    pub text: &'a str,
    pub file: &'a str,
}

impl Ctx<'_> {
    pub fn line(&self, span: &Range<usize>) -> usize {
        let before = self.text.get(..span.start).unwrap_or(self.text);
        before.matches('\n').count() + 1
    }

    pub fn err(&self, span: &Range<usize>, message: impl Into<String>) -> ScenarioError {
        ScenarioError::Invalid {
            file: self.file.to_string(),
            line: self.line(span),
            message: message.into(),
        }
    }

    /// toml's error, reworded: a wrong type names its key and says what was expected.
    fn toml_error(&self, e: &toml::de::Error) -> ScenarioError {
        let span = e.span().unwrap_or(0..0);
        let message = e.message().trim().to_string();
        let message = match message.strip_prefix("invalid type: ") {
            Some(rest) => {
                let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, "?"));
                let key = self
                    .key_at(&span)
                    .map(|k| format!(" for `{k}`"))
                    .unwrap_or_default();
                format!("wrong type{key}: expected {expected}, found {found}")
            }
            None => message,
        };
        self.err(&span, message)
    }

    /// The key on the line of `span`, when the line reads `key = …`.
    fn key_at(&self, span: &Range<usize>) -> Option<String> {
        let start = self
            .text
            .get(..span.start)?
            .rfind('\n')
            .map_or(0, |i| i + 1);
        let before = self.text.get(start..span.start)?;
        let (lhs, _) = before.rsplit_once('=')?;
        let key = lhs.rsplit([',', '{']).next()?.trim().trim_matches('"');
        (!key.is_empty()).then(|| key.to_string())
    }
}

/// A required field: its value, or "missing field" at `span`.
pub(crate) fn need<'v, T>(
    ctx: &Ctx,
    v: &'v Option<S<T>>,
    span: &Range<usize>,
    what: &str,
    field: &str,
) -> Result<&'v T, ScenarioError> {
    v.as_ref()
        .map(|s| s.get_ref())
        .ok_or_else(|| ctx.err(span, format!("{what}: missing field `{field}`")))
}

fn convert(ctx: &Ctx, raw: RawFile, base_dir: &Path) -> Result<Scenario, ScenarioError> {
    let top = 0..0;
    let name = need(ctx, &raw.name, &top, "the scenario", "name")?.clone();
    let profile = match &raw.profile {
        Some(p) => p
            .get_ref()
            .parse::<Profile>()
            .map_err(|e| ctx.err(&p.span(), e))?,
        None => Profile::Spark2014,
    };
    let policy = match &raw.policy {
        Some(p) => p
            .get_ref()
            .parse::<PolicyKind>()
            .map_err(|e| ctx.err(&p.span(), e))?,
        None => profile.default_policy(),
    };
    let device_timeout = match &raw.device_timeout_s {
        Some(t) if !(0.01..=3600.0).contains(t.get_ref()) => {
            return Err(ctx.err(&t.span(), "device_timeout_s must be between 0.01 and 3600"))
        }
        Some(t) => Duration::from_secs_f64(*t.get_ref()),
        None => Duration::from_secs(10),
    };
    let build_client = raw
        .build_client
        .as_ref()
        .map_or_else(|| "spark-build".to_string(), |b| b.get_ref().clone());
    let users = raw
        .user
        .iter()
        .map(|u| user(ctx, u))
        .collect::<Result<Vec<_>, _>>()?;
    let mut sc = Scenario {
        file: ctx.file.to_string(),
        name,
        description: raw
            .description
            .as_ref()
            .map(|d| d.get_ref().trim().to_string())
            .unwrap_or_default(),
        profile,
        policy,
        build_client,
        device_timeout,
        users,
        actors: Vec::new(),
        devices: Vec::new(),
        steps: Vec::new(),
    };
    for a in &raw.actor {
        let actor = actor(ctx, &sc, a)?;
        if sc.actor(&actor.name).is_some() {
            return Err(ctx.err(
                &a.span(),
                format!("actor \"{}\" is declared twice", actor.name),
            ));
        }
        sc.actors.push(actor);
    }
    for d in &raw.device {
        for device in devices(ctx, &sc, d, base_dir)? {
            if sc.device(&device.name).is_some() {
                return Err(ctx.err(
                    &d.span(),
                    format!("device \"{}\" is declared twice", device.name),
                ));
            }
            sc.devices.push(device);
        }
    }
    if step::wants_build_actor(&raw.step) && sc.actor(step::BUILD_ACTOR).is_none() {
        let build = step::build_actor(&sc);
        sc.actors.push(build);
    }
    let mut labels = step::Labels::default();
    for s in &raw.step {
        let parsed = step::convert(ctx, &sc, &mut labels, s)?;
        sc.steps.push(parsed);
    }
    Ok(sc)
}

fn user(ctx: &Ctx, u: &S<RawUser>) -> Result<User, ScenarioError> {
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
