//! The TOML file as serde sees it. Every table denies unknown keys; spans
//! are kept on entries and on the values that later checks complain about,
//! so those errors can name the line.

use serde::Deserialize;
use toml::Spanned;

use crate::spec::{Mode, Scope};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    #[serde(default)]
    pub fleet: RawFleet,
    #[serde(default)]
    pub device: Vec<Spanned<RawDevice>>,
}

/// `[fleet]`: defaults for every device and fleet-wide settings.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFleet {
    pub key_dir: Option<String>,
    pub shared_key: Option<bool>,
    pub owner: Option<String>,
    pub mode: Option<Mode>,
    pub max_connecting: Option<Spanned<usize>>,
}

/// `[[device]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDevice {
    pub id: Option<Spanned<String>>,
    pub seed: Option<u64>,
    pub id_prefix: Option<Spanned<String>>,
    pub count: Option<Spanned<u32>>,
    pub name: Option<String>,
    pub owner: Option<String>,
    pub key: Option<Spanned<String>>,
    pub shared_key: Option<bool>,
    pub mode: Option<Mode>,
    #[serde(default)]
    pub function: Vec<Spanned<RawFunction>>,
    #[serde(default)]
    pub variable: Vec<Spanned<RawVariable>>,
    #[serde(default)]
    pub publish: Vec<Spanned<RawPublish>>,
    #[serde(default)]
    pub subscribe: Vec<Spanned<RawSubscribe>>,
    pub connection: Option<Spanned<RawConnection>>,
}

/// `[[device.function]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFunction {
    pub name: String,
    #[serde(default)]
    pub behaviour: RawBehaviour,
    pub value: Option<i32>,
    pub variable: Option<String>,
    pub delay_ms: Option<u64>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum RawBehaviour {
    #[default]
    Constant,
    ArgLength,
    SetVariable,
    Toggle,
    Fail,
    Hang,
    Delay,
}

/// `[[device.variable]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawVariable {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: RawType,
    #[serde(default)]
    pub kind: RawKind,
    pub value: Option<toml::Value>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub step: Option<f64>,
    pub period_s: Option<f64>,
    pub choices: Option<Vec<toml::Value>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum RawType {
    Bool,
    #[serde(alias = "int32")]
    Int,
    Double,
    String,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum RawKind {
    #[default]
    Constant,
    Counter,
    RandomWalk,
    Sine,
    Pick,
}

/// `[[device.publish]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPublish {
    pub name: String,
    pub interval_s: f64,
    #[serde(default)]
    pub data: String,
    #[serde(default)]
    pub private: bool,
    pub ttl: Option<u32>,
}

/// `[[device.subscribe]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSubscribe {
    pub prefix: String,
    #[serde(default)]
    pub scope: Scope,
    pub set_variable: Option<String>,
}

/// `[device.connection]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConnection {
    pub backoff_min_ms: Option<u64>,
    pub backoff_max_ms: Option<u64>,
    pub keepalive_s: Option<f64>,
    pub ping_timeout_s: Option<f64>,
    pub answer_delay_ms: Option<u64>,
    pub drop_after_s: Option<f64>,
    pub offline_after_s: Option<f64>,
    pub offline_for_s: Option<f64>,
    pub time_sync: Option<bool>,
    pub disconnect_on_long_arg: Option<bool>,
}
