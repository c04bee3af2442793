//! The key directory: device keys cached across runs.
//!
//! Layout: `<dir>/<id>.pem` (the private key, PKCS#1 PEM, mode 0600) and
//! `<dir>/<id>.pub.pem` (the public key, SPKI PEM: the file spark-server
//! expects in `core_keys/`), and `<dir>/shared.pem` (+ `.pub.pem`) for the
//! fleet's shared key.
//!
//! Generating an RSA-1024 key takes milliseconds in release builds but adds
//! up for a fleet, so a key is generated once and reused on every later run,
//! and a fleet can share one key (`shared_key = true`): the server stores a
//! public key per device id and does not mind duplicates. Loading and
//! generation run on the blocking pool, at most one per CPU at a time.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use spark_mock_protocol::keys::{load_server_public_key, KeyError};
use spark_mock_protocol::{DeviceId, DeviceKey, RsaPublicKey};
use tokio::sync::{OnceCell, Semaphore};

/// Why a key could not be loaded, generated or saved.
#[derive(Debug, thiserror::Error)]
pub enum KeyStoreError {
    /// Reading or writing a key file.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A key file that does not hold an RSA key of the right size, or a
    /// failed generation.
    #[error("key file {path}: {source}")]
    Key {
        /// The file.
        path: PathBuf,
        /// The key error.
        #[source]
        source: KeyError,
    },
    /// The blocking task was cancelled (the runtime is shutting down).
    #[error("key task cancelled")]
    Cancelled,
}

/// A directory of cached device keys.
#[derive(Debug)]
pub struct KeyStore {
    dir: PathBuf,
    limit: Semaphore,
    shared: OnceCell<Arc<DeviceKey>>,
    generated: AtomicUsize,
}

impl KeyStore {
    /// A store over `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        Self {
            dir: dir.into(),
            limit: Semaphore::new(cpus),
            shared: OnceCell::new(),
            generated: AtomicUsize::new(0),
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Keys generated (not loaded) by this store so far.
    pub fn generated(&self) -> usize {
        self.generated.load(Ordering::Relaxed)
    }

    /// The device's own key: loaded from `<id>.pem`, or generated and saved.
    pub async fn device_key(&self, id: &DeviceId) -> Result<Arc<DeviceKey>, KeyStoreError> {
        self.load_or_generate(format!("{id}")).await
    }

    /// The shared key `shared.pem`, loaded or generated once per store.
    pub async fn shared_key(&self) -> Result<Arc<DeviceKey>, KeyStoreError> {
        self.shared
            .get_or_try_init(|| self.load_or_generate("shared".to_owned()))
            .await
            .cloned()
    }

    async fn load_or_generate(&self, stem: String) -> Result<Arc<DeviceKey>, KeyStoreError> {
        let _permit = self
            .limit
            .acquire()
            .await
            .map_err(|_| KeyStoreError::Cancelled)?;
        let dir = self.dir.clone();
        let (key, generated) = tokio::task::spawn_blocking(move || load_or_generate(&dir, &stem))
            .await
            .map_err(|_| KeyStoreError::Cancelled)??;
        if generated {
            self.generated.fetch_add(1, Ordering::Relaxed);
        }
        Ok(Arc::new(key))
    }
}

/// Generates a throwaway key on the blocking pool (no key directory).
pub async fn generate_key() -> Result<Arc<DeviceKey>, KeyStoreError> {
    tokio::task::spawn_blocking(|| DeviceKey::generate(&mut rand::rngs::OsRng))
        .await
        .map_err(|_| KeyStoreError::Cancelled)?
        .map(Arc::new)
        .map_err(|source| KeyStoreError::Key {
            path: PathBuf::from("(generated)"),
            source,
        })
}

/// Loads a device private key from a PEM or DER file.
pub fn load_key_file(path: &Path) -> Result<DeviceKey, KeyStoreError> {
    let bytes = std::fs::read(path).map_err(|source| KeyStoreError::Io {
        path: path.to_owned(),
        source,
    })?;
    DeviceKey::load(&bytes).map_err(|source| KeyStoreError::Key {
        path: path.to_owned(),
        source,
    })
}

/// Loads the server's public key (what a device trusts) from a PEM or DER
/// file, e.g. spark-server's `default_key.pub.pem`; it must be 2048-bit.
pub fn load_server_key_file(path: &Path) -> Result<RsaPublicKey, KeyStoreError> {
    let bytes = std::fs::read(path).map_err(|source| KeyStoreError::Io {
        path: path.to_owned(),
        source,
    })?;
    load_server_public_key(&bytes).map_err(|source| KeyStoreError::Key {
        path: path.to_owned(),
        source,
    })
}

fn load_or_generate(dir: &Path, stem: &str) -> Result<(DeviceKey, bool), KeyStoreError> {
    let path = dir.join(format!("{stem}.pem"));
    if path.exists() {
        return load_key_file(&path).map(|k| (k, false));
    }
    let key_err = |source| KeyStoreError::Key {
        path: path.clone(),
        source,
    };
    let key = DeviceKey::generate(&mut rand::rngs::OsRng).map_err(key_err)?;
    let private = key.to_pkcs1_pem().map_err(key_err)?;
    let public = key.public_pem().map_err(key_err)?;
    let io_err = |source| KeyStoreError::Io {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io_err)?;
    write_atomically(
        &dir.join(format!("{stem}.pub.pem")),
        public.as_bytes(),
        0o644,
    )
    .map_err(io_err)?;
    write_atomically(&path, private.as_bytes(), 0o600).map_err(io_err)?;
    Ok((key, true))
}

/// Writes through a temporary file and a rename, so a killed run never
/// leaves a half-written key behind.
fn write_atomically(path: &Path, data: &[u8], mode: u32) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = opts.open(&tmp)?;
    f.write_all(data)?;
    drop(f);
    std::fs::rename(&tmp, path)
}
