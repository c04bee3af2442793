//! The scenario file as serde sees it. Every table denies unknown keys and every value
//! keeps its span, so toml's own errors (wrong type, unknown key) and the later checks
//! (unknown step, missing field, bad reference) can name the line.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

pub(crate) type S<T> = Spanned<T>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFile {
    pub name: Option<S<String>>,
    pub description: Option<S<String>>,
    pub profile: Option<S<String>>,
    pub policy: Option<S<String>>,
    pub build_client: Option<S<String>>,
    pub device_timeout_s: Option<S<f64>>,
    #[serde(default)]
    pub user: Vec<S<RawUser>>,
    #[serde(default)]
    pub actor: Vec<S<RawActor>>,
    /// sim-device `[[device]]` entries, handed to its own parser one by one.
    #[serde(default)]
    pub device: Vec<S<toml::Value>>,
    #[serde(default)]
    pub step: Vec<S<RawStep>>,
}

/// `[[user]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawUser {
    pub email: Option<S<String>>,
    pub password: Option<S<String>>,
    pub first_name: Option<S<String>>,
    pub mfa_otp: Option<S<String>>,
}

/// `[[actor]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawActor {
    pub name: Option<S<String>>,
    pub client: Option<S<String>>,
    pub secret: Option<S<String>>,
    pub user_agent: Option<S<String>>,
    pub user: Option<S<String>>,
}

/// `[[step]]`: one flat table for every kind; which fields a kind takes is checked after.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStep {
    #[serde(rename = "do")]
    pub action: Option<S<String>>,
    pub note: Option<S<String>>,
    pub actor: Option<S<String>>,
    pub user: Option<S<String>>,
    pub token: Option<S<String>>,
    pub save_as: Option<S<String>>,
    pub background: Option<S<String>>,
    pub label: Option<S<String>>,
    pub device: Option<S<String>>,
    pub function: Option<S<String>>,
    pub arg: Option<S<String>>,
    pub variable: Option<S<String>>,
    pub event: Option<S<String>>,
    pub data: Option<S<String>>,
    pub private: Option<S<bool>>,
    pub stream: Option<S<String>>,
    pub publish: Option<S<String>>,
    pub within_s: Option<S<f64>>,
    pub method: Option<S<String>>,
    pub path: Option<S<String>>,
    /// Not spanned: a table given by a `[step.form]` header may have no span.
    pub form: Option<BTreeMap<String, String>>,
    pub policy: Option<S<String>>,
    pub days: Option<S<i64>>,
    pub hours: Option<S<i64>>,
    pub minutes: Option<S<i64>>,
    pub secs: Option<S<i64>>,
    pub fault: Option<S<String>>,
    pub from: Option<S<String>>,
    pub otp: Option<S<String>>,
    pub invalidate_tokens: Option<S<bool>>,
    /// Not spanned: `[step.expect.history.x]` makes `expect` a table without a span.
    pub expect: Option<RawExpect>,
}

/// `expect = { … }` or `[step.expect]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawExpect {
    pub status: Option<S<u16>>,
    pub error: Option<S<String>>,
    pub error_description: Option<S<String>>,
    pub body: Option<toml::Table>,
    pub token: Option<S<String>>,
    pub same_as: Option<S<String>>,
    pub valid: Option<S<Vec<S<String>>>>,
    pub invalid: Option<S<Vec<S<String>>>>,
    pub history: Option<BTreeMap<String, RawHistory>>,
    pub event: Option<S<String>>,
    pub data: Option<S<String>>,
    pub device: Option<toml::Table>,
    pub tokens_unchanged: Option<S<bool>>,
}

/// `[step.expect.history.<token>]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHistory {
    pub status: Option<S<String>>,
    pub death: Option<S<String>>,
    pub client: Option<S<String>>,
    pub grant: Option<S<String>>,
    pub policy: Option<S<String>>,
    pub replaced_by: Option<S<String>>,
    pub story: Option<S<String>>,
}

impl RawStep {
    /// The fields that are set, by name, with their spans (for "does not apply" errors).
    pub fn present(
        &self,
        table: std::ops::Range<usize>,
    ) -> Vec<(&'static str, std::ops::Range<usize>)> {
        let mut v = Vec::new();
        if self.form.is_some() {
            v.push(("form", table));
        }
        macro_rules! f {
            ($($name:ident),*) => {$(
                if let Some(x) = &self.$name {
                    v.push((stringify!($name), x.span()));
                }
            )*};
        }
        f!(actor, user, token, save_as, background, label, device, function, arg, variable);
        f!(event, data, private, stream, publish, within_s, method, path, policy);
        f!(
            days,
            hours,
            minutes,
            secs,
            fault,
            from,
            otp,
            invalidate_tokens
        );
        v
    }
}
