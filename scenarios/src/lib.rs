//! Scenario files and their runner: small TOML stories with actors (a Python script, the
//! phone app, the Build IDE, a core) whose every step is checked, replayed against an
//! in-process spark-mock or any cloud that speaks the API (`--target`). The format is in
//! scenarios/README.md.
//!
//! Layout, from the file to the transcript:
//!
//! - [`format`](mod@format): the typed scenario: users, actors, devices (sim-device entries), steps and
//!   their expectations.
//! - `raw` (private): the file as serde sees it, values spanned so errors name the line.
//! - [`parse`]: TOML text to a [`Scenario`]; `parse::cast` (users, actors, devices),
//!   `parse::step` (the step kinds and the fields each takes), `parse::step::action` (each
//!   kind's action), `parse::step::builder` (references: actors, users, devices, tokens) and
//!   `parse::step::expect`. Unknown steps, missing fields, wrong types and bad references
//!   become [`ScenarioError`]s with the file and the line; nothing panics.
//! - `http` (private): the runner's only way to reach a server: reqwest, one request per API
//!   step, plus spark-mock's `/__mock` admin API.
//! - `target` (private): what the runner controls: its own server, a spark-mock it can
//!   steer through `/__mock` (set up by `target::prepare`), or a foreign cloud (control
//!   steps skipped).
//! - `local` (private): the in-process server (port 0, a state directory, the cached server
//!   key) and its restart.
//! - `devices` (private): the scenario's simulated cores: keys, spawn, wait until the cloud
//!   lists them, take them offline, move them to another address.
//! - `tokens` (private): every token the run has seen, who holds it, when it died and why.
//! - `steps` (private): `account` (signup, logins), `build` (Reset Token on the Build
//!   pages), `api` (use-token steps, background requests), `subscribe`, `control` (policy,
//!   clock, devices, restart) and `expect` (the checks; `expect::server` asks the server).
//! - `world` (private): what a run holds (the server and its control, the devices, the
//!   tokens seen, background requests) and how it starts and stops; the steps act on it.
//! - [`runner`]: runs a scenario step by step through the world and returns a [`Report`].
//! - [`transcript`]: the report, as numbered text with a timeline or as JSON.

mod devices;
pub mod format;
mod http;
mod local;
pub mod parse;
mod raw;
pub mod runner;
mod steps;
mod target;
mod tokens;
pub mod transcript;
mod world;

pub use format::Scenario;
pub use parse::{parse_file, parse_str};
pub use runner::{run, run_file, RunOptions};
pub use transcript::Report;

/// Why a scenario file could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("cannot read {file}: {message}")]
    Read {
        /// The path as given.
        file: String,
        /// The I/O error.
        message: String,
    },
    /// The file is not a valid scenario: TOML syntax, an unknown step, a missing field, a
    /// wrong type or a reference to something the file does not declare.
    #[error("{file}:{line}: {message}")]
    Invalid {
        /// The path as given.
        file: String,
        /// 1-based line of the value, key or table at fault.
        line: usize,
        /// What was expected.
        message: String,
    },
}

impl ScenarioError {
    /// The 1-based line the error points at, if any.
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::Read { .. } => None,
            Self::Invalid { line, .. } => Some(*line),
        }
    }
}
