//! `/__mock/requests`, `/__mock/faults…` and `/__mock/devices…`, `/__mock/device-server`,
//! `/__mock/events`: the journal, fault injection and the device registry.

use serde_json::json;

use super::admin::{array, object, op};
use super::op::Op;
use super::schemas::{exact, r, string};
use super::Paths;
use crate::config::Profile;

fn journal_and_faults(profile: Profile, paths: &mut Paths) {
    paths.add(
        "get",
        "/__mock/requests",
        op(profile, "The last 1000 API requests").json(
            200,
            "The journal",
            exact(&["requests"], json!({"requests": array()})),
        ),
    );
    paths.add(
        "delete",
        "/__mock/requests",
        op(profile, "Clear the journal").json(200, "Cleared", r("Ok")),
    );
    paths.add(
        "get",
        "/__mock/faults",
        op(profile, "Active faults").json(
            200,
            "The faults",
            exact(&["faults"], json!({"faults": array()})),
        ),
    );
    paths.add(
        "post",
        "/__mock/faults",
        op(profile, "Add a device or route fault")
            .reads_body()
            .form_or_json(object())
            .json(
                200,
                "Added",
                exact(
                    &["ok", "fault"],
                    json!({"ok": {"const": true}, "fault": object()}),
                ),
            )
            .json(400, "A bad fault", r("ApiError"))
            .json(404, "Unknown device", r("ApiError")),
    );
    paths.add(
        "delete",
        "/__mock/faults",
        op(profile, "Clear every fault").json(200, "Cleared", r("Ok")),
    );
    paths.add(
        "delete",
        "/__mock/faults/{id}",
        op(profile, "Remove one fault")
            .path("id", "The fault's id")
            .json(200, "Removed", r("Ok"))
            .json(404, "Unknown fault", r("ApiError")),
    );
}

/// `/__mock/device-server`: what a simulated or real device needs to connect.
fn device_server(profile: Profile, paths: &mut Paths) {
    paths.add(
        "get",
        "/__mock/device-server",
        op(
            profile,
            "Where devices connect, and the server's public key",
        )
        .json(
            200,
            "The device port",
            exact(
                &["host", "port", "public_key_pem", "auto_provision"],
                json!({
                    "host": string(), "port": {"type": "integer"}, "public_key_pem": string(),
                    "auto_provision": {"type": "boolean"},
                }),
            ),
        )
        .json(503, "The device port is not listening", r("ApiError")),
    );
}

/// `/__mock/devices`: the registry, as records.
fn device_records(profile: Profile, paths: &mut Paths) {
    paths.add(
        "get",
        "/__mock/devices",
        op(profile, "Every device record").json(
            200,
            "The devices",
            json!({"type": "array", "items": object()}),
        ),
    );
    paths.add(
        "post",
        "/__mock/devices",
        op(profile, "Register, claim and name a device")
            .reads_body()
            .form_or_json(json!({"type": "object", "properties": {
                "id": string(), "public_key_pem": string(), "owner": string(), "name": string(),
            }}))
            .json(200, "The device record", object())
            .json(400, "A bad id, key or owner", r("ApiError"))
            .json(
                409,
                "The owner has another device of that name",
                r("ApiError"),
            ),
    );
}

/// What a console call or read can fail with, shared by both routes.
fn call_errors(op: Op) -> Op {
    op.json(404, "Unknown device, function or variable", r("ApiError"))
        .json(400, "Argument too long", r("ApiError"))
        .json(502, "The device refused", r("ApiError"))
        .json(503, "The device is offline", r("ApiError"))
        .json(504, "No answer within --device-timeout", r("ApiError"))
}

/// The console's function calls and variable reads, made as the owner.
fn console(profile: Profile, paths: &mut Paths) {
    paths.add(
        "post",
        "/__mock/devices/{id}/call/{function}",
        call_errors(op(
            profile,
            "Call a function as the owner would (the console)",
        ))
        .reads_body()
        .path("id", "The device id or name")
        .path("function", "The function")
        .form_or_json(json!({"type": "object", "properties": {"arg": string()}}))
        .json(
            200,
            "Its return value",
            exact(
                &["ok", "id", "function", "return_value"],
                json!({
                    "ok": {"const": true}, "id": string(), "function": string(),
                    "return_value": {"type": "integer"},
                }),
            ),
        ),
    );
    paths.add(
        "get",
        "/__mock/devices/{id}/variables/{name}",
        call_errors(op(profile, "Read a variable (the console)"))
            .path("id", "The device id or name")
            .path("name", "The variable")
            .json(
                200,
                "Its value",
                exact(
                    &["ok", "id", "name", "type", "result"],
                    json!({
                        "ok": {"const": true}, "id": string(), "name": string(), "type": string(),
                        "result": {"type": ["boolean", "number", "string"]},
                    }),
                ),
            ),
    );
}

/// `/__mock/events`: the console's live stream.
fn event_stream(profile: Profile, paths: &mut Paths) {
    paths.add(
        "get",
        "/__mock/events",
        op(
            profile,
            "Every event and change, live (the console's stream)",
        )
        .stream()
        .media(
            200,
            "Server-sent events, one JSON object per data line",
            "text/event-stream",
            super::events::sse(
                false,
                json!({"type": "object", "required": ["kind"], "properties": {
                    "kind": {"enum": ["event", "changed"]},
                }}),
            ),
        ),
    );
}

pub fn paths(profile: Profile, paths: &mut Paths) {
    journal_and_faults(profile, paths);
    device_server(profile, paths);
    device_records(profile, paths);
    console(profile, paths);
    event_stream(profile, paths);
}
