//! Variables and functions: `GET`/`POST /v1/devices/:id/:name` (and `…/ping`), in each
//! profile's shape, with the ways a device can fail to answer.

use serde_json::{json, Value};

use super::devices::device_op;
use super::op::Op;
use super::schemas::{exact, nullable_string, r, string, time_or_null};
use crate::config::Profile;

/// How a call to a device fails: offline, silent, or the device's own error.
pub(super) fn device_failures(op: Op, profile: Profile) -> Op {
    let op = op.json(400, "The device refused", r("ApiError"));
    match profile {
        Profile::Spark2014 => op.json(
            408,
            "Offline, or no answer within `--device-timeout`",
            exact(&["error"], json!({"error": {"const": "Timed out."}})),
        ),
        Profile::Particle => op.json(400, "Offline, or no answer: Timed out.", r("ApiError")),
    }
}

fn variable_result(profile: Profile) -> Value {
    let result = json!({"type": ["boolean", "number", "string"]});
    match profile {
        Profile::Spark2014 => exact(
            &["cmd", "name", "result", "coreInfo"],
            json!({
                "cmd": {"const": "VarReturn"}, "name": string(), "result": result,
                "coreInfo": exact(&["last_app", "last_heard", "connected", "deviceID"], json!({
                    "last_app": string(), "last_heard": time_or_null(),
                    "connected": {"const": true}, "deviceID": string(),
                })),
            }),
        ),
        Profile::Particle => exact(
            &["name", "result", "coreInfo"],
            json!({
                "name": string(), "result": result,
                "coreInfo": exact(&["name", "deviceID", "connected", "last_handshake_at"], json!({
                    "name": nullable_string(), "deviceID": string(),
                    "connected": {"const": true}, "last_handshake_at": time_or_null(),
                })),
            }),
        ),
    }
}

fn function_result(profile: Profile) -> Value {
    let mut props = json!({
        "id": string(), "name": nullable_string(), "connected": {"const": true},
        "return_value": {"type": "integer", "minimum": i32::MIN, "maximum": i32::MAX},
    });
    let mut keys = vec!["id", "name", "connected", "return_value"];
    if profile == Profile::Spark2014 {
        props["last_app"] = json!({"type": "null"});
        keys.push("last_app");
    }
    exact(&keys, props)
}

fn raw() -> Value {
    json!({"type": "string"})
}

fn format_query(op: Op) -> Op {
    op.query(
        "format",
        "`raw`: just the value, as text",
        json!({"enum": ["raw"]}),
    )
}

pub(super) fn read_variable(profile: Profile, summary: &str) -> Op {
    let op = device_op(profile, summary)
        .json(200, "The value", variable_result(profile))
        .media(
            200,
            "With format=raw, the value as text",
            "text/plain",
            raw(),
        )
        .json(404, "Variable not found", r("ApiError"));
    device_failures(format_query(op), profile)
}

pub(super) fn call_function(profile: Profile, summary: &str) -> Op {
    let op = device_op(profile, summary)
        .form_or_json(json!({"type": "object", "properties": {
            "arg": string(), "args": string(), "params": string(), "format": {"enum": ["raw"]},
        }}))
        .json(200, "The function's return value", function_result(profile))
        .media(
            200,
            "With format=raw, the return value as text",
            "text/plain",
            raw(),
        )
        .json(400, "Argument too long", r("ApiError"))
        .json(404, "Function not found", r("ApiError"));
    device_failures(format_query(op), profile)
}
