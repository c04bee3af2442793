//! The runner's own spark-mock, in-process: the HTTP API and the device port on
//! 127.0.0.1:0, state kept in a temporary directory so `restart-server` brings everything
//! back, and one RSA-2048 server key per process (cached on disk in the key directory,
//! because generating it is slow in debug builds).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use spark_mock_protocol::ServerKey;
use spark_mock_server::seed::{Seed, SeedUser};
use spark_mock_server::{AppState, Config, ServeError, Shutdown};
use tokio::net::TcpListener;
use tokio::sync::OnceCell;
use tokio::task::JoinHandle;

use crate::format::Scenario;

/// Password hashing cost in-process: low, the accounts are throwaway.
const PASSWORD_ITERATIONS: u32 = 1_000;
/// Longest a stop may take (in-flight requests drain).
const STOP_PATIENCE: Duration = Duration::from_secs(30);

/// The server key: loaded from `<key_dir>/server_key.pem`, else generated once per process
/// (and saved there when there is a key directory).
pub(crate) async fn server_key(key_dir: Option<&Path>) -> Result<Arc<ServerKey>, String> {
    static KEY: OnceCell<Arc<ServerKey>> = OnceCell::const_new();
    let dir = key_dir.map(Path::to_path_buf);
    KEY.get_or_try_init(|| async move {
        tokio::task::spawn_blocking(move || {
            let path = dir.as_ref().map(|d| d.join("server_key.pem"));
            if let Some(bytes) = path.as_ref().and_then(|p| std::fs::read(p).ok()) {
                if let Ok(key) = ServerKey::load(&bytes) {
                    return Ok(Arc::new(key));
                }
            }
            let key = ServerKey::generate(&mut rand::rngs::OsRng).map_err(|e| e.to_string())?;
            if let (Some(dir), Some(path)) = (&dir, &path) {
                let pem = key.to_pkcs1_pem().map_err(|e| e.to_string())?;
                let tmp = path.with_extension(format!("tmp{}", std::process::id()));
                let saved = std::fs::create_dir_all(dir)
                    .and_then(|()| std::fs::write(&tmp, pem.as_bytes()))
                    .and_then(|()| std::fs::rename(&tmp, path));
                if let Err(e) = saved {
                    tracing::warn!("cannot cache the server key in {}: {e}", dir.display());
                }
            }
            Ok(Arc::new(key))
        })
        .await
        .map_err(|e| e.to_string())?
    })
    .await
    .cloned()
}

/// A running in-process server.
pub(crate) struct LocalServer {
    config: Config,
    seed: Seed,
    pub http_addr: SocketAddr,
    pub device_addr: SocketAddr,
    stop: Option<Shutdown>,
    task: Option<JoinHandle<Result<(), ServeError>>>,
    state_dir: tempfile::TempDir,
}

impl LocalServer {
    pub async fn start(sc: &Scenario, key: Arc<ServerKey>) -> Result<Self, String> {
        let state_dir = tempfile::Builder::new()
            .prefix("spark-mock-scenario-")
            .tempdir()
            .map_err(|e| format!("cannot make a state directory: {e}"))?;
        let mut config = Config::for_profile(sc.profile);
        config.policy = sc.policy;
        config.build_client_id = sc.build_client.clone();
        config.password_iterations = PASSWORD_ITERATIONS;
        config.device_timeout = sc.device_timeout;
        config.handshake_timeout = Duration::from_secs(10);
        config.state_dir = Some(state_dir.path().to_path_buf());
        config.server_key = Some(key);
        let seed = Seed {
            users: sc
                .users
                .iter()
                .map(|u| SeedUser {
                    username: u.email.clone(),
                    password: u.password.clone(),
                    first_name: u.first_name.clone(),
                    last_name: None,
                    tokens: Vec::new(),
                    mfa_otp: u.mfa_otp.clone(),
                    ..SeedUser::default()
                })
                .collect(),
            clients: Vec::new(),
            devices: Vec::new(),
        };
        let http = bind("127.0.0.1:0".parse().expect("addr")).await?;
        let devices = bind("127.0.0.1:0".parse().expect("addr")).await?;
        let mut server = LocalServer {
            config,
            seed,
            http_addr: http.local_addr().map_err(|e| e.to_string())?,
            device_addr: devices.local_addr().map_err(|e| e.to_string())?,
            stop: None,
            task: None,
            state_dir,
        };
        server.serve(http, devices)?;
        Ok(server)
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    pub fn state_dir(&self) -> &Path {
        self.state_dir.path()
    }

    fn serve(&mut self, http: TcpListener, devices: TcpListener) -> Result<(), String> {
        let state = AppState::with_seed(self.config.clone(), &self.seed)
            .map_err(|e| format!("the server cannot start: {e}"))?;
        self.stop = Some(state.shutdown().clone());
        self.task = Some(tokio::spawn(spark_mock_server::run_with_devices(
            http,
            Some(devices),
            state,
        )));
        Ok(())
    }

    /// Stops the server and waits until it has saved its state.
    pub async fn stop(&mut self) -> Result<(), String> {
        if let Some(stop) = self.stop.take() {
            stop.trigger();
        }
        let Some(task) = self.task.take() else {
            return Ok(());
        };
        match tokio::time::timeout(STOP_PATIENCE, task).await {
            Ok(Ok(Ok(()))) => Ok(()),
            Ok(Ok(Err(e))) => Err(format!("the server stopped with an error: {e}")),
            Ok(Err(e)) => Err(format!("the server task failed: {e}")),
            Err(_) => Err("the server did not stop within 30 s".to_string()),
        }
    }

    /// Stops and starts again from the state directory, on the same ports when they are
    /// free, else on new ones. Returns whether the ports changed.
    pub async fn restart(&mut self) -> Result<bool, String> {
        self.stop().await?;
        let (http, devices) = match (bind(self.http_addr).await, bind(self.device_addr).await) {
            (Ok(h), Ok(d)) => (h, d),
            _ => (
                bind("127.0.0.1:0".parse().expect("addr")).await?,
                bind("127.0.0.1:0".parse().expect("addr")).await?,
            ),
        };
        let moved = http.local_addr().ok() != Some(self.http_addr)
            || devices.local_addr().ok() != Some(self.device_addr);
        self.http_addr = http.local_addr().map_err(|e| e.to_string())?;
        self.device_addr = devices.local_addr().map_err(|e| e.to_string())?;
        self.serve(http, devices)?;
        Ok(moved)
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))
}
