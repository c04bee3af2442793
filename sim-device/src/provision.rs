//! The HTTP calls to spark-mock's admin API:
//!
//! - `GET /__mock/device-server` → `{"host","port","public_key_pem"}`: where
//!   the device port listens and the server's RSA-2048 public key;
//! - `POST /__mock/devices` with `{"id","public_key_pem","owner"?,"name"?}`:
//!   registers a device key, claims the device for `owner` and names it.
//!
//! The original local cloud has neither; run the simulator against it with
//! an explicit server key and device-server address, and copy
//! `<key dir>/<id>.pub.pem` into its `core_keys/` directory.

use std::net::SocketAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use spark_mock_protocol::keys::{load_server_public_key, KeyError};
use spark_mock_protocol::RsaPublicKey;
use tokio::sync::Semaphore;

/// Concurrent registrations per provisioner.
const MAX_IN_FLIGHT: usize = 16;

/// Why a call to the cloud failed.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// The cloud URL does not parse.
    #[error("bad cloud URL {url:?}: {reason}")]
    BadUrl {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The request failed (connection refused, timeout, bad JSON…).
    #[error("{url}: {source}")]
    Http {
        /// The URL.
        url: String,
        /// The error.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with an error status.
    #[error("{url}: HTTP {status}: {body}")]
    Status {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
        /// The response body.
        body: String,
    },
    /// The server's public key is not a 2048-bit RSA key.
    #[error("the server's public key: {0}")]
    ServerKey(#[source] KeyError),
    /// The device server's host does not resolve.
    #[error("cannot resolve the device server {0}")]
    Resolve(String),
}

impl ProvisionError {
    /// Whether retrying cannot help (a 4xx other than 408/429, a bad URL or key).
    pub fn is_permanent(&self) -> bool {
        match self {
            Self::Status { status, .. } => {
                (400..500).contains(status) && *status != 408 && *status != 429
            }
            Self::BadUrl { .. } | Self::ServerKey(_) => true,
            Self::Http { .. } | Self::Resolve(_) => false,
        }
    }
}

/// Where devices connect and the key they must trust.
#[derive(Debug, Clone)]
pub struct DeviceServerInfo {
    /// The device port's address.
    pub address: SocketAddr,
    /// The server's public key.
    pub server_key: Arc<RsaPublicKey>,
}

#[derive(Deserialize)]
struct RawInfo {
    host: String,
    port: u16,
    public_key_pem: String,
}

/// One device's registration.
#[derive(Debug, Serialize)]
pub struct Registration<'a> {
    /// 24-hex device id.
    pub id: &'a str,
    /// Its public key, SPKI PEM.
    pub public_key_pem: &'a str,
    /// Who claims it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<&'a str>,
    /// Its name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
}

/// A client of one cloud's admin API.
#[derive(Debug)]
pub struct Provisioner {
    client: reqwest::Client,
    base: reqwest::Url,
    limit: Semaphore,
    admin_token: Option<String>,
}

impl Provisioner {
    /// A client for the cloud at `cloud` (e.g. `http://127.0.0.1:8080`).
    pub fn new(cloud: &str) -> Result<Self, ProvisionError> {
        let bad = |reason: String| ProvisionError::BadUrl {
            url: cloud.to_owned(),
            reason,
        };
        let base = reqwest::Url::parse(cloud).map_err(|e| bad(e.to_string()))?;
        if base.host_str().is_none() {
            return Err(bad("no host".into()));
        }
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|source| ProvisionError::Http {
                url: cloud.to_owned(),
                source,
            })?;
        Ok(Self {
            client,
            base,
            limit: Semaphore::new(MAX_IN_FLIGHT),
            admin_token: None,
        })
    }

    /// Sends `X-Admin-Token` (spark-mock's admin API answers non-loopback
    /// clients only with the token it was started with).
    pub fn with_admin_token(mut self, token: Option<String>) -> Self {
        self.admin_token = token;
        self
    }

    fn authorized(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.admin_token {
            Some(t) => req.header("X-Admin-Token", t),
            None => req,
        }
    }

    fn url(&self, path: &str) -> Result<reqwest::Url, ProvisionError> {
        self.base.join(path).map_err(|e| ProvisionError::BadUrl {
            url: self.base.to_string(),
            reason: e.to_string(),
        })
    }

    /// `GET /__mock/device-server`. A host of `0.0.0.0` / `::` (the server
    /// listens on every interface) is replaced by the cloud URL's host.
    pub async fn device_server(&self) -> Result<DeviceServerInfo, ProvisionError> {
        let url = self.url("/__mock/device-server")?;
        let http = |source| ProvisionError::Http {
            url: url.to_string(),
            source,
        };
        let resp = (self.authorized(self.client.get(url.clone())).send().await).map_err(http)?;
        let raw: RawInfo = check(resp, &url).await?.json().await.map_err(http)?;
        let server_key = load_server_public_key(raw.public_key_pem.as_bytes())
            .map_err(ProvisionError::ServerKey)?;
        let unspecified = raw
            .host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_unspecified());
        let host = match self.base.host_str() {
            Some(h) if unspecified || raw.host.is_empty() => h.trim_matches(['[', ']']).to_owned(),
            _ => raw.host,
        };
        let address = resolve(&host, raw.port).await?;
        Ok(DeviceServerInfo {
            address,
            server_key: Arc::new(server_key),
        })
    }

    /// `POST /__mock/devices`: registers the key, claims and names the device.
    pub async fn register(&self, reg: &Registration<'_>) -> Result<(), ProvisionError> {
        let _permit = self.limit.acquire().await;
        let url = self.url("/__mock/devices")?;
        let req = self.authorized(self.client.post(url.clone()).json(reg));
        let resp = req.send().await.map_err(|source| ProvisionError::Http {
            url: url.to_string(),
            source,
        })?;
        check(resp, &url).await.map(drop)
    }

    /// The cloud URL's host (for a default device-server address).
    pub fn host(&self) -> &str {
        self.base.host_str().unwrap_or("127.0.0.1")
    }
}

async fn check(
    resp: reqwest::Response,
    url: &reqwest::Url,
) -> Result<reqwest::Response, ProvisionError> {
    if resp.status().is_success() {
        return Ok(resp);
    }
    let status = resp.status().as_u16();
    let body = resp.text().await.unwrap_or_default();
    Err(ProvisionError::Status {
        url: url.to_string(),
        status,
        body: body.chars().take(500).collect(),
    })
}

/// Resolves `"host:port"` (e.g. `--device-server`) to its first address.
pub async fn resolve_host_port(s: &str) -> Result<SocketAddr, ProvisionError> {
    let mut addrs = tokio::net::lookup_host(s)
        .await
        .map_err(|e| ProvisionError::Resolve(format!("{s}: {e}")))?;
    addrs
        .next()
        .ok_or_else(|| ProvisionError::Resolve(format!("{s}: no address")))
}

/// Resolves `host:port` to its first address.
pub async fn resolve(host: &str, port: u16) -> Result<SocketAddr, ProvisionError> {
    let mut addrs = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| ProvisionError::Resolve(format!("{host}:{port}: {e}")))?;
    addrs
        .next()
        .ok_or_else(|| ProvisionError::Resolve(format!("{host}:{port}: no address")))
}
