//! `[[device.variable]]` entries: the type, the kind and the fields each
//! kind takes. A field that the kind does not use is an error, so a typo'd
//! kind does not silently become a constant.

use spark_mock_protocol::messages::{VarType, VarValue};

use super::{fail, secs, Fail};
use crate::config::raw::{RawKind, RawType, RawVariable};
use crate::model::{VarSource, VariableDef};
use crate::spec::check_variable;

pub(super) fn variable(r: &RawVariable, at: usize) -> Result<VariableDef, Fail> {
    let ty = match r.ty {
        RawType::Bool => VarType::Bool,
        RawType::Int => VarType::Int,
        RawType::Double => VarType::Double,
        RawType::String => VarType::String,
    };
    let (kind, allowed): (&str, &[&str]) = match r.kind {
        RawKind::Constant => ("constant", &["value"]),
        RawKind::Counter => ("counter", &["value", "step"]),
        RawKind::RandomWalk => ("random_walk", &["value", "min", "max", "step"]),
        RawKind::Sine => ("sine", &["min", "max", "period_s"]),
        RawKind::Pick => ("pick", &["choices"]),
    };
    let present = [
        ("value", r.value.is_some()),
        ("min", r.min.is_some()),
        ("max", r.max.is_some()),
        ("step", r.step.is_some()),
        ("period_s", r.period_s.is_some()),
        ("choices", r.choices.is_some()),
    ];
    for (field, is_set) in present {
        if is_set && !allowed.contains(&field) {
            return fail(at, format!("`{field}` does not apply to kind {kind}"));
        }
    }
    let need = |v: Option<f64>, field: &str| {
        v.map_or_else(|| fail(at, format!("kind {kind} needs `{field}`")), Ok)
    };
    let number = |v: Option<&toml::Value>, default: f64| match v {
        None => Ok(default),
        Some(toml::Value::Integer(i)) => Ok(*i as f64),
        Some(toml::Value::Float(f)) => Ok(*f),
        Some(toml::Value::Boolean(b)) => Ok(f64::from(u8::from(*b))),
        Some(_) => fail(at, format!("kind {kind} needs a numeric `value`")),
    };
    let source = match r.kind {
        RawKind::Constant => VarSource::Constant(match &r.value {
            Some(v) => typed(ty, v, at)?,
            None => zero(ty),
        }),
        RawKind::Counter => VarSource::Counter {
            start: number(r.value.as_ref(), 0.0)?,
            step: r.step.unwrap_or(1.0),
        },
        RawKind::RandomWalk => {
            let (min, max) = (need(r.min, "min")?, need(r.max, "max")?);
            VarSource::RandomWalk {
                start: number(r.value.as_ref(), (min + max) / 2.0)?,
                min,
                max,
                step: r.step.unwrap_or((max - min) / 20.0),
            }
        }
        RawKind::Sine => VarSource::Sine {
            min: need(r.min, "min")?,
            max: need(r.max, "max")?,
            period: secs(Some(need(r.period_s, "period_s")?), at, "period_s")?.unwrap_or_default(),
        },
        RawKind::Pick => VarSource::Pick(
            (r.choices.iter().flatten())
                .map(|v| typed(ty, v, at))
                .collect::<Result<_, _>>()?,
        ),
    };
    let def = VariableDef::new(&r.name, ty, source);
    check_variable(&def).or_else(|e| fail(at, e.to_string()))?;
    Ok(def)
}

fn zero(ty: VarType) -> VarValue {
    match ty {
        VarType::Bool => VarValue::Bool(false),
        VarType::Int => VarValue::Int(0),
        VarType::Double => VarValue::Double(0.0),
        VarType::String => VarValue::String(Vec::new()),
    }
}

/// A TOML value as a value of `ty`: bool for bool, an integer in range for
/// int32, any number for double, a string for string.
fn typed(ty: VarType, v: &toml::Value, at: usize) -> Result<VarValue, Fail> {
    Ok(match (ty, v) {
        (VarType::Bool, toml::Value::Boolean(b)) => VarValue::Bool(*b),
        (VarType::Int, toml::Value::Integer(i)) => match i32::try_from(*i) {
            Ok(i) => VarValue::Int(i),
            Err(_) => return fail(at, format!("{i} does not fit an int32")),
        },
        (VarType::Double, toml::Value::Integer(i)) => VarValue::Double(*i as f64),
        (VarType::Double, toml::Value::Float(f)) => VarValue::Double(*f),
        (VarType::String, toml::Value::String(s)) => VarValue::String(s.clone().into_bytes()),
        _ => return fail(at, format!("{v} is not a {} value", ty.name())),
    })
}
