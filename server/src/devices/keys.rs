//! Keys of the device port: the server's RSA-2048 key, kept as PEM in the state directory
//! (spark-server kept `default_key.pem` in its working directory and made it on first
//! start), and the parsing of device public keys stored as PEM in the registry.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use rand::rngs::OsRng;
use spark_mock_protocol::keys::{self, KeyError};
use spark_mock_protocol::{RsaPublicKey, ServerKey};

/// The server's private key file in the state directory (PKCS#1 PEM, as spark-server wrote).
pub const SERVER_KEY_FILE: &str = "server_key.pem";
/// Its public half (SPKI PEM), for flashing onto real devices.
pub const SERVER_PUBLIC_KEY_FILE: &str = "server_key.pub.pem";

/// Why the server key could not be loaded or made.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot use {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} holds no usable 2048-bit RSA key: {source}")]
    BadKey { path: PathBuf, source: KeyError },
    #[error("cannot make the server key: {0}")]
    Generate(#[source] KeyError),
    #[error("the key task failed: {0}")]
    Task(String),
}

/// Where the server key lives: the configured state directory, or a temporary directory
/// that is removed when this value is dropped (so it lives as long as the server).
#[derive(Debug)]
pub struct KeyHome {
    dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
}

impl KeyHome {
    /// Uses `state_dir` (created if missing) or, without one, a fresh temporary directory.
    pub fn open(state_dir: Option<&Path>) -> Result<Self, KeyFileError> {
        match state_dir {
            Some(dir) => {
                fs::create_dir_all(dir).map_err(|source| KeyFileError::Io {
                    path: dir.to_path_buf(),
                    source,
                })?;
                Ok(KeyHome {
                    dir: dir.to_path_buf(),
                    _temp: None,
                })
            }
            None => {
                let temp = tempfile::Builder::new()
                    .prefix("spark-mock-")
                    .tempdir()
                    .map_err(|source| KeyFileError::Io {
                        path: std::env::temp_dir(),
                        source,
                    })?;
                Ok(KeyHome {
                    dir: temp.path().to_path_buf(),
                    _temp: Some(temp),
                })
            }
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn key_path(&self) -> PathBuf {
        self.dir.join(SERVER_KEY_FILE)
    }

    /// Loads the server key, or generates and saves one on first start. Blocking and, for
    /// a new key, slow: call it off the async threads.
    pub fn load_or_generate(&self) -> Result<ServerKey, KeyFileError> {
        let path = self.key_path();
        match fs::read(&path) {
            Ok(bytes) => {
                return ServerKey::load(&bytes)
                    .map_err(|source| KeyFileError::BadKey { path, source })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(KeyFileError::Io { path, source }),
        }
        let key = ServerKey::generate(&mut OsRng).map_err(KeyFileError::Generate)?;
        let private = key.to_pkcs1_pem().map_err(KeyFileError::Generate)?;
        let public = key.public_pem().map_err(KeyFileError::Generate)?;
        write_atomically(&path, private.as_bytes(), true)?;
        write_atomically(
            &self.dir.join(SERVER_PUBLIC_KEY_FILE),
            public.as_bytes(),
            false,
        )?;
        tracing::info!("generated a new server key in {}", path.display());
        Ok(key)
    }
}

/// Writes through a temporary file and a rename, so a crash never leaves half a key.
fn write_atomically(path: &Path, bytes: &[u8], private: bool) -> Result<(), KeyFileError> {
    let err = |source| KeyFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension("tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut f = options.open(&tmp).map_err(err)?;
    f.write_all(bytes).map_err(err)?;
    f.sync_all().map_err(err)?;
    drop(f);
    fs::rename(&tmp, path).map_err(err)
}

/// Parses a device public key as the registry stores it (PEM, SPKI or PKCS#1; DER also
/// accepted) and checks it is the 1024-bit key the handshake needs.
pub fn parse_device_key(pem: &str) -> Result<RsaPublicKey, KeyError> {
    keys::load_device_public_key(pem.trim().as_bytes())
}

/// The canonical PEM ("PUBLIC KEY", SPKI) the registry keeps for a device key.
pub fn device_key_pem(key: &RsaPublicKey) -> Result<String, KeyError> {
    keys::public_key_to_pem(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_key_is_generated_once_then_loaded() {
        let home = KeyHome::open(None).expect("temp dir");
        let dir = home.dir().to_path_buf();
        let made = home.load_or_generate().expect("generate");
        let again = home.load_or_generate().expect("load");
        assert_eq!(made.public_key(), again.public_key());
        assert!(dir.join(SERVER_PUBLIC_KEY_FILE).exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(home.key_path())
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "the private key is private");
        }
        // The same directory as a configured state dir loads the same key.
        let named = KeyHome::open(Some(&dir)).expect("state dir");
        assert_eq!(
            named.load_or_generate().expect("load").public_key(),
            made.public_key()
        );
        fs::write(home.key_path(), b"not a key").expect("write");
        assert!(matches!(
            home.load_or_generate(),
            Err(KeyFileError::BadKey { .. })
        ));
        drop(named);
        drop(home);
        assert!(
            !dir.exists(),
            "a temporary key directory goes with the server"
        );
    }

    #[test]
    fn device_keys_must_be_1024_bit_rsa() {
        assert!(
            parse_device_key("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----").is_err()
        );
        assert!(parse_device_key("").is_err());
    }
}
