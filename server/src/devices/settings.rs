//! A device connection's settings (from the configuration) and why one ends badly: used
//! by the handshake (`connection`) and the live session (`live`, `inbound`), kept apart so
//! `live` does not import `connection`.

use std::time::Duration;

use spark_mock_protocol::counters::BadCounter;
use spark_mock_protocol::io::IoError;

use crate::config::Config;
use crate::devices::outbox::OutboxError;

/// Timings and limits of a connection, from the configuration.
#[derive(Clone, Debug)]
pub struct Settings {
    pub handshake_timeout: Duration,
    pub ping_interval: Duration,
    pub idle_timeout: Duration,
    pub write_timeout: Duration,
    pub max_frame: usize,
    /// How long a request's token stays reserved without an answer.
    pub request_ttl: Duration,
}

impl Settings {
    pub fn from_config(c: &Config) -> Self {
        Settings {
            handshake_timeout: c.handshake_timeout,
            ping_interval: c.device_ping_interval,
            idle_timeout: c.device_idle_timeout,
            write_timeout: c.device_write_timeout,
            max_frame: c.device_max_frame,
            request_ttl: c.device_timeout + Duration::from_secs(1),
        }
    }
}

/// Why a connection ended badly.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error("handshake failed: {0}")]
    Handshake(#[source] IoError),
    #[error("no Hello within {0:?}")]
    HelloTimeout(Duration),
    #[error("closed before Hello")]
    ClosedBeforeHello,
    #[error("the first message was not Hello: {0}")]
    NotHello(String),
    /// The strict +1 message-id rule (spark-protocol's "Bad Counter").
    #[error(transparent)]
    BadCounter(#[from] BadCounter),
    #[error(transparent)]
    Io(#[from] IoError),
    #[error("nothing heard for {0:?}")]
    Idle(Duration),
    #[error(transparent)]
    Outbox(#[from] OutboxError),
}
