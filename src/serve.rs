//! Binding, the banner and graceful shutdown for `serve` and `demo`.

use anyhow::Context;
use spark_mock_server::seed::{Seed, SeedToken, SeedUser};
use spark_mock_server::{AppState, Config};
use tokio::net::TcpListener;

use crate::cli::ServeOpts;

/// The demo user, shown in the README and the banner.
pub const DEMO_USER: &str = "demo@spark-mock.local";
pub const DEMO_PASSWORD: &str = "spark-mock-demo";
/// A seeded token for the demo user, so the first curl line works before any login.
pub const DEMO_TOKEN: &str = "5ee0de7000000000000000000000000000000001";

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
    config.device_timeout =
        std::time::Duration::from_secs_f64(opts.device_timeout.clamp(0.001, 3600.0));
    config
}

/// Serves until Ctrl-C or SIGTERM. `demo_seed` replaces the seed file and turns on the
/// demo banner.
pub async fn serve(opts: ServeOpts, demo_seed: Option<Seed>) -> anyhow::Result<()> {
    let config = config(&opts);
    let banner = demo_seed.is_some();
    let state = match demo_seed {
        Some(seed) => AppState::with_seed(config.clone(), &seed)?,
        None => AppState::new(config.clone())?,
    };
    let listener = TcpListener::bind((opts.host.as_str(), opts.port))
        .await
        .with_context(|| format!("cannot listen on {}:{}", opts.host, opts.port))?;
    let addr = listener.local_addr()?;
    println!(
        "spark-mock listening on http://{addr} (profile {}, token policy {})",
        config.profile, config.policy
    );
    if banner {
        print_demo_banner(&format!("http://{addr}"));
    }
    spark_mock_server::run(listener, state, shutdown_signal()).await?;
    println!("spark-mock stopped");
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
    });
    serve(opts, Some(seed)).await
}

fn print_demo_banner(url: &str) {
    println!(
        r#"
Demo user: {DEMO_USER}   password: {DEMO_PASSWORD}
Seeded token (never expires, until a login replaces it): {DEMO_TOKEN}

Try it:
  curl -H "Authorization: Bearer {DEMO_TOKEN}" {url}/v1/user
  curl -u spark:spark -d grant_type=password -d username={DEMO_USER} -d password={DEMO_PASSWORD} {url}/oauth/token
  curl -H "Authorization: Bearer {DEMO_TOKEN}" {url}/v1/user      # refused now: the login replaced it
  curl {url}/__mock/tokens/{DEMO_TOKEN}                            # ...and this says why
"#
    );
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}
