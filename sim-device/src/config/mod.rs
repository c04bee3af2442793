//! The devices file (TOML). See the crate README for the format.
//!
//! - `raw`: the serde structs (`deny_unknown_fields`, spans kept);
//! - `convert`: raw entries to [`DeviceSpec`]s: ids, `count` expansion,
//!   names, keys, behaviours and kinds, with the checks of
//!   [`crate::spec::Definitions::validate`].
//!
//! Every error names the file and the line (syntax errors also the column).

mod convert;
mod raw;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use crate::spec::DeviceSpec;

/// Default bound on concurrent connects + handshakes in a fleet.
pub const DEFAULT_MAX_CONNECTING: usize = 64;

/// A loaded devices file.
#[derive(Debug, Clone)]
pub struct FleetConfig {
    /// Every device, `count` entries expanded, in file order.
    pub devices: Vec<DeviceSpec>,
    /// `[fleet] key_dir`, resolved against the file's directory.
    pub key_dir: Option<PathBuf>,
    /// `[fleet] max_connecting`: concurrent connects + handshakes.
    pub max_connecting: usize,
}

/// Why a devices file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {file}: {source}")]
    Read {
        /// The path.
        file: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Not valid TOML, or not the expected shape (unknown key, wrong type…).
    #[error("{file}:{line}:{column}: {message}")]
    Syntax {
        /// The path.
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// Valid TOML that breaks a rule (limits, references, ranges, ids).
    #[error("{file}:{line}: {message}")]
    Invalid {
        /// The path.
        file: String,
        /// 1-based line of the entry or value at fault.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

impl ConfigError {
    /// The 1-based line the error points at, if any.
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::Read { .. } => None,
            Self::Syntax { line, .. } | Self::Invalid { line, .. } => Some(*line),
        }
    }
}

impl FleetConfig {
    /// Loads a file; relative key paths and `key_dir` are resolved against
    /// its directory.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            file: path.display().to_string(),
            source,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, &path.display().to_string(), base)
    }

    /// Parses TOML text; `file` names it in errors, `base_dir` resolves
    /// relative paths.
    pub fn parse(text: &str, file: &str, base_dir: &Path) -> Result<Self, ConfigError> {
        let raw: raw::RawFile = toml::from_str(text).map_err(|e| {
            let (line, column) = e.span().map_or((1, 1), |s| line_col(text, s.start));
            ConfigError::Syntax {
                file: file.to_owned(),
                line,
                column,
                message: e.message().to_owned(),
            }
        })?;
        convert::convert(raw, base_dir).map_err(|(offset, message)| ConfigError::Invalid {
            file: file.to_owned(),
            line: line_col(text, offset).0,
            message,
        })
    }
}

/// 1-based line and column of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}
