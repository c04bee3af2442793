//! Event streams (SSE) and `POST /v1/devices/events`. Streams never end by themselves, so
//! each is marked `x-spark-mock-stream` (the fuzz test leaves them out).

use serde_json::{json, Value};

use super::op::{Auth, Op};
use super::schemas::{exact, r, string, time};
use super::Paths;
use crate::config::Profile;

fn stream(profile: Profile, summary: &str) -> Op {
    let ttl = match profile {
        Profile::Spark2014 => "`ttl` a string (`\"60\"`)",
        Profile::Particle => "`ttl` a number",
    };
    let keepalive = match profile {
        Profile::Spark2014 => "a bare `\\n`",
        Profile::Particle => "`:\\n\\n`",
    };
    Op::new("events", summary)
        .describe(&format!(
            "Server-sent events: first `:ok\\n\\n`, then `event: NAME\\ndata: \
             {{\"data\",\"ttl\",\"published_at\",\"coreid\"}}\\n\\n` per event, {ttl}; \
             after 6 to 9 s of silence, {keepalive}. The prefix matches event names by prefix."
        ))
        .auth(profile, Auth::Bearer)
        .stream()
        .media(
            200,
            "The stream (never ends by itself); the schema is each event's data",
            "text/event-stream",
            sse(true, event_data(profile)),
        )
        .json(
            429,
            "Too many streams (only with `--rate-limits`)",
            r("ApiError"),
        )
}

/// One server-sent event: its name, and its `data:` line, JSON (an annotation in JSON
/// Schema 2020-12, as OpenAPI 3.2's `itemSchema` describes SSE).
pub(super) fn sse(name: bool, data: Value) -> Value {
    let mut props = json!({"data": {
        "type": "string", "contentMediaType": "application/json", "contentSchema": data,
    }});
    if name {
        props["event"] = string();
    }
    json!({"type": "object", "required": ["data"], "properties": props})
}

/// The JSON of one event's `data:` line.
fn event_data(profile: Profile) -> Value {
    let ttl = match profile {
        Profile::Spark2014 => json!({"type": "string"}),
        Profile::Particle => json!({"type": "integer", "minimum": 0}),
    };
    exact(
        &["data", "ttl", "published_at", "coreid"],
        json!({"data": {"type": ["string", "null"]}, "ttl": ttl, "published_at": time(), "coreid": string()}),
    )
}

fn prefix(op: Op) -> Op {
    op.path("prefix", "The event name prefix")
}

fn device(op: Op) -> Op {
    op.path("id", "The device's id or name")
        .json(403, "Unknown device", r("PermissionDenied"))
}

pub fn paths(profile: Profile, paths: &mut Paths) {
    let all = "Public events of everyone, and the caller's private ones";
    paths.add("get", "/v1/events", stream(profile, all));
    paths.add("get", "/v1/events/{prefix}", prefix(stream(profile, all)));
    let mine = "Events of the caller's devices, public and private";
    paths.add("get", "/v1/devices/events", stream(profile, mine));
    paths.add(
        "get",
        "/v1/devices/events/{prefix}",
        prefix(stream(profile, mine)),
    );
    let one = "One device's events (public only if it is not the caller's)";
    paths.add(
        "get",
        "/v1/devices/{id}/events",
        device(stream(profile, one)),
    );
    paths.add(
        "get",
        "/v1/devices/{id}/events/{prefix}",
        prefix(device(stream(profile, one))),
    );
    let coreid = match profile {
        Profile::Spark2014 => "the publisher's user id",
        Profile::Particle => "`api`",
    };
    paths.add(
        "post",
        "/v1/devices/events",
        Op::new("events", "Publish an event")
            .describe(&format!(
                "Public unless `private` is true; `ttl` defaults to 60; `coreid` is {coreid}."
            ))
            .auth(profile, Auth::Bearer)
            .form_or_json(json!({"type": "object", "properties": {
                "name": string(), "data": string(), "private": string(), "ttl": string(),
            }}))
            .json(200, "Published", r("Ok"))
            .json(
                400,
                "No name, a name over 63 characters, or a bad ttl",
                r("ApiError"),
            ),
    );
}
