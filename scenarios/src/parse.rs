//! TOML text to a checked [`Scenario`]. Every error names the file and the line: TOML
//! syntax, an unknown key, a wrong type (toml's spans), an unknown step, a missing field or a
//! reference to an undeclared actor, user, device or token (the raw values' spans).

mod cast;
mod step;

use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use spark_mock_server::{PolicyKind, Profile};

use crate::format::Scenario;
use crate::raw::{RawFile, S};
use crate::ScenarioError;
use cast::{add_actors, add_devices, user};

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
    let mut sc = settings(ctx, &raw)?;
    add_actors(ctx, &mut sc, &raw.actor)?;
    add_devices(ctx, &mut sc, &raw.device, base_dir)?;
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

/// The file's top-level keys and its users: a scenario with no actors, devices or steps yet.
fn settings(ctx: &Ctx, raw: &RawFile) -> Result<Scenario, ScenarioError> {
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
    let device_timeout = device_timeout(ctx, raw)?;
    let build_client = raw
        .build_client
        .as_ref()
        .map_or_else(|| "spark-build".to_string(), |b| b.get_ref().clone());
    let users = raw
        .user
        .iter()
        .map(|u| user(ctx, u))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Scenario {
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
    })
}

/// `device_timeout_s`: 0.01 to 3600 seconds, 10 when not given.
fn device_timeout(ctx: &Ctx, raw: &RawFile) -> Result<Duration, ScenarioError> {
    match &raw.device_timeout_s {
        Some(t) if !(0.01..=3600.0).contains(t.get_ref()) => {
            Err(ctx.err(&t.span(), "device_timeout_s must be between 0.01 and 3600"))
        }
        Some(t) => Ok(Duration::from_secs_f64(*t.get_ref())),
        None => Ok(Duration::from_secs(10)),
    }
}
