//! `/v1/devices…` (list, claim, detail, update, release, ping, variables, functions) and
//! `/v1/provisioning/:id`.

use serde_json::{json, Value};

use super::calls::{call_function, device_failures, read_variable};
use super::op::{Auth, Op};
use super::schemas::{exact, nullable_string, r, string, time};
use super::Paths;
use crate::config::Profile;

/// A device id or name. `/v1/devices/events…` are the event routes: as OpenAPI says,
/// a concrete path wins over a template.
fn device_id() -> Value {
    json!({"type": "string", "minLength": 1})
}

/// The demo's `coffee` core, and one of its functions and variables.
pub const DEMO_CORE: &str = "5ee0de7000000000000c0ffe";
pub const DEMO_FUNCTION: &str = "brew";
pub const DEMO_VARIABLE: &str = "temperature";

pub(super) fn device_op(profile: Profile, summary: &str) -> Op {
    Op::new("devices", summary)
        .auth(profile, Auth::Bearer)
        .path_schema("id", "The device's id (24 hex) or name", device_id())
        .example("id", DEMO_CORE)
        .json(
            403,
            "Unknown device, or another user's",
            r("PermissionDenied"),
        )
}

/// What a rename answers: each cloud shaped it differently.
fn renamed(profile: Profile) -> Value {
    match profile {
        Profile::Spark2014 => exact(
            &["ok", "name"],
            json!({"ok": {"const": true}, "name": string()}),
        ),
        Profile::Particle => exact(
            &["id", "name", "updated_at"],
            json!({"id": string(), "name": string(), "updated_at": time()}),
        ),
    }
}

/// The update's request: a form or JSON for the fields, multipart for a firmware file.
fn update_request(profile: Profile) -> Op {
    let fields = json!({"type": "object", "properties": {
        "name": string(), "signal": {"enum": ["1", "0"]}, "notes": string(),
    }});
    let op = device_op(profile, "Rename, signal (rainbow), set notes, or flash")
        .describe(
            "One of `name`, `signal` (1 or 0) or `notes` (particle), as a form or JSON; or \
             multipart `file` (with `file_type=binary`) to flash a firmware binary.",
        )
        .body(
            &["application/x-www-form-urlencoded", "application/json"],
            fields,
        )
        .json(
            400,
            "A JSON body that is not an object, or malformed",
            r("ApiError"),
        );
    // `body` replaced the request body; add multipart to the same `requestBody`.
    op.multipart(json!({"type": "object", "properties": {
        "file": {"type": "string", "contentMediaType": "application/octet-stream"},
        "file_type": {"enum": ["binary"]},
    }}))
}

/// The update's answers: a 200 for each thing it may turn out to do, and its refusals.
fn update_answers(op: Op, profile: Profile) -> Op {
    let op = op
        .json(200, "Renamed", renamed(profile))
        .json(
            200,
            "Signaling",
            exact(
                &["id", "connected", "signaling"],
                json!({
                    "id": string(), "connected": {"const": true}, "signaling": {"type": "boolean"},
                }),
            ),
        )
        .json(
            200,
            "Flashing",
            exact(
                &["id", "status"],
                json!({
                    "id": string(), "status": {"const": "Update started"},
                }),
            ),
        )
        .json(
            400,
            "Invalid device name, or signal not 1 or 0",
            r("ApiError"),
        )
        .json(
            400,
            "Nothing to do?",
            exact(&["error"], json!({"error": {"const": "Nothing to do?"}})),
        )
        .json(
            403,
            "Another of the owner's devices has that name (the 2015 answer)",
            duplicate_name(),
        );
    // `notes` is a P field, but spark-2014 keeps it too rather than refusing it.
    op.json(
        200,
        "Notes set",
        exact(
            &["id", "notes", "updated_at"],
            json!({
                "id": string(), "notes": nullable_string(), "updated_at": time(),
            }),
        ),
    )
}

/// `PUT /v1/devices/{id}`: rename, signal, notes or flash.
fn update(profile: Profile) -> Op {
    device_failures(update_answers(update_request(profile), profile), profile)
}

/// `/v1/devices`: the caller's list, and claiming one more.
fn list_and_claim(profile: Profile, paths: &mut Paths) {
    paths.add(
        "get",
        "/v1/devices",
        Op::new("devices", "The caller's devices, from the cache")
            .auth(profile, Auth::Bearer)
            .json(
                200,
                "The devices",
                json!({"type": "array", "items": r("DeviceSummary")}),
            ),
    );
    let (not_found, taken) = match profile {
        Profile::Spark2014 => (r("ApiErrors"), r("ApiErrors")),
        Profile::Particle => (r("ApiError"), r("ApiError")),
    };
    paths.add(
        "post",
        "/v1/devices",
        Op::new("devices", "Claim a device")
            .auth(profile, Auth::Bearer)
            .form_or_json(json!({"type": "object", "properties": {"id": string()}}))
            .json(
                200,
                "Claimed",
                exact(
                    &["ok", "id"],
                    json!({"ok": {"const": true}, "id": string()}),
                ),
            )
            .json(404, "device not found", not_found)
            .json(400, "The device belongs to someone else.", taken)
            .json(
                403,
                "One of the caller's devices has this device's name (the 2015 answer)",
                duplicate_name(),
            ),
    );
}

/// The 2015 cloud's answer to a duplicate device name.
fn duplicate_name() -> Value {
    exact(
        &["ok", "code", "errors"],
        json!({
            "ok": {"const": false}, "code": {"const": 403},
            "errors": {"type": "array", "items": {"type": "object"}},
        }),
    )
}

/// `/v1/devices/{id}`: read, update and release one device.
fn one_device(profile: Profile, paths: &mut Paths) {
    paths.add(
        "get",
        "/v1/devices/{id}",
        device_op(profile, "One device")
            .json(200, "The device", r("DeviceDetail"))
            .link(
                200,
                "call",
                "POST /v1/devices/{id}/{name}",
                json!({
                    "id": "$request.path.id", "name": "$response.body#/functions/0",
                }),
            ),
    );
    paths.add("put", "/v1/devices/{id}", update(profile));
    paths.add(
        "delete",
        "/v1/devices/{id}",
        device_op(profile, "Release (unclaim) a device").json(200, "Released", r("Ok")),
    );
}

/// `/v1/devices/{id}/ping`: the real ping on PUT; GET and POST are a variable or function
/// that happens to be named `ping`.
fn ping(profile: Profile, paths: &mut Paths) {
    paths.add(
        "put",
        "/v1/devices/{id}/ping",
        device_op(profile, "Whether the device answers").json(
            200,
            "The answer",
            exact(
                &["online", "ok"],
                json!({"online": {"type": "boolean"}, "ok": {"const": true}}),
            ),
        ),
    );
    paths.add(
        "get",
        "/v1/devices/{id}/ping",
        read_variable(profile, "Read a variable named ping"),
    );
    paths.add(
        "post",
        "/v1/devices/{id}/ping",
        call_function(profile, "Call a function named ping"),
    );
}

/// `/v1/devices/{id}/{name}`: read a variable, call a function.
fn variables_and_functions(profile: Profile, paths: &mut Paths) {
    let name = json!({"type": "string", "minLength": 1});
    paths.add(
        "get",
        "/v1/devices/{id}/{name}",
        read_variable(profile, "Read a variable")
            .path_schema("name", "The variable", name.clone())
            .example("name", DEMO_VARIABLE),
    );
    paths.add(
        "post",
        "/v1/devices/{id}/{name}",
        call_function(profile, "Call a function")
            .path_schema("name", "The function", name)
            .example("name", DEMO_FUNCTION),
    );
}

/// `/v1/provisioning/{id}`: a device's public key, stored ahead of its first handshake.
fn provisioning(profile: Profile, paths: &mut Paths) {
    paths.add(
        "post",
        "/v1/provisioning/{id}",
        Op::new("devices", "Store a device's public key")
            .auth(profile, Auth::Bearer)
            .path("id", "The device id (24 hex)")
            .form_or_json(json!({"type": "object", "properties": {
                "deviceID": string(), "publicKey": string(),
            }}))
            .json(200, "Stored", json!({"const": "Success!"}))
            .json(
                400,
                "No deviceID, a bad one, or a bad key",
                exact(&["error"], json!({"error": string()})),
            )
            .json(403, "The device belongs to another user", r("ApiError")),
    );
}

pub fn paths(profile: Profile, paths: &mut Paths) {
    list_and_claim(profile, paths);
    one_device(profile, paths);
    ping(profile, paths);
    variables_and_functions(profile, paths);
    provisioning(profile, paths);
}
