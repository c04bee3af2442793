//! Registry commands reaching the device over the protocol: function calls (separate
//! response), variable reads of all four types, Signal, Describe, and a device that drops
//! mid-call.

use std::time::Duration;

use spark_mock_protocol::messages::{Description, FunctionCall, VarType, VarValue};
use spark_mock_protocol::{Code, Message, MessageType, Packet};
use spark_mock_server::devices::{DeviceError, VarValue as RegValue};

use crate::support::*;

fn desc() -> Description {
    Description {
        functions: vec!["brew".into()],
        variables: vec![
            ("b".into(), VarType::Bool),
            ("i".into(), VarType::Int),
            ("d".into(), VarType::Double),
            ("s".into(), VarType::String),
        ],
        m: None,
    }
}

#[tokio::test]
async fn a_function_call_round_trips_with_a_separate_response() {
    let port = Port::default().await;
    let mut dev = port.online(&desc()).await;
    let (state, id) = (port.state.clone(), dev.id.to_hex());
    let call = tokio::spawn(async move {
        state
            .devices()
            .call_function(&id, "brew", "coffee&milk", WAIT)
            .await
    });
    let req = dev.recv().await;
    assert_eq!(req.mtype, MessageType::Confirmable);
    assert_eq!(
        req.message,
        Message::FunctionCall(FunctionCall::new("brew", "coffee&milk"))
    );
    assert_eq!(req.token.as_slice().len(), 1);
    dev.reply(Packet::empty_ack(req.message_id)).await;
    let next = dev.ids.next_id();
    dev.reply(Packet::function_return(next, req.token, 42))
        .await;
    assert_eq!(call.await.expect("task"), Ok(42));
}

#[tokio::test]
async fn variables_of_all_four_types_are_decoded_by_their_describe_type() {
    let port = Port::default().await;
    let mut dev = port.online(&desc()).await;
    let cases = [
        ("b", VarValue::Bool(true), RegValue::Bool(true)),
        ("i", VarValue::Int(-98765), RegValue::Int(-98765)),
        ("d", VarValue::Double(-104.858), RegValue::Double(-104.858)),
        (
            "s",
            VarValue::String(b"woot".to_vec()),
            RegValue::String("woot".into()),
        ),
    ];
    for (name, wire, expected) in cases {
        let (state, id) = (port.state.clone(), dev.id.to_hex());
        let read = tokio::spawn(async move { state.devices().get_variable(&id, name, WAIT).await });
        let req = dev.recv().await;
        assert_eq!(req.message, Message::VariableRequest { name: name.into() });
        dev.reply(Packet::variable_value(req.message_id, req.token, &wire))
            .await;
        assert_eq!(read.await.expect("task"), Ok(expected), "{name}");
    }
    // Not in Describe: refused without asking the device.
    let id = dev.id.to_hex();
    let r = port.state.devices().get_variable(&id, "nope", WAIT).await;
    assert_eq!(r, Err(DeviceError::UnknownVariable));
    // The device says 4.04.
    let (state, id2) = (port.state.clone(), id.clone());
    let read = tokio::spawn(async move { state.devices().get_variable(&id2, "i", WAIT).await });
    let req = dev.recv().await;
    dev.reply(Packet::ack(
        req.message_id,
        req.token,
        Code::NOT_FOUND,
        vec![],
    ))
    .await;
    assert_eq!(read.await.expect("task"), Err(DeviceError::UnknownVariable));
}

#[tokio::test]
async fn signal_and_describe_reach_the_device() {
    let port = Port::default().await;
    let mut dev = port.online(&desc()).await;
    let id = dev.id.to_hex();
    for on in [true, false] {
        let (state, id2) = (port.state.clone(), id.clone());
        let signal = tokio::spawn(async move { state.devices().signal(&id2, on, WAIT).await });
        let req = dev.recv().await;
        assert_eq!(req.message, Message::Signal { start: on });
        dev.reply(Packet::signal_ack(req.message_id, req.token))
            .await;
        assert_eq!(signal.await.expect("task"), Ok(()));
        assert_eq!(port.state.devices().get(&id).map(|d| d.signaling), Some(on));
    }
    let (state, id2) = (port.state.clone(), id.clone());
    let describe = tokio::spawn(async move { state.devices().describe(&id2, WAIT).await });
    let fresh = Description {
        functions: vec!["brew".into(), "stop".into()],
        ..desc()
    };
    let req = dev.recv().await;
    assert_eq!(req.message, Message::DescribeRequest);
    dev.reply(Packet::describe_reply(req.message_id, req.token, &fresh))
        .await;
    assert_eq!(describe.await.expect("task"), Ok(()));
    let d = port.state.devices().get(&id).expect("device");
    assert_eq!(d.functions, vec!["brew".to_string(), "stop".to_string()]);
}

#[tokio::test]
async fn a_device_that_drops_mid_call_is_offline_at_once() {
    let port = Port::default().await;
    let mut dev = port.online(&desc()).await;
    let (state, id) = (port.state.clone(), dev.id.to_hex());
    let call = tokio::spawn(async move {
        state
            .devices()
            .call_function(&id, "brew", "", Duration::from_secs(60))
            .await
    });
    let req = dev.recv().await;
    assert!(matches!(req.message, Message::FunctionCall(_)));
    drop(dev);
    let r = tokio::time::timeout(Duration::from_secs(3), call)
        .await
        .expect("not the 60 s timeout")
        .expect("task");
    assert_eq!(r, Err(DeviceError::Offline));
}
