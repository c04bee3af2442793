//! `/__mock`: the mock's own control API (loopback, or `--admin-token`), and
//! `/server/health`. Records here are described by their main keys; the README lists the rest.

use serde_json::{json, Value};

use super::op::{Auth, Op};
use super::schemas::{exact, r, time, with};
use super::Paths;
use crate::config::Profile;

pub(super) fn op(profile: Profile, summary: &str) -> Op {
    Op::new("admin", summary).auth(profile, Auth::Admin)
}

pub(super) fn object() -> Value {
    json!({"type": "object"})
}

pub(super) fn array() -> Value {
    json!({"type": "array"})
}

pub(super) fn user_path(op: Op) -> Op {
    op.path("username", "The user's email")
        .json(404, "Unknown user", r("ApiError"))
}

/// The mock's clock as `/__mock/clock` and `/__mock/state` show it.
fn clock_schema() -> Value {
    exact(
        &["now", "offset_secs"],
        json!({"now": time(), "offset_secs": {"type": "integer"}}),
    )
}

/// The token policies `--policy` accepts.
fn policy_schema() -> Value {
    json!({"enum": ["single", "per-client", "multi"]})
}

/// `/__mock/health` and `/__mock/state`: is it up, and what it holds.
fn health_and_state(profile: Profile, paths: &mut Paths) {
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
                    "profile": {"const": super::profile_name(profile)}, "policy": policy_schema(),
                    "clock": clock_schema(), "users": array(), "tokens": array(), "devices": array(),
                    "faults": array(),
                }),
            ),
        ),
    );
}

/// `/__mock/reset` and `/__mock/reload`: back to, or again from, the seed file.
fn reset_and_reload(profile: Profile, paths: &mut Paths) {
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
}

/// `/__mock/clock`: read and move the mock's clock.
fn clock_paths(profile: Profile, paths: &mut Paths) {
    paths.add(
        "get",
        "/__mock/clock",
        op(profile, "Read the clock").json(200, "The clock", clock_schema()),
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
            .json(200, "The clock", clock_schema())
            .json(400, "A bad move, or one beyond years 0000 to 9999", r("ApiError")),
    );
}

/// `/__mock/policy`: read and change the token policy.
fn policy_paths(profile: Profile, paths: &mut Paths) {
    let policy = policy_schema();
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

/// The mock's control routes, in the order the document lists them.
fn control(profile: Profile, paths: &mut Paths) {
    health_and_state(profile, paths);
    reset_and_reload(profile, paths);
    clock_paths(profile, paths);
    policy_paths(profile, paths);
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
    super::admin_tokens::paths(profile, paths);
    control(profile, paths);
    super::admin_devices::paths(profile, paths);
}
