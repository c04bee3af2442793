//! The command line. Every flag has a `SPARK_MOCK_*` environment twin.

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use spark_mock_server::{ClientCheck, PolicyKind, Profile};

#[derive(Parser, Debug)]
#[command(
    name = "spark-mock",
    version,
    about = "A faithful local stand-in for the Spark / Particle cloud"
)]
pub struct Cli {
    /// Log filter, e.g. `info` or `spark_mock_server=debug` (RUST_LOG overrides it).
    #[arg(long, global = true, env = "SPARK_MOCK_LOG", default_value = "info")]
    pub log: String,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the cloud API.
    Serve(ServeOpts),
    /// Serve with a built-in demo user and print ready-to-paste curl lines.
    Demo(ServeOpts),
    /// Run simulated Spark Cores from a TOML file against a cloud.
    Sim(crate::sim::SimOpts),
    /// Benchmarks that print their figures (build with --release).
    Bench(crate::bench::BenchOpts),
    /// Scenarios: stories with actors, run step by step and checked.
    Scenario(crate::scenario::ScenarioOpts),
}

/// Longest retention accepted: a century, far from the clock's limits.
const MAX_RETENTION_SECS: i64 = 100 * 365 * 86_400;

/// `30d`, `12h`, `90m`, `3600s` (or `0`) → seconds.
fn parse_retention(s: &str) -> Result<i64, String> {
    let s = s.trim();
    if s == "0" {
        return Ok(0);
    }
    let (number, unit) = s.split_at(s.len().saturating_sub(1));
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "`{s}`: give a number with a unit: s, m, h or d (e.g. 30d)"
            ))
        }
    };
    let n: i64 = number
        .parse()
        .map_err(|_| format!("`{s}`: expected a whole number before the unit (e.g. 30d)"))?;
    n.checked_mul(scale)
        .filter(|secs| (0..=MAX_RETENTION_SECS).contains(secs))
        .ok_or_else(|| format!("`{s}`: between 0 and 36500d"))
}

#[derive(Args, Debug, Clone)]
pub struct ServeOpts {
    /// Address to listen on.
    #[arg(long, env = "SPARK_MOCK_HOST", default_value = "127.0.0.1")]
    pub host: String,
    /// HTTP port; 0 picks any free port (the bound address is printed).
    #[arg(long, env = "SPARK_MOCK_PORT", default_value_t = 8080)]
    pub port: u16,
    /// Which cloud to imitate: `spark-2014` or `particle`.
    #[arg(long, env = "SPARK_MOCK_PROFILE", default_value = "spark-2014")]
    pub profile: Profile,
    /// Token policy: `single`, `per-client` or `multi` (default: the profile's).
    #[arg(long, env = "SPARK_MOCK_POLICY")]
    pub policy: Option<PolicyKind>,
    /// TOML seed file with users, tokens and clients.
    #[arg(long, env = "SPARK_MOCK_SEED")]
    pub seed: Option<PathBuf>,
    /// OAuth client check: `any` (2014) or `table` (default: the profile's).
    #[arg(long, env = "SPARK_MOCK_CLIENTS")]
    pub clients: Option<ClientCheck>,
    /// The Build web IDE's client id, whose logins never rotate the token.
    #[arg(long, env = "SPARK_MOCK_BUILD_CLIENT", default_value = "spark-build")]
    pub build_client: String,
    /// Apply the particle cloud's documented rate limits (429s).
    #[arg(long, env = "SPARK_MOCK_RATE_LIMITS")]
    pub rate_limits: bool,
    /// Seconds a function call or variable read waits for a device.
    #[arg(long, env = "SPARK_MOCK_DEVICE_TIMEOUT", default_value = "30", value_parser = seconds)]
    pub device_timeout: Duration,
    /// PBKDF2 iterations for stored passwords.
    #[arg(long, env = "SPARK_MOCK_PASSWORD_ITERATIONS", default_value_t = 10_000)]
    pub password_iterations: u32,
    /// Address the device port (the Spark Core protocol over TCP) listens on.
    #[arg(long, env = "SPARK_MOCK_DEVICE_HOST", default_value = "127.0.0.1")]
    pub device_host: String,
    /// Device port; 0 picks any free port (the bound address is printed).
    #[arg(long, env = "SPARK_MOCK_DEVICE_PORT", default_value_t = 5683)]
    pub device_port: u16,
    /// Directory for state kept across restarts, including the server key
    /// (`server_key.pem`, generated on first start); a temporary one when not given.
    #[arg(long, env = "SPARK_MOCK_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// How long a dead token's history is kept, by the mock's clock, before it is forgotten:
    /// a number with a unit, `s`, `m`, `h` or `d` (`30d`, `12h`).
    #[arg(long, env = "SPARK_MOCK_TOKEN_RETENTION", default_value = "30d", value_parser = parse_retention)]
    pub token_retention: i64,
    /// Refuse unknown devices even when they append their public key to the handshake
    /// (Photon style), as the real cloud does.
    #[arg(long, env = "SPARK_MOCK_NO_AUTO_PROVISION")]
    pub no_auto_provision: bool,
    /// Let non-loopback clients use the `/__mock` admin API with this token
    /// (`X-Admin-Token` header); without it the admin API answers loopback only.
    #[arg(long, env = "SPARK_MOCK_ADMIN_TOKEN")]
    pub admin_token: Option<String>,
    /// Seed of the generator behind "error with probability p" faults.
    #[arg(long, env = "SPARK_MOCK_FAULT_SEED", default_value_t = 0)]
    pub fault_seed: u64,
    /// Seconds an HTTP client has to send a request's headers, from connecting (or from the
    /// first byte of a later request); then the connection closes.
    #[arg(long, env = "SPARK_MOCK_HEADER_TIMEOUT", default_value = "30", value_parser = seconds)]
    pub header_timeout: Duration,
    /// Seconds a keep-alive HTTP connection may wait for its next request (an event stream
    /// is never idle).
    #[arg(long, env = "SPARK_MOCK_IDLE_TIMEOUT", default_value = "30", value_parser = seconds)]
    pub idle_timeout: Duration,
    /// Seconds a request body has to arrive in full; then 408.
    #[arg(long, env = "SPARK_MOCK_BODY_TIMEOUT", default_value = "30", value_parser = seconds)]
    pub body_timeout: Duration,
    /// HTTP connections served in full at once; beyond it only /server/health and /__mock
    /// answer (default: half the open-file limit, at most 10000).
    #[arg(long, env = "SPARK_MOCK_MAX_CONNECTIONS")]
    pub max_connections: Option<NonZeroUsize>,
    /// Device connections served at once; at the cap the device port stops accepting until
    /// one closes, so the next device waits in the listen backlog.
    #[arg(
        long,
        env = "SPARK_MOCK_MAX_DEVICE_CONNECTIONS",
        default_value = "10000"
    )]
    pub max_device_connections: NonZeroUsize,
}

/// A positive, finite number of seconds.
fn seconds(s: &str) -> Result<Duration, String> {
    let why = || format!("`{s}`: expected a number of seconds greater than 0");
    let secs: f64 = s.trim().parse().map_err(|_| why())?;
    match Duration::try_from_secs_f64(secs) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(why()),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_retention;

    #[test]
    fn retention_takes_a_unit_and_refuses_what_it_cannot_mean() {
        assert_eq!(parse_retention("30d"), Ok(30 * 86_400));
        assert_eq!(parse_retention("12h"), Ok(12 * 3_600));
        assert_eq!(parse_retention("90m"), Ok(5_400));
        assert_eq!(parse_retention("45s"), Ok(45));
        assert_eq!(parse_retention("0"), Ok(0));
        for bad in [
            "30",
            "d",
            "-1d",
            "1.5d",
            "3w",
            "",
            "36501d",
            "99999999999999999d",
        ] {
            assert!(parse_retention(bad).is_err(), "{bad:?} accepted");
        }
    }
}
