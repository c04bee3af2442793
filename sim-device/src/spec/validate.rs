//! Checks on definitions, item by item, so that the TOML loader can point
//! at the offending entry and the builder can report the same errors.

use spark_mock_protocol::messages::VarValue;

use super::{BuildError, Definitions, PublishDef, SubscriptionDef, MAX_EVENT_NAME_LEN, MAX_TTL};
use crate::model::{
    placeholders, Behaviour, FunctionDef, VarSource, VariableDef, MAX_FUNCTIONS, MAX_STRING_LEN,
    MAX_VARIABLES,
};

impl Definitions {
    /// Checks limits, names, references, ranges and types.
    pub fn validate(&self) -> Result<(), BuildError> {
        let fnames: Vec<&String> = self.functions.iter().map(|f| &f.name).collect();
        let vnames: Vec<&String> = self.variables.iter().map(|v| &v.name).collect();
        for i in 0..fnames.len() {
            check_name("function", &fnames[..=i])?;
        }
        for i in 0..vnames.len() {
            check_name("variable", &vnames[..=i])?;
        }
        self.variables.iter().try_for_each(check_variable)?;
        let vars = &self.variables;
        for f in &self.functions {
            check_function(f, vars)?;
        }
        for p in &self.publishes {
            check_publish(p, vars)?;
        }
        for s in &self.subscriptions {
            check_subscription(s, vars)?;
        }
        Ok(())
    }
}

fn invalid(msg: String) -> BuildError {
    BuildError::Invalid(msg)
}

/// Checks the last of `names` (the one being added): the count limit, an
/// empty name, a duplicate of an earlier one.
pub(crate) fn check_name(what: &'static str, names: &[&String]) -> Result<(), BuildError> {
    let (plural, max) = if what == "function" {
        ("functions", MAX_FUNCTIONS)
    } else {
        ("variables", MAX_VARIABLES)
    };
    let Some((last, earlier)) = names.split_last() else {
        return Ok(());
    };
    if names.len() > max {
        return Err(BuildError::TooMany {
            what: plural,
            count: names.len(),
            max,
        });
    }
    if last.is_empty() {
        return Err(BuildError::EmptyName(what));
    }
    if earlier.contains(last) {
        return Err(BuildError::Duplicate {
            what,
            name: (*last).clone(),
        });
    }
    Ok(())
}

fn known(vars: &[VariableDef], what: String, name: &str) -> Result<(), BuildError> {
    if vars.iter().any(|v| v.name == name) {
        Ok(())
    } else {
        Err(BuildError::UnknownVariable {
            what,
            name: name.to_owned(),
        })
    }
}

pub(crate) fn check_function(f: &FunctionDef, vars: &[VariableDef]) -> Result<(), BuildError> {
    match &f.behaviour {
        Behaviour::SetVariable(v) | Behaviour::Toggle(Some(v)) => {
            known(vars, format!("function {:?}", f.name), v)
        }
        _ => Ok(()),
    }
}

pub(crate) fn check_publish(p: &PublishDef, vars: &[VariableDef]) -> Result<(), BuildError> {
    check_event_name("publish", &p.name)?;
    if p.interval.is_zero() {
        return Err(invalid(format!(
            "publish {:?}: interval must be > 0",
            p.name
        )));
    }
    if p.ttl > MAX_TTL {
        return Err(invalid(format!(
            "publish {:?}: ttl above {MAX_TTL}",
            p.name
        )));
    }
    for key in placeholders(&p.data) {
        if key != "device.id" && key != "device.name" {
            known(vars, format!("publish {:?} data", p.name), key)?;
        }
    }
    Ok(())
}

pub(crate) fn check_subscription(
    s: &SubscriptionDef,
    vars: &[VariableDef],
) -> Result<(), BuildError> {
    check_event_name("subscription", &s.prefix)?;
    match &s.set_variable {
        Some(v) => known(vars, format!("subscription {:?}", s.prefix), v),
        None => Ok(()),
    }
}

fn check_event_name(what: &str, name: &str) -> Result<(), BuildError> {
    if name.is_empty() || name.len() > MAX_EVENT_NAME_LEN {
        return Err(invalid(format!(
            "{what} name {name:?} must be 1 to {MAX_EVENT_NAME_LEN} bytes"
        )));
    }
    Ok(())
}

pub(crate) fn check_variable(v: &VariableDef) -> Result<(), BuildError> {
    let bad = |why: &str| Err(invalid(format!("variable {:?}: {why}", v.name)));
    let fits = |x: &VarValue| {
        x.var_type() == v.ty && !matches!(x, VarValue::String(s) if s.len() > MAX_STRING_LEN)
    };
    match &v.source {
        VarSource::Constant(x) if !fits(x) => bad("value does not match the type (or is too long)"),
        VarSource::Pick(xs) if xs.is_empty() => bad("pick needs at least one choice"),
        VarSource::Pick(xs) if !xs.iter().all(fits) => bad("every choice must match the type"),
        VarSource::RandomWalk {
            start,
            min,
            max,
            step,
        } if !(min <= max && *step >= 0.0 && (min..=max).contains(&start)) => {
            bad("random_walk needs min <= value <= max and step >= 0")
        }
        VarSource::Sine { min, max, period } if min > max || period.is_zero() => {
            bad("sine needs min <= max and a period > 0")
        }
        VarSource::Counter { start, step } if !(start.is_finite() && step.is_finite()) => {
            bad("counter needs a finite value and step")
        }
        _ => Ok(()),
    }
}
