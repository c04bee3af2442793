//! `/__mock`: the mock's own control API (loopback, or `--admin-token`), and
//! `/server/health`. Records here are described by their main keys; the README lists the rest.

use serde_json::{json, Value};

use super::op::{Auth, Op};
use super::schemas::{exact, r, string, time, with};
use super::Paths;
use crate::config::Profile;

fn op(profile: Profile, summary: &str) -> Op {
    Op::new("admin", summary).auth(profile, Auth::Admin)
}

fn object() -> Value {
    json!({"type": "object"})
}

fn array() -> Value {
    json!({"type": "array"})
}

fn user_path(op: Op) -> Op {
    op.path("username", "The user's email")
        .json(404, "Unknown user", r("ApiError"))
}

fn tokens(profile: Profile, paths: &mut Paths) {
    let history = with(
        &["token", "user", "client", "status", "issued", "story"],
        json!({"token": string(), "user": string(), "client": string(), "story": array()}),
    );
    paths.add(
        "get",
        "/__mock/tokens",
        op(profile, "Every token's history, oldest first")
            .query("user", "Only this user's tokens", string())
            .json(
                200,
                "The histories",
                exact(
                    &["now", "tokens"],
                    json!({
                        "now": time(), "tokens": {"type": "array", "items": history.clone()},
                    }),
                ),
            ),
    );
    paths.add(
        "get",
        "/__mock/tokens/{token}",
        op(profile, "One token's history")
            .path("token", "The token")
            .json(200, "Its history", history)
            .json(404, "Unknown token", r("ApiError")),
    );
    paths.add(
        "post",
        "/__mock/users/{username}/reset-token",
        user_path(op(profile, "Reset Token, as the Build page's button")).json(
            200,
            "The new token",
            exact(
                &["access_token", "expires_at", "invalidated"],
                json!({
                    "access_token": string(), "expires_at": {"type": ["string", "null"]},
                    "invalidated": array(),
                }),
            ),
        ),
    );
    let mfa = exact(
        &["ok", "mfa", "invalidated"],
        json!({
            "ok": {"const": true},
            "mfa": exact(&["enabled"], json!({"enabled": {"type": "boolean"}})),
            "invalidated": array(),
        }),
    );
    paths.add(
        "put",
        "/__mock/users/{username}/mfa",
        user_path(op(
            profile,
            "Turn multi-factor login on (or off with otp null)",
        ))
        .reads_body()
        .form_or_json(json!({"type": "object", "properties": {
            "otp": {"type": ["string", "null"]},
            "recovery_codes": {"type": "array", "items": string()},
            "invalidate_tokens": {"type": "boolean"},
        }}))
        .json(200, "Done", mfa.clone())
        .json(400, "A bad otp or recovery_codes", r("ApiError")),
    );
    paths.add(
        "delete",
        "/__mock/users/{username}/mfa",
        user_path(op(profile, "Turn multi-factor login off")).json(200, "Done", mfa),
    );
}

fn control(profile: Profile, paths: &mut Paths) {
    let clock = exact(
        &["now", "offset_secs"],
        json!({"now": time(), "offset_secs": {"type": "integer"}}),
    );
    let policy = json!({"enum": ["single", "per-client", "multi"]});
    paths.add(
        "get",
        "/__mock/health",
        op(profile, "Health").json(200, "Up", r("Ok")),
    );
    paths.add(
        "get",
        "/__mock/state",
        op(
            profile,
            "Users, tokens, devices, streams, faults, clock, policy",
        )
        .json(
            200,
            "Everything",
            with(
                &[
                    "profile", "policy", "clock", "users", "tokens", "devices", "faults",
                ],
                json!({
                    "profile": {"const": super::profile_name(profile)}, "policy": policy,
                    "clock": clock, "users": array(), "tokens": array(), "devices": array(),
                    "faults": array(),
                }),
            ),
        ),
    );
    paths.add(
        "post",
        "/__mock/reset",
        op(profile, "Everything back to the seed file")
            .reads_body()
            .form_or_json(
                json!({"type": "object", "properties": {"keep_devices": {"type": "boolean"}}}),
            )
            .json(
                200,
                "Reset",
                exact(
                    &["ok", "kept_devices"],
                    json!({
                        "ok": {"const": true}, "kept_devices": {"type": "boolean"},
                    }),
                ),
            ),
    );
    paths.add(
        "post",
        "/__mock/reload",
        op(profile, "Re-read the seed file, keeping connections")
            .json(
                200,
                "Reloaded",
                exact(
                    &["ok", "added_users"],
                    json!({
                        "ok": {"const": true}, "added_users": {"type": "integer"},
                    }),
                ),
            )
            .json(400, "The seed file could not be read", r("ApiError")),
    );
    paths.add(
        "get",
        "/__mock/clock",
        op(profile, "Read the clock").json(200, "The clock", clock.clone()),
    );
    paths.add(
        "post",
        "/__mock/clock",
        op(profile, "Move the clock: advance_secs, set or reset")
            .reads_body()
            .form_or_json(json!({"type": "object", "properties": {
                "advance_secs": {"type": "integer"}, "set": {"type": "string", "format": "date-time"},
                "reset": {"type": "boolean"},
            }}))
            .json(200, "The clock", clock)
            .json(400, "A bad move, or one beyond years 0000 to 9999", r("ApiError")),
    );
    paths.add(
        "get",
        "/__mock/policy",
        op(profile, "The token policy").json(
            200,
            "It",
            exact(&["policy"], json!({"policy": policy})),
        ),
    );
    for method in ["put", "post"] {
        paths.add(
            method,
            "/__mock/policy",
            op(profile, "Change the token policy")
                .reads_body()
                .form_or_json(exact(&["policy"], json!({"policy": policy})))
                .json(
                    200,
                    "Changed",
                    exact(
                        &["policy", "previous"],
                        json!({"policy": policy, "previous": policy}),
                    ),
                )
                .json(400, "Not a policy", r("ApiError")),
        );
    }
}

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

fn devices(profile: Profile, paths: &mut Paths) {
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
    let call_errors = |op: Op| {
        op.json(404, "Unknown device, function or variable", r("ApiError"))
            .json(400, "Argument too long", r("ApiError"))
            .json(502, "The device refused", r("ApiError"))
            .json(503, "The device is offline", r("ApiError"))
            .json(504, "No answer within --device-timeout", r("ApiError"))
    };
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
            string(),
        ),
    );
}

pub fn paths(profile: Profile, paths: &mut Paths) {
    paths.add(
        "get",
        "/server/health",
        Op::new("admin", "Health (no auth)").json(200, "Up", r("Ok")),
    );
    paths.add(
        "get",
        "/__mock/openapi.json",
        op(
            profile,
            "This document (the running profile's, or ?profile=)",
        )
        .query(
            "profile",
            "The other profile's document",
            json!({"enum": ["spark-2014", "particle"]}),
        )
        .json(200, "The OpenAPI 3.1 document", object())
        .json(400, "Unknown profile", r("ApiError")),
    );
    tokens(profile, paths);
    control(profile, paths);
    journal_and_faults(profile, paths);
    devices(profile, paths);
}
