//! [`Model`]: one device's live state. It outlives connections, so counters
//! and values set by functions carry over a reconnect.

use std::sync::Arc;
use std::time::{Duration, Instant};

use spark_mock_protocol::messages::{Description, VarValue};

use super::values::{as_number, from_number, parse_value, value_text, ValueError};
use super::{Behaviour, VarSource};
use crate::rng::SimRng;
use crate::spec::Definitions;

/// What a function call produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    /// Send this return value.
    Return(i32),
    /// Never send a return value.
    Hang,
}

/// A call's outcome and how late to send it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call {
    /// The outcome.
    pub outcome: CallOutcome,
    /// Extra delay before the return value.
    pub delay: Duration,
}

/// Why a variable could not be set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetError {
    /// No variable of that name.
    #[error("no variable {0:?}")]
    Unknown(String),
    /// The text is not a value of the variable's type.
    #[error(transparent)]
    Value(#[from] ValueError),
}

#[derive(Debug, Clone, Default)]
struct VarState {
    /// Set by a function or an event; wins over the kind from then on.
    set: Option<VarValue>,
    /// Evaluations so far (counter).
    steps: u64,
    /// Current position (random walk).
    walk: Option<f64>,
}

/// A device's functions and variables with their state.
pub struct Model {
    defs: Arc<Definitions>,
    vars: Vec<VarState>,
    toggles: Vec<bool>,
    rng: SimRng,
    epoch: Instant,
}

impl Model {
    /// Fresh state; the same `seed` gives the same value sequences.
    pub fn new(defs: Arc<Definitions>, seed: u64) -> Self {
        Self {
            vars: vec![VarState::default(); defs.variables.len()],
            toggles: vec![false; defs.functions.len()],
            defs,
            rng: SimRng::new(seed),
            epoch: Instant::now(),
        }
    }

    /// The definitions.
    pub fn definitions(&self) -> &Definitions {
        &self.defs
    }

    /// The Describe payload. `with_modules` adds Device OS's `"m"` member (a
    /// single system module), which Photon-era servers wait for.
    pub fn describe(&self, with_modules: bool) -> Description {
        Description {
            functions: self.defs.functions.iter().map(|f| f.name.clone()).collect(),
            variables: (self.defs.variables.iter())
                .map(|v| (v.name.clone(), v.ty))
                .collect(),
            m: with_modules.then(|| {
                serde_json::json!([{"s": 262144, "l": "m", "vc": 30, "vv": 30,
                    "f": "s", "n": "1", "v": 1, "d": []}])
            }),
        }
    }

    /// Calls function `name` (already truncated by the caller, as the Core
    /// matches on 12 characters). `None` if there is no such function.
    pub fn call(&mut self, name: &str, arg: &str) -> Option<Call> {
        let index = self.defs.functions.iter().position(|f| f.name == name)?;
        let defs = Arc::clone(&self.defs);
        let f = &defs.functions[index];
        let outcome = match &f.behaviour {
            Behaviour::Constant(v) => CallOutcome::Return(*v),
            Behaviour::ArgLength => CallOutcome::Return(arg.len().try_into().unwrap_or(i32::MAX)),
            Behaviour::SetVariable(var) => match self.set_from_text(var, arg) {
                Ok(()) => CallOutcome::Return(1),
                Err(_) => CallOutcome::Return(-1),
            },
            Behaviour::Toggle(None) => {
                let on = !self.toggles[index];
                self.toggles[index] = on;
                CallOutcome::Return(i32::from(on))
            }
            Behaviour::Toggle(Some(var)) => CallOutcome::Return(self.toggle(var)),
            Behaviour::Fail => CallOutcome::Return(-1),
            Behaviour::Hang => CallOutcome::Hang,
            Behaviour::Custom(cb) => CallOutcome::Return(cb(arg)),
        };
        Some(Call {
            outcome,
            delay: f.delay,
        })
    }

    fn toggle(&mut self, var: &str) -> i32 {
        let Some(i) = self.index(var) else { return -1 };
        let current = self.read_at(i);
        let on = as_number(&current) == 0.0;
        let ty = self.defs.variables[i].ty;
        self.vars[i].set = Some(from_number(ty, f64::from(u8::from(on))));
        i32::from(on)
    }

    fn index(&self, name: &str) -> Option<usize> {
        self.defs.variables.iter().position(|v| v.name == name)
    }

    /// Reads variable `name`, advancing counters, walks and picks.
    pub fn read(&mut self, name: &str) -> Option<VarValue> {
        self.index(name).map(|i| self.read_at(i))
    }

    fn read_at(&mut self, i: usize) -> VarValue {
        let def = &self.defs.variables[i];
        let state = &mut self.vars[i];
        if let Some(v) = &state.set {
            return v.clone();
        }
        let ty = def.ty;
        match &def.source {
            VarSource::Constant(v) => v.clone(),
            VarSource::Counter { start, step } => {
                let x = start + step * state.steps as f64;
                state.steps += 1;
                from_number(ty, x)
            }
            VarSource::RandomWalk {
                start,
                min,
                max,
                step,
            } => {
                let x = match state.walk {
                    None => *start,
                    Some(w) => (w + (self.rng.next_f64() * 2.0 - 1.0) * step).clamp(*min, *max),
                };
                state.walk = Some(x);
                from_number(ty, x)
            }
            VarSource::Sine { min, max, period } => {
                let t = self.epoch.elapsed().as_secs_f64() / period.as_secs_f64().max(1e-9);
                let s = (t * std::f64::consts::TAU).sin();
                from_number(ty, min + (max - min) * (1.0 + s) / 2.0)
            }
            VarSource::Pick(choices) => {
                let i = self.rng.below(choices.len());
                choices
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| from_number(ty, 0.0))
            }
            VarSource::Custom(cb) => cb(),
        }
    }

    /// Sets variable `name` from text parsed by its type; it keeps that value.
    pub fn set_from_text(&mut self, name: &str, text: &str) -> Result<(), SetError> {
        let i = self
            .index(name)
            .ok_or_else(|| SetError::Unknown(name.to_owned()))?;
        self.vars[i].set = Some(parse_value(self.defs.variables[i].ty, text)?);
        Ok(())
    }

    /// Fills a publish template: `${var}` is the variable's current value
    /// (one evaluation), `${device.id}` and `${device.name}` the device's;
    /// unknown placeholders stay as written.
    pub fn render(&mut self, template: &str, device_id: &str, device_name: &str) -> String {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                rest = &rest[start..];
                break;
            };
            let key = &after[..end];
            match key {
                "device.id" => out.push_str(device_id),
                "device.name" => out.push_str(device_name),
                _ => match self.read(key) {
                    Some(v) => out.push_str(&value_text(&v)),
                    None => out.push_str(&rest[start..start + end + 3]),
                },
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }
}

/// The placeholder names in a template (`${name}` → `name`).
pub fn placeholders(template: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        out.push(&after[..end]);
        rest = &after[end + 1..];
    }
    out
}
