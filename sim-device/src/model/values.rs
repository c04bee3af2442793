//! Typed values from and to text: function arguments and event data that
//! set a variable, and `${var}` placeholders in publish templates.

use spark_mock_protocol::messages::{VarType, VarValue};

use super::MAX_STRING_LEN;

/// Text that is not a value of the wanted type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a {ty} value")]
pub struct ValueError {
    /// The text.
    pub text: String,
    /// The type's name.
    pub ty: &'static str,
}

/// Parses `text` as a value of `ty`. Bools accept 1/0, true/false, on/off,
/// high/low (any case); numbers are trimmed; strings are kept as they are
/// (cut to 622 bytes, the most a Core can send).
pub fn parse_value(ty: VarType, text: &str) -> Result<VarValue, ValueError> {
    let err = || ValueError {
        text: text.to_owned(),
        ty: ty.name(),
    };
    let t = text.trim();
    Ok(match ty {
        VarType::Bool => match t.to_ascii_lowercase().as_str() {
            "1" | "true" | "on" | "high" => VarValue::Bool(true),
            "0" | "false" | "off" | "low" => VarValue::Bool(false),
            _ => return Err(err()),
        },
        VarType::Int => VarValue::Int(t.parse().map_err(|_| err())?),
        VarType::Double => {
            let d: f64 = t.parse().map_err(|_| err())?;
            if !d.is_finite() {
                return Err(err());
            }
            VarValue::Double(d)
        }
        VarType::String => {
            let mut bytes = text.as_bytes().to_vec();
            bytes.truncate(MAX_STRING_LEN);
            VarValue::String(bytes)
        }
    })
}

/// A value as template text: `true`/`false`, decimal int, the shortest
/// round-tripping decimal for a double, the string itself.
pub fn value_text(v: &VarValue) -> String {
    match v {
        VarValue::Bool(b) => b.to_string(),
        VarValue::Int(i) => i.to_string(),
        VarValue::Double(d) => d.to_string(),
        VarValue::String(s) => String::from_utf8_lossy(s).into_owned(),
    }
}

/// A number produced by a numeric kind, as a value of `ty`.
pub(super) fn from_number(ty: VarType, x: f64) -> VarValue {
    match ty {
        VarType::Bool => VarValue::Bool(x != 0.0),
        // `as` saturates and maps NaN to 0.
        VarType::Int => VarValue::Int(x.round() as i32),
        VarType::Double => VarValue::Double(x),
        VarType::String => VarValue::String(x.to_string().into_bytes()),
    }
}

/// A value as a number (for toggling).
pub(super) fn as_number(v: &VarValue) -> f64 {
    match v {
        VarValue::Bool(b) => f64::from(u8::from(*b)),
        VarValue::Int(i) => f64::from(*i),
        VarValue::Double(d) => *d,
        VarValue::String(s) => String::from_utf8_lossy(s).trim().parse().unwrap_or(0.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_renders() {
        assert_eq!(parse_value(VarType::Bool, "ON"), Ok(VarValue::Bool(true)));
        assert_eq!(parse_value(VarType::Bool, "0"), Ok(VarValue::Bool(false)));
        assert!(parse_value(VarType::Bool, "maybe").is_err());
        assert_eq!(parse_value(VarType::Int, " -5 "), Ok(VarValue::Int(-5)));
        assert!(parse_value(VarType::Int, "5000000000").is_err());
        assert_eq!(
            parse_value(VarType::Double, "3.25"),
            Ok(VarValue::Double(3.25))
        );
        assert!(parse_value(VarType::Double, "NaN").is_err());
        let long = "x".repeat(700);
        assert_eq!(
            parse_value(VarType::String, &long),
            Ok(VarValue::String(vec![b'x'; MAX_STRING_LEN]))
        );
        assert_eq!(value_text(&VarValue::Double(21.5)), "21.5");
        assert_eq!(value_text(&VarValue::Bool(true)), "true");
        assert_eq!(from_number(VarType::Int, 2.6), VarValue::Int(3));
        assert_eq!(
            from_number(VarType::String, 3.0),
            VarValue::String(b"3".to_vec())
        );
        assert_eq!(as_number(&VarValue::String(b" 4 ".to_vec())), 4.0);
    }
}
