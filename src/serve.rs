//! Binding, the banner and graceful shutdown for `serve` and `demo`.

use anyhow::Context;
use spark_mock_server::seed::{Seed, SeedToken, SeedUser};
use spark_mock_server::{AppState, Config};
use tokio::net::TcpListener;

use crate::cli::ServeOpts;
use crate::demo::Cores;

/// The demo user, shown in the README and the banner.
pub const DEMO_USER: &str = "demo@spark-mock.local";
pub const DEMO_PASSWORD: &str = "spark-mock-demo";
/// A seeded token for the demo user, so the first curl line works before any login.
pub const DEMO_TOKEN: &str = "5ee0de7000000000000000000000000000000001";

/// Prints a line to stdout, ignoring a closed pipe: `spark-mock serve | head -1` must not
/// take the server down at its next line, as `println!` would.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

fn config(opts: &ServeOpts) -> Config {
    let mut config = Config::for_profile(opts.profile);
    if let Some(p) = opts.policy {
        config.policy = p;
    }
    if let Some(c) = opts.clients {
        config.client_check = c;
    }
    config.seed_file = opts.seed.clone();
    config.build_client_id = opts.build_client.clone();
    config.password_iterations = opts.password_iterations;
    config.rate_limits = opts.rate_limits;
    config.device_timeout = opts.device_timeout.clamp(
        std::time::Duration::from_millis(1),
        std::time::Duration::from_secs(3600),
    );
    config.state_dir = opts.state_dir.clone();
    config.token_retention_secs = opts.token_retention;
    config.auto_provision = !opts.no_auto_provision;
    config.admin_token = opts.admin_token.clone();
    config.fault_seed = opts.fault_seed;
    config.header_timeout = opts.header_timeout;
    config.idle_timeout = opts.idle_timeout;
    config.body_timeout = opts.body_timeout;
    config.max_connections = opts.max_connections.map(|n| n.get());
    config.device_max_connections = opts.max_device_connections.get();
    config
}

/// Serves until Ctrl-C or SIGTERM. `demo` (its seed and cores) replaces the seed file,
/// connects the cores and turns on the demo banner.
pub async fn serve(opts: ServeOpts, demo: Option<(Seed, Cores)>) -> anyhow::Result<()> {
    let config = config(&opts);
    let (state, cores) = match demo {
        Some((seed, cores)) => (AppState::with_seed(config.clone(), &seed)?, Some(cores)),
        None => (AppState::new(config.clone())?, None),
    };
    let listener = TcpListener::bind((opts.host.as_str(), opts.port))
        .await
        .with_context(|| format!("cannot listen on {}:{}", opts.host, opts.port))?;
    let addr = listener.local_addr()?;
    let (dhost, dport) = (opts.device_host.as_str(), opts.device_port);
    let devices = TcpListener::bind((dhost, dport)).await.with_context(|| {
        format!("cannot listen for devices on {dhost}:{dport} (--device-port 0 picks a free port)")
    })?;
    let device_addr = devices.local_addr()?;
    // Handlers go in before the banner: whoever reads "listening on" may signal at once.
    let signal = shutdown_signal().context("cannot install signal handlers")?;
    let shutdown = state.shutdown().clone();
    tokio::spawn(async move {
        signal.await;
        shutdown.trigger();
    });
    reload_on_sighup(state.clone());
    say!(
        "spark-mock listening on http://{addr} (profile {}, token policy {})",
        config.profile,
        config.policy
    );
    let auto = if config.auto_provision { "on" } else { "off" };
    say!("spark-mock devices listening on tcp://{device_addr} (auto-provisioning {auto})");
    // The demo's cores connect as soon as the device port serves; their handles live as long
    // as the server does.
    let _cores = match cores {
        Some(cores) => {
            let handles = cores.start(&state, device_addr).await?;
            print_demo_banner(&format!("http://{addr}"));
            handles
        }
        None => Vec::new(),
    };
    spark_mock_server::run_with_devices(listener, Some(devices), state).await?;
    say!("spark-mock stopped");
    Ok(())
}

pub async fn demo(opts: ServeOpts) -> anyhow::Result<()> {
    let mut seed = match &opts.seed {
        Some(path) => Seed::from_file(path)?,
        None => Seed::default(),
    };
    seed.users.push(SeedUser {
        username: DEMO_USER.to_string(),
        password: DEMO_PASSWORD.to_string(),
        first_name: Some("Demo".to_string()),
        last_name: Some("User".to_string()),
        tokens: vec![SeedToken {
            token: Some(DEMO_TOKEN.to_string()),
            client: "spark".to_string(),
            expires_in: Some(0),
        }],
        builtin: true,
        ..SeedUser::default()
    });
    let cores = Cores::new().await?;
    seed.devices.extend(cores.seed_devices()?);
    serve(opts, Some((seed, cores))).await
}

fn print_demo_banner(url: &str) {
    let auth = format!("-H \"Authorization: Bearer {DEMO_TOKEN}\"");
    say!(
        r#"
Demo user: {DEMO_USER}   password: {DEMO_PASSWORD}
Seeded token (never expires, until a login replaces it): {DEMO_TOKEN}
Two simulated cores, coffee and garden, are connecting now.

Watch it: {url}/console   (users and their tokens as a timeline, devices, events, requests)
Build IDE: {url}/build     (log in, see the token on Settings, Reset Token)

Try the cores with the seeded token:
  curl {auth} {url}/v1/devices
  curl {auth} {url}/v1/devices/coffee/temperature
  curl {auth} {url}/v1/devices/coffee/brew -d arg=espresso
  curl {auth} {url}/v1/devices/garden/valve -d arg=open
  curl {auth} {url}/v1/devices/events          # live events; Ctrl-C to stop

Then the 2014 story: a password grant replaces the token, and the history says why.
  curl -u spark:spark -d grant_type=password -d username={DEMO_USER} -d password={DEMO_PASSWORD} {url}/oauth/token
  curl {auth} {url}/v1/user      # refused now: the login replaced it
  curl {url}/__mock/tokens/{DEMO_TOKEN}
"#
    );
}

/// Installs the Ctrl-C and SIGTERM handlers now and returns a future that resolves on
/// either. Installing them eagerly matters: `tokio::signal` registers a handler only when
/// called, and a SIGTERM that arrives before that kills the process with status 143
/// instead of shutting it down gracefully.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    let (mut interrupt, mut terminate) = {
        use tokio::signal::unix::{signal, SignalKind};
        (
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
        )
    };
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    })
}

/// `SIGHUP` re-reads the seed file, as `POST /__mock/reload` does.
fn reload_on_sighup(state: AppState) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            tracing::warn!("cannot listen for SIGHUP; use POST /__mock/reload");
            return;
        };
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                match state.reload_seed() {
                    Ok(n) => tracing::info!("SIGHUP: seed reloaded, {n} new users"),
                    Err(e) => tracing::error!("SIGHUP: seed not reloaded: {e}"),
                }
            }
        });
    }
    #[cfg(not(unix))]
    let _ = state;
}
