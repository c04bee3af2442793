//! A connected device without the device protocol: registered straight in the registry,
//! its commands answered by a task. `led(arg)` returns 1 and publishes `led` with the
//! argument; `temperature` reads 21.5, `state` the last `led` argument.

use std::collections::BTreeMap;

use spark_mock_server::devices::{Command, HelloInfo, VarType, VarValue};
use spark_mock_server::AppState;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub const DEVICE_ID: &str = "53ff6f065067544840551187";

/// Registers the device for `owner` as `name`, connects it, and answers its commands until
/// the returned task is dropped with the runtime.
pub fn connect_fake_device(state: &AppState, owner: &str, name: &str) -> JoinHandle<()> {
    state.devices().upsert(DEVICE_ID, |d| {
        d.owner = Some(owner.to_string());
        d.name = Some(name.to_string());
        d.functions = vec!["led".to_string()];
        d.variables = BTreeMap::from([
            ("state".to_string(), VarType::String),
            ("temperature".to_string(), VarType::Double),
        ]);
    });
    let (tx, mut rx) = mpsc::channel(16);
    let addr = "127.0.0.1:7000".parse().expect("addr");
    state
        .devices()
        .connected(DEVICE_ID, addr, &HelloInfo::default(), tx);
    let state = state.clone();
    tokio::spawn(async move {
        let mut led = "off".to_string();
        while let Some(cmd) = rx.recv().await {
            match cmd {
                Command::CallFunction { arg, reply, .. } => {
                    led = arg.clone();
                    let _ = reply.send(Ok(1));
                    state
                        .devices()
                        .device_event(DEVICE_ID, "led".to_string(), Some(arg), 60, true);
                }
                Command::GetVariable { name, reply } => {
                    let v = match name.as_str() {
                        "temperature" => VarValue::Double(21.5),
                        _ => VarValue::String(led.clone().into_bytes()),
                    };
                    let _ = reply.send(Ok(v));
                }
                Command::Signal { reply, .. } | Command::Describe { reply } => {
                    let _ = reply.send(Ok(()));
                }
                // Dropping the reply fails the update, as a connection that closed.
                Command::Ota { .. } => {}
                Command::Disconnect => break,
            }
        }
    })
}
