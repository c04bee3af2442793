//! `/v1/webhooks` and `/v1/integrations` (particle only; spark-2014 answers 404).

use serde_json::{json, Value};

use super::op::{Auth, Op};
use super::schemas::{exact, r, string, time};
use super::Paths;
use crate::config::Profile;

fn view(integration: bool) -> Value {
    let any = json!({});
    let mut props = json!({
        "id": string(), "event": string(), "url": string(),
        "requestType": {"enum": ["GET", "POST", "PUT", "DELETE"]}, "created_at": time(),
        "deviceID": string(), "name": string(), "json": any, "form": {"type": "object"},
        "query": {"type": "object"}, "body": string(), "headers": {"type": "object"},
        "auth": {"type": "object"}, "responseTopic": string(),
        "errorResponseTopic": string(), "responseTemplate": any,
        "noDefaults": {"const": true}, "mydevices": {"type": "boolean"},
        "disabled": {"const": true}, "rejectUnauthorized": {"const": false},
    });
    let mut required = vec![
        "id",
        "event",
        "url",
        "requestType",
        "created_at",
        "mydevices",
    ];
    if integration {
        props["integration_type"] = json!({"const": "Webhook"});
        required.push("integration_type");
    }
    exact(&required, props)
}

fn settings() -> Value {
    let obj = json!({"type": "object", "additionalProperties": {"type": "string"}});
    json!({"type": "object", "properties": {
        "event": string(), "eventName": string(), "url": string(),
        "requestType": {"enum": ["GET", "POST", "PUT", "DELETE"]},
        "deviceID": string(), "name": string(), "json": {"type": ["object", "string"]},
        "form": obj, "query": obj, "body": string(), "headers": obj, "auth": obj,
        "responseTopic": string(), "errorResponseTopic": string(),
        "responseTemplate": {"type": ["object", "string"]},
        "noDefaults": {"type": "boolean"}, "mydevices": {"type": "boolean"},
        "disabled": {"type": "boolean"}, "rejectUnauthorized": {"type": "boolean"},
        "integration_type": {"const": "Webhook"},
    }})
}

fn op(profile: Profile, summary: &str) -> Op {
    Op::new("webhooks", summary).auth(profile, Auth::Bearer)
}

fn one(profile: Profile, summary: &str) -> Op {
    op(profile, summary)
        .path("id", "The webhook id")
        .json(404, "no webhook found", r("ApiError"))
}

pub fn paths(profile: Profile, paths: &mut Paths) {
    if profile != Profile::Particle {
        return;
    }
    let created = exact(
        &[
            "ok",
            "id",
            "url",
            "event",
            "name",
            "created_at",
            "integration_type",
            "hookUrl",
        ],
        json!({
            "ok": {"const": true}, "id": string(), "url": string(), "event": string(),
            "name": {"type": ["string", "null"]}, "created_at": time(),
            "integration_type": {"const": "Webhook"}, "hookUrl": string(),
        }),
    );
    let bad = "Bad settings (no event, no url, a bad requestType, …)";
    for base in ["/v1/webhooks", "/v1/integrations"] {
        paths.add(
            "post",
            base,
            op(profile, "Create a webhook")
                .form_or_json(settings())
                .json(201, "Created", created.clone())
                .json(400, bad, r("ApiError")),
        );
    }
    let list = |integration| json!({"type": "array", "items": view(integration)});
    paths.add(
        "get",
        "/v1/webhooks",
        op(profile, "The caller's webhooks, oldest first").json(200, "The list", list(false)),
    );
    paths.add(
        "get",
        "/v1/integrations",
        op(profile, "The caller's webhooks as integrations").json(200, "The list", list(true)),
    );
    let wrapped = exact(&["integration"], json!({"integration": view(true)}));
    paths.add(
        "get",
        "/v1/webhooks/{id}",
        one(profile, "One webhook").json(200, "The webhook", view(false)),
    );
    paths.add(
        "get",
        "/v1/integrations/{id}",
        one(profile, "One webhook as an integration").json(200, "It", wrapped.clone()),
    );
    paths.add(
        "put",
        "/v1/integrations/{id}",
        one(
            profile,
            "Replace a webhook's settings (event and url stay if left out)",
        )
        .form_or_json(settings())
        .json(200, "Replaced", wrapped)
        .json(400, bad, r("ApiError")),
    );
    paths.add(
        "delete",
        "/v1/webhooks/{id}",
        one(profile, "Delete a webhook").json(200, "Deleted", r("Ok")),
    );
    paths.add(
        "delete",
        "/v1/integrations/{id}",
        one(profile, "Delete a webhook").empty(204, "Deleted"),
    );
}
