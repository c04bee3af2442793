//! Event streams (SSE) and `POST /v1/devices/events`. Streams never end by themselves, so
//! each is marked `x-spark-mock-stream` (the fuzz test leaves them out).

use serde_json::json;

use super::op::{Auth, Op};
use super::schemas::{r, string};
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
            "The stream (never ends by itself)",
            "text/event-stream",
            string(),
        )
        .json(
            429,
            "Too many streams (only with `--rate-limits`)",
            r("ApiError"),
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
