//! Describe: the JSON a device returns listing its functions and variables,
//! `{"f":["brew"],"v":{"temperature":2}}` with no spaces, plus the optional
//! `"m"` member that Device OS's system describe carries (Brewskey waits
//! for it).

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use super::functions::VarType;
use super::MessageError;

/// A device's description.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Description {
    /// Function names, in order.
    pub functions: Vec<String>,
    /// Variables and their types, in order (JSON object order is kept).
    pub variables: Vec<(String, VarType)>,
    /// Device OS's `"m"` member (modules), kept as raw JSON.
    pub m: Option<serde_json::Value>,
}

impl Description {
    /// The JSON payload, byte-exact with the Core's encoder.
    pub fn encode(&self) -> Vec<u8> {
        let mut s = String::from("{\"f\":[");
        for (i, f) in self.functions.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            push_json_string(&mut s, f);
        }
        s.push_str("],\"v\":{");
        for (i, (name, ty)) in self.variables.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            push_json_string(&mut s, name);
            s.push(':');
            s.push_str(&ty.code().to_string());
        }
        s.push('}');
        if let Some(m) = &self.m {
            s.push_str(",\"m\":");
            s.push_str(&m.to_string());
        }
        s.push('}');
        s.into_bytes()
    }

    /// Parses the JSON payload. Missing members read as empty; an unknown
    /// type code is an error.
    pub fn decode(payload: &[u8]) -> Result<Self, MessageError> {
        let raw: Raw =
            serde_json::from_slice(payload).map_err(|e| MessageError::Json(e.to_string()))?;
        let variables = raw
            .v
            .0
            .into_iter()
            .map(|(name, code)| {
                VarType::from_code(code)
                    .map(|t| (name, t))
                    .ok_or(MessageError::UnknownVarType(code))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            functions: raw.f,
            variables,
            m: raw.m,
        })
    }

    /// The type of variable `name`, if declared.
    pub fn variable_type(&self, name: &str) -> Option<VarType> {
        self.variables
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| *t)
    }
}

fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[derive(Deserialize)]
struct Raw {
    #[serde(default)]
    f: Vec<String>,
    #[serde(default)]
    v: OrderedVars,
    #[serde(default)]
    m: Option<serde_json::Value>,
}

/// The `"v"` object with its order kept (serde_json's map would sort it).
#[derive(Default)]
struct OrderedVars(Vec<(String, u64)>);

impl<'de> Deserialize<'de> for OrderedVars {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = OrderedVars;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of variable name to type code")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OrderedVars, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry::<String, u64>()? {
                    out.push(entry);
                }
                Ok(OrderedVars(out))
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_keeps_order() {
        let d = Description {
            functions: vec!["brew".into(), "q\"x".into()],
            variables: vec![
                ("zeta".into(), VarType::Double),
                ("alpha".into(), VarType::Bool),
            ],
            m: Some(serde_json::json!([{"s": 1}])),
        };
        let bytes = d.encode();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            r#"{"f":["brew","q\"x"],"v":{"zeta":9,"alpha":1},"m":[{"s":1}]}"#
        );
        assert_eq!(Description::decode(&bytes).unwrap(), d);
        assert_eq!(d.variable_type("alpha"), Some(VarType::Bool));
        assert_eq!(Description::decode(b"{}").unwrap(), Description::default());
        assert!(matches!(
            Description::decode(br#"{"v":{"a":3}}"#),
            Err(MessageError::UnknownVarType(3))
        ));
        assert!(Description::decode(b"{not json").is_err());
    }
}
