//! Tests that replay the Core communication library's vectors byte for byte
//! (tests/data/core-comm-lib-vectors.json), plus round trips, error paths
//! and property tests.

mod coap_fixture;
mod handshake;
#[cfg(feature = "tokio")]
mod io;
mod props;
mod scenarios;

use std::sync::OnceLock;

use serde_json::Value;

use crate::keys::{DeviceKey, ServerKey};
use crate::session::SessionKeys;

/// The parsed vector file.
pub(crate) fn vectors() -> &'static Value {
    static V: OnceLock<Value> = OnceLock::new();
    V.get_or_init(|| {
        serde_json::from_str(include_str!("../../tests/data/core-comm-lib-vectors.json"))
            .expect("vector file is valid JSON")
    })
}

/// Hex field → bytes.
pub(crate) fn hx(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("valid hex")
}

/// Session keys from a fixture's `derived_credentials_40`.
pub(crate) fn fixture_keys(fixture: &str) -> SessionKeys {
    SessionKeys::from_slice(&hx(&vectors()[fixture]["derived_credentials_40"])).unwrap()
}

/// One generated key pair per test binary (RSA generation is slow in debug).
pub(crate) fn generated_keys() -> &'static (ServerKey, DeviceKey) {
    static K: OnceLock<(ServerKey, DeviceKey)> = OnceLock::new();
    K.get_or_init(|| {
        let mut rng = rand::thread_rng();
        (
            ServerKey::generate(&mut rng).unwrap(),
            DeviceKey::generate(&mut rng).unwrap(),
        )
    })
}
