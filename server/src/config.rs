//! Server configuration: what the CLI, the seed file and tests choose at start.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Re-exported: the policies are domain rules, chosen here at start.
pub use crate::domain::policy::PolicyKind;

/// Which era of the cloud the HTTP API imitates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// The 2014 Spark cloud (api.spark.io): `{code,error,error_description}` errors,
    /// bad tokens as 400 invalid_grant, any client id accepted.
    #[serde(rename = "spark-2014")]
    Spark2014,
    /// Today's Particle cloud (api.particle.io): `{error,error_description}` errors,
    /// bad tokens as 401 invalid_token, a client table.
    Particle,
}

impl Profile {
    /// The token policy a profile starts with unless told otherwise.
    pub fn default_policy(self) -> PolicyKind {
        match self {
            Profile::Spark2014 => PolicyKind::Single,
            Profile::Particle => PolicyKind::Multi,
        }
    }

    /// Whether a profile checks OAuth clients against the table by default.
    pub fn default_client_check(self) -> ClientCheck {
        match self {
            Profile::Spark2014 => ClientCheck::Any,
            Profile::Particle => ClientCheck::Table,
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Profile::Spark2014 => "spark-2014",
            Profile::Particle => "particle",
        })
    }
}

impl FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "spark-2014" | "spark2014" | "spark" | "2014" => Ok(Profile::Spark2014),
            "particle" => Ok(Profile::Particle),
            other => Err(format!(
                "unknown profile `{other}`: expected `spark-2014` or `particle`"
            )),
        }
    }
}

/// Whether `/oauth/token` checks client credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClientCheck {
    /// Any client id matching `[a-z0-9-_]{3,40}` with any non-empty secret (the 2014 cloud).
    Any,
    /// Only clients in the table, with their secret (today's cloud).
    Table,
}

impl FromStr for ClientCheck {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "any" => Ok(ClientCheck::Any),
            "table" => Ok(ClientCheck::Table),
            other => Err(format!(
                "unknown client check `{other}`: expected `any` or `table`"
            )),
        }
    }
}

/// Everything the server needs to start. Built by the CLI or by tests.
#[derive(Clone, Debug)]
pub struct Config {
    pub profile: Profile,
    pub policy: PolicyKind,
    pub client_check: ClientCheck,
    /// The client id whose password grants never rotate the token (the Build web IDE).
    pub build_client_id: String,
    /// PBKDF2-HMAC-SHA256 iterations for stored passwords. Tests lower it.
    pub password_iterations: u32,
    /// Default access-token lifetime in seconds (90 days in every era).
    pub token_lifetime_secs: i64,
    /// Refresh-token lifetime in seconds (14 days in the particle profile).
    pub refresh_lifetime_secs: i64,
    /// How long, by the mock's clock, a dead token (expired or invalidated, its refresh
    /// token dead too) keeps its history before it is forgotten (30 days).
    pub token_retention_secs: i64,
    /// The TOML seed file, if any.
    pub seed_file: Option<PathBuf>,
    /// Largest accepted request body.
    pub body_limit: usize,
    /// HTTP: how long a client has to send a complete request head, counted from the
    /// connection's start or from the first byte of a later request. Then the connection closes.
    pub header_timeout: std::time::Duration,
    /// HTTP: how long a keep-alive connection may wait for its next request. A response still
    /// streaming (an event stream) is not idle.
    pub idle_timeout: std::time::Duration,
    /// HTTP: how long a request body has to arrive in full once its head has; then 408.
    pub body_timeout: std::time::Duration,
    /// HTTP: connections served in full at once; beyond it only `/server/health` and
    /// `/__mock` answer. `None`: half the open-file limit, at most 10,000, so idle
    /// connections cannot use up the descriptors the health check needs.
    pub max_connections: Option<usize>,
    /// How long a function call or variable read waits for the device (30 s, as the
    /// original `coreRequestTimeout`). Tests use a short one.
    pub device_timeout: std::time::Duration,
    /// Accept unknown devices that append their public key to the handshake (Photon style).
    /// Off rejects them, as the real cloud does.
    pub auto_provision: bool,
    /// Apply the particle cloud's documented rate limits (429s). Off by default.
    pub rate_limits: bool,
    /// Where users, tokens, clients, devices and the server key are kept across restarts;
    /// `None` keeps everything in memory.
    pub state_dir: Option<PathBuf>,
    /// When set, the `/__mock` admin API requires this token from every caller; when not,
    /// it answers loopback clients only.
    pub admin_token: Option<String>,
    /// Seed of the generator that decides "error with probability p" faults.
    pub fault_seed: u64,
    /// Device port: the limit on each handshake step and on the wait for Hello (30 s, as
    /// spark-protocol's per-step timeout).
    pub handshake_timeout: std::time::Duration,
    /// Device port: the server pings a device that has been silent this long (15 s, the
    /// Core's own keepalive period).
    pub device_ping_interval: std::time::Duration,
    /// Device port: a device silent this long is dropped (31 s, the Brewskey server's
    /// socket timeout: a live Core is never silent for more than 15 s + a ping round trip).
    pub device_idle_timeout: std::time::Duration,
    /// Device port: a write to a device that blocks this long drops the connection (a
    /// device that stopped reading).
    pub device_write_timeout: std::time::Duration,
    /// Device port: connections served at once (10,000). At the cap the port stops accepting
    /// until one closes; the next device waits in the listen backlog. Each connection holds
    /// a descriptor: keep it below the open-file limit.
    pub device_max_connections: usize,
    /// Device port: the largest frame accepted from a device (the Core's buffer is 640
    /// bytes; later firmware sends more).
    pub device_max_frame: usize,
    /// The server's RSA-2048 key. `None` loads `<state_dir>/server_key.pem` or generates
    /// it on first use; tests pass one in, because generating it is slow in debug builds.
    pub server_key: Option<std::sync::Arc<spark_mock_protocol::ServerKey>>,
}

impl Config {
    /// The defaults of a profile: its policy and client check, 90-day tokens.
    pub fn for_profile(profile: Profile) -> Self {
        Config {
            profile,
            policy: profile.default_policy(),
            client_check: profile.default_client_check(),
            build_client_id: "spark-build".to_string(),
            password_iterations: 10_000,
            token_lifetime_secs: 7_776_000,
            refresh_lifetime_secs: 1_209_600,
            token_retention_secs: 30 * 86_400,
            seed_file: None,
            body_limit: 1024 * 1024,
            header_timeout: std::time::Duration::from_secs(30),
            idle_timeout: std::time::Duration::from_secs(30),
            body_timeout: std::time::Duration::from_secs(30),
            max_connections: None,
            device_timeout: std::time::Duration::from_secs(30),
            auto_provision: true,
            rate_limits: false,
            fault_seed: 0,
            admin_token: None,
            state_dir: None,
            handshake_timeout: std::time::Duration::from_secs(30),
            device_ping_interval: std::time::Duration::from_secs(15),
            device_idle_timeout: std::time::Duration::from_secs(31),
            device_write_timeout: std::time::Duration::from_secs(20),
            device_max_connections: 10_000,
            device_max_frame: 2048,
            server_key: None,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::for_profile(Profile::Spark2014)
    }
}
