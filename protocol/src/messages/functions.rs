//! Cloud functions and variables: the call, the request and the value
//! encodings the Core uses (bool 1 byte, int32 big-endian, double
//! little-endian because the Core copies ARM memory, string raw).

use serde::{Deserialize, Serialize};

use super::MessageError;

/// A function call. The argument travels as Uri-Query options: the Core
/// reads only the first, while spark-server's CoAP library splits the
/// argument on `&` into several.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionCall {
    /// Function name (a Core keeps at most 12 characters).
    pub name: String,
    /// Uri-Query values in order.
    pub args: Vec<String>,
}

impl FunctionCall {
    /// The Core form: the whole argument as one Uri-Query (empty included).
    pub fn new(name: impl Into<String>, arg: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            args: vec![arg.into()],
        }
    }

    /// spark-server's form: the argument split on `&`, so `x&yz` arrives as
    /// two options `x` and `yz`.
    pub fn split_on_ampersand(name: impl Into<String>, arg: &str) -> Self {
        Self {
            name: name.into(),
            args: arg.split('&').map(str::to_owned).collect(),
        }
    }

    /// What a Core passes to the function: the first Uri-Query only.
    pub fn first_arg(&self) -> &str {
        self.args.first().map(String::as_str).unwrap_or("")
    }

    /// The argument as sent before any `&` split.
    pub fn joined_args(&self) -> String {
        self.args.join("&")
    }
}

/// A variable's type code, as in Describe (ASN.1-style numbers). Serialized by its
/// display [`name`](VarType::name), so a cloud can store and show it as is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VarType {
    /// 1: one byte, 0 or 1.
    Bool,
    /// 2: int32, big-endian.
    #[serde(rename = "int32")]
    Int,
    /// 4: raw bytes, no terminator.
    String,
    /// 9: IEEE-754 double, little-endian.
    Double,
}

impl VarType {
    /// The numeric code used in Describe.
    pub fn code(self) -> u8 {
        match self {
            Self::Bool => 1,
            Self::Int => 2,
            Self::String => 4,
            Self::Double => 9,
        }
    }

    /// The type for a Describe code, if known.
    pub fn from_code(code: u64) -> Option<Self> {
        match code {
            1 => Some(Self::Bool),
            2 => Some(Self::Int),
            4 => Some(Self::String),
            9 => Some(Self::Double),
            _ => None,
        }
    }

    /// spark-server's display name ("bool", "int32", "string", "double").
    pub fn name(self) -> &'static str {
        match self {
            Self::Bool => "bool",
            Self::Int => "int32",
            Self::String => "string",
            Self::Double => "double",
        }
    }
}

/// A variable value.
#[derive(Debug, Clone, PartialEq)]
pub enum VarValue {
    /// Bool.
    Bool(bool),
    /// Int32.
    Int(i32),
    /// Double.
    Double(f64),
    /// String bytes (up to 622 on a Core).
    String(Vec<u8>),
}

impl VarValue {
    /// The value's type.
    pub fn var_type(&self) -> VarType {
        match self {
            Self::Bool(_) => VarType::Bool,
            Self::Int(_) => VarType::Int,
            Self::Double(_) => VarType::Double,
            Self::String(_) => VarType::String,
        }
    }

    /// The payload bytes.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Self::Bool(b) => vec![u8::from(*b)],
            Self::Int(i) => i.to_be_bytes().to_vec(),
            Self::Double(d) => d.to_le_bytes().to_vec(),
            Self::String(s) => s.clone(),
        }
    }

    /// Decodes a payload of a known type (the type comes from Describe: the
    /// payload alone does not say). Any non-zero byte reads as true.
    pub fn decode(payload: &[u8], ty: VarType) -> Result<Self, MessageError> {
        let bad = || MessageError::BadPayload {
            what: ty.name(),
            len: payload.len(),
        };
        Ok(match ty {
            VarType::Bool => match payload {
                [b] => Self::Bool(*b != 0),
                _ => return Err(bad()),
            },
            VarType::Int => Self::Int(i32::from_be_bytes(payload.try_into().map_err(|_| bad())?)),
            VarType::Double => {
                Self::Double(f64::from_le_bytes(payload.try_into().map_err(|_| bad())?))
            }
            VarType::String => Self::String(payload.to_vec()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_encodings() {
        assert_eq!(
            VarValue::Int(-98765).encode(),
            hex::decode("fffe7e33").unwrap()
        );
        assert_eq!(
            VarValue::Double(-104.858).encode(),
            hex::decode("f4fdd478e9365ac0").unwrap()
        );
        assert_eq!(VarValue::Bool(true).encode(), vec![1]);
        for v in [
            VarValue::Bool(false),
            VarValue::Int(7),
            VarValue::Double(3.25),
            VarValue::String(b"x".to_vec()),
        ] {
            assert_eq!(VarValue::decode(&v.encode(), v.var_type()).unwrap(), v);
        }
        assert!(VarValue::decode(&[1, 2], VarType::Bool).is_err());
        assert!(VarValue::decode(&[1, 2], VarType::Int).is_err());
        assert!(VarValue::decode(&[1, 2], VarType::Double).is_err());
        let call = FunctionCall::split_on_ampersand("brew", "x&yz");
        assert_eq!(call.args, vec!["x", "yz"]);
        assert_eq!(call.first_arg(), "x");
        assert_eq!(call.joined_args(), "x&yz");
        assert_eq!(VarType::from_code(9), Some(VarType::Double));
        assert_eq!(VarType::from_code(5), None);
    }

    #[test]
    fn types_serialize_by_their_display_name() {
        for ty in [
            VarType::Bool,
            VarType::Int,
            VarType::String,
            VarType::Double,
        ] {
            let json = serde_json::to_value(ty).unwrap();
            assert_eq!(json, serde_json::Value::from(ty.name()));
            assert_eq!(serde_json::from_value::<VarType>(json).unwrap(), ty);
        }
    }
}
