//! What a device offers the cloud: functions and variables, with the Core's
//! limits (4 functions, 10 variables, names truncated to 12 characters,
//! arguments of up to 63 characters).
//!
//! - this file: the definitions ([`FunctionDef`], [`Behaviour`],
//!   [`VariableDef`], [`VarSource`]) and the limits;
//! - `values`: parsing text into a typed value and rendering values as text;
//! - `runtime`: [`Model`], one device's live state (seeded RNG, counters,
//!   values set by functions or events).

mod runtime;
#[cfg(test)]
mod tests;
mod values;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use runtime::{placeholders, Call, CallOutcome, Model, SetError};
pub use values::{parse_value, value_text, ValueError};

use spark_mock_protocol::messages::{VarType, VarValue};

/// Functions a Core can register (`USER_FUNC_MAX_COUNT`).
pub const MAX_FUNCTIONS: usize = 4;
/// Variables a Core can register (`USER_VAR_MAX_COUNT`).
pub const MAX_VARIABLES: usize = 10;
/// Function and variable names are truncated to this many characters.
pub const MAX_NAME_LEN: usize = 12;
/// The longest function argument a Core accepts (64-byte buffer with NUL).
pub const MAX_ARG_LEN: usize = 63;
/// The longest string variable a Core can send (640 − 2 − 16).
pub const MAX_STRING_LEN: usize = 622;

/// A function implemented in Rust: gets the argument, returns the int32.
pub type FunctionFn = Arc<dyn Fn(&str) -> i32 + Send + Sync>;
/// A variable implemented in Rust: returns the current value. The builder's
/// typed helpers guarantee it matches the declared type.
pub type VariableFn = Arc<dyn Fn() -> VarValue + Send + Sync>;

/// Truncates a name to [`MAX_NAME_LEN`] characters, like the Core.
pub fn truncate_name(name: &str) -> String {
    name.chars().take(MAX_NAME_LEN).collect()
}

/// What a function does when called.
#[derive(Clone)]
pub enum Behaviour {
    /// Returns this value.
    Constant(i32),
    /// Returns the argument's length in bytes.
    ArgLength,
    /// Sets the variable from the argument (parsed by its type); returns 1,
    /// or -1 if the argument does not parse.
    SetVariable(String),
    /// Flips a bool/int variable (or an internal flag when `None`) and
    /// returns the new state, 1 or 0.
    Toggle(Option<String>),
    /// Returns -1.
    Fail,
    /// Sends the empty ACK and never the return value.
    Hang,
    /// Rust code.
    Custom(FunctionFn),
}

impl fmt::Debug for Behaviour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Constant(v) => write!(f, "Constant({v})"),
            Self::ArgLength => f.write_str("ArgLength"),
            Self::SetVariable(v) => write!(f, "SetVariable({v:?})"),
            Self::Toggle(v) => write!(f, "Toggle({v:?})"),
            Self::Fail => f.write_str("Fail"),
            Self::Hang => f.write_str("Hang"),
            Self::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

/// A cloud function.
#[derive(Debug, Clone)]
pub struct FunctionDef {
    /// Name, already truncated to 12 characters.
    pub name: String,
    /// What it does.
    pub behaviour: Behaviour,
    /// How long the device takes before sending the return value.
    pub delay: Duration,
}

impl FunctionDef {
    /// A function; the name is truncated to 12 characters.
    pub fn new(name: &str, behaviour: Behaviour) -> Self {
        Self {
            name: truncate_name(name),
            behaviour,
            delay: Duration::ZERO,
        }
    }

    /// Sends the return value `delay` late (builder style).
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// Where a variable's value comes from. Numeric kinds produce a number that
/// is converted to the variable's type (rounded for int32, `!= 0` for bool,
/// decimal text for string).
#[derive(Clone)]
pub enum VarSource {
    /// Always this value (until a function or event sets it).
    Constant(VarValue),
    /// `start`, `start + step`, … one step per evaluation.
    Counter { start: f64, step: f64 },
    /// Starts at `start`, then moves by a seeded amount in `[-step, step]`
    /// per evaluation, clamped to `[min, max]`.
    RandomWalk {
        start: f64,
        min: f64,
        max: f64,
        step: f64,
    },
    /// Oscillates between `min` and `max` with this period (wall time since
    /// the device started).
    Sine {
        min: f64,
        max: f64,
        period: Duration,
    },
    /// One of these, chosen by the seeded RNG at each evaluation.
    Pick(Vec<VarValue>),
    /// Rust code.
    Custom(VariableFn),
}

impl fmt::Debug for VarSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Constant(v) => write!(f, "Constant({v:?})"),
            Self::Counter { start, step } => write!(f, "Counter({start}, {step})"),
            Self::RandomWalk {
                start,
                min,
                max,
                step,
            } => write!(f, "RandomWalk({start}, {min}..{max}, {step})"),
            Self::Sine { min, max, period } => write!(f, "Sine({min}..{max}, {period:?})"),
            Self::Pick(v) => write!(f, "Pick({v:?})"),
            Self::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

/// A cloud variable.
#[derive(Debug, Clone)]
pub struct VariableDef {
    /// Name, already truncated to 12 characters.
    pub name: String,
    /// Declared type (sent in Describe).
    pub ty: VarType,
    /// Where the value comes from.
    pub source: VarSource,
}

impl VariableDef {
    /// A variable; the name is truncated to 12 characters.
    pub fn new(name: &str, ty: VarType, source: VarSource) -> Self {
        Self {
            name: truncate_name(name),
            ty,
            source,
        }
    }

    /// A constant variable whose type is the value's.
    pub fn constant(name: &str, value: VarValue) -> Self {
        Self::new(name, value.var_type(), VarSource::Constant(value))
    }
}
