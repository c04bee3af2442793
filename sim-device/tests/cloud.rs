//! Provisioning against a mock of spark-mock's admin API, a fleet loaded
//! from TOML, and the key directory.

mod support;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use spark_mock_sim::{
    ConnectOptions, DeviceState, Fleet, FleetConfig, KeyStore, Provisioner, SimDevice, SimError,
};
use support::{device_key, server_key, within, TestServer};

type Registered = Arc<Mutex<Vec<Value>>>;

/// A stand-in for spark-mock's `/__mock` routes; the device server's host
/// is reported as 0.0.0.0, as a server listening on every interface would.
async fn mock_cloud(device_port: u16) -> (String, Registered) {
    let registered = Registered::default();
    let pem = server_key().public_pem().unwrap();
    let app = Router::new()
        .route(
            "/__mock/device-server",
            get(move || async move {
                Json(json!({"host": "0.0.0.0", "port": device_port, "public_key_pem": pem}))
            }),
        )
        .route(
            "/__mock/devices",
            post(
                |State(reg): State<Registered>, Json(body): Json<Value>| async move {
                    if body["owner"] == "nobody" {
                        return (StatusCode::NOT_FOUND, "no such user");
                    }
                    reg.lock().unwrap().push(body);
                    (StatusCode::CREATED, "ok")
                },
            ),
        )
        .with_state(Arc::clone(&registered));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, registered)
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("spark-mock-sim-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn a_fleet_from_toml_provisions_itself_then_connects() {
    let server = TestServer::bind().await;
    let port = server.options().device_server.port();
    let (cloud, registered) = mock_cloud(port).await;
    let provisioner = Provisioner::new(&cloud).unwrap();
    let info = provisioner.device_server().await.unwrap();
    assert_eq!(
        info.address,
        server.options().device_server,
        "0.0.0.0 → the cloud's host"
    );
    assert_eq!(*info.server_key, *server_key().public_key());

    let dir = temp_dir("fleet");
    std::fs::write(dir.join("device.pem"), device_key().to_pkcs1_pem().unwrap()).unwrap();
    let toml = r#"
[fleet]
owner = "demo@spark-mock.local"
max_connecting = 2

[[device]]
id_prefix = "00000000000000000000000"
count = 3
name = "sensor-{n}"
key = "device.pem"
[[device.variable]]
name = "t"
type = "int"
value = 5
"#;
    let cfg = FleetConfig::parse(toml, "fleet.toml", &dir).unwrap();
    let mut opts = ConnectOptions::new(info.address, (*info.server_key).clone());
    opts.provisioner = Some(Arc::new(provisioner));
    let fleet = Fleet::spawn(cfg.devices, opts, cfg.max_connecting, None).unwrap();
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(server.accept().await.device_id.to_hex());
    }
    within(fleet.wait_all_online()).await.unwrap();
    assert_eq!(fleet.online(), 3);
    ids.sort();
    assert_eq!(
        ids,
        [
            "000000000000000000000001",
            "000000000000000000000002",
            "000000000000000000000003"
        ]
    );
    let mut reg = registered.lock().unwrap().clone();
    reg.sort_by_key(|r| r["id"].as_str().map(str::to_owned));
    let pem = device_key().public_pem().unwrap();
    for (i, r) in reg.iter().enumerate() {
        assert_eq!(r["id"], ids[i]);
        assert_eq!(r["name"], format!("sensor-{}", i + 1));
        assert_eq!(r["owner"], "demo@spark-mock.local");
        assert_eq!(r["public_key_pem"], pem);
    }
    assert_eq!(reg.len(), 3);
    fleet.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_permanent_provisioning_error_fails_the_device() {
    let server = TestServer::bind().await;
    let (cloud, _) = mock_cloud(server.options().device_server.port()).await;
    let mut opts = server.options();
    opts.provisioner = Some(Arc::new(Provisioner::new(&cloud).unwrap()));
    let device = SimDevice::builder_seeded(5)
        .key(device_key())
        .owner("nobody")
        .build()
        .unwrap();
    let handle = device.spawn(opts);
    let err = within(handle.wait_online()).await.unwrap_err();
    assert!(
        matches!(&err, SimError::Stopped { state: DeviceState::Failed, reason, .. } if reason.contains("404")),
        "{err}"
    );
    assert!(Provisioner::new("not a url").is_err());
}

#[tokio::test]
async fn the_key_directory_caches_keys() {
    let dir = temp_dir("keys");
    let id = "1a118ad1c886d54240ce4b17".parse().unwrap();
    // A key already in the directory is loaded, not generated.
    std::fs::write(
        dir.join(format!("{id}.pem")),
        device_key().to_pkcs1_pem().unwrap(),
    )
    .unwrap();
    let store = KeyStore::new(&dir);
    let k = store.device_key(&id).await.unwrap();
    assert_eq!(k.public_key(), device_key().public_key());
    assert_eq!(store.generated(), 0);
    // The shared key is generated once and kept for later runs.
    let a = store.shared_key().await.unwrap();
    let b = store.shared_key().await.unwrap();
    assert!(Arc::ptr_eq(&a, &b));
    assert_eq!(store.generated(), 1);
    assert!(dir.join("shared.pub.pem").exists());
    let again = KeyStore::new(&dir).shared_key().await.unwrap();
    assert_eq!(again.public_key(), a.public_key());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("shared.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "private keys are not world-readable");
    }
    let _ = std::fs::remove_dir_all(dir);
}
