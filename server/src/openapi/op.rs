//! A small builder for one OpenAPI operation, so each resource file reads as the route
//! table it describes. Several shapes under one status become an `anyOf`, which is how the
//! cloud answers: e.g. a 400 is an OAuth error from the bearer check or an API error.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::schemas::{self, r};
use crate::config::Profile;

/// How a route authenticates its caller.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    None,
    /// A bearer token (header, query or form field).
    Bearer,
    /// HTTP Basic `email:password`.
    Basic,
    /// The admin API: loopback, or `X-Admin-Token` when `--admin-token` is set.
    Admin,
}

const JSON: &str = "application/json";

#[derive(Default)]
struct Resp {
    description: Vec<String>,
    content: BTreeMap<String, Vec<Value>>,
    headers: Map<String, Value>,
    links: Map<String, Value>,
}

pub struct Op {
    v: Map<String, Value>,
    params: Vec<Value>,
    responses: BTreeMap<u16, Resp>,
}

impl Op {
    pub fn new(tag: &str, summary: &str) -> Op {
        let mut v = Map::new();
        v.insert("tags".into(), json!([tag]));
        v.insert("summary".into(), json!(summary));
        let mut op = Op {
            v,
            params: Vec::new(),
            responses: BTreeMap::new(),
        };
        if tag != "admin" {
            op = op.json(
                429,
                "Over a rate limit (only with `--rate-limits`)",
                r("ApiError"),
            );
        }
        op
    }

    pub fn describe(mut self, text: &str) -> Op {
        self.v.insert("description".into(), json!(text));
        self
    }

    /// The route reads its request through the common extractor: a body over 1 MiB is a
    /// 413, one that stops short a 408.
    pub fn reads_body(self) -> Op {
        self.json(413, "The body is over 1 MiB", r("ApiError"))
            .json(
                408,
                "The body did not arrive within `--body-timeout`",
                r("ApiError"),
            )
    }

    /// Who may call it; a bearer route adds the profile's bearer errors, and every one
    /// reads its parameters, so an unreadable JSON body is a 400.
    pub fn auth(mut self, profile: Profile, auth: Auth) -> Op {
        let security = match auth {
            Auth::None => json!([]),
            Auth::Bearer => json!([{"bearer": []}]),
            Auth::Basic => json!([{"basic": []}]),
            Auth::Admin => json!([{}, {"adminToken": []}]),
        };
        self.v.insert("security".into(), security);
        if matches!(auth, Auth::Bearer | Auth::Basic) {
            self = self.reads_body();
        }
        match auth {
            Auth::Bearer => {
                self = self.json(
                    400,
                    "No token, or more than one, or a malformed header",
                    r("OAuthError"),
                );
                let bad = "The token is unknown, expired or invalidated";
                self = match profile {
                    Profile::Spark2014 => self.json(400, bad, r("OAuthError")),
                    Profile::Particle => self.json(401, bad, r("OAuthError")),
                };
            }
            Auth::Admin => {
                self = self
                    .json(401, "Not loopback and no admin token", r("ApiError"))
                    .json(403, "A wrong admin token", r("ApiError"));
            }
            Auth::None | Auth::Basic => {}
        }
        self
    }

    /// Marks a response that never ends (an event stream).
    pub fn stream(mut self) -> Op {
        self.v.insert("x-spark-mock-stream".into(), json!(true));
        self
    }

    /// A path parameter (any non-empty text).
    pub fn path(self, name: &str, description: &str) -> Op {
        self.path_schema(name, description, json!({"type": "string", "minLength": 1}))
    }

    pub fn path_schema(mut self, name: &str, description: &str, schema: Value) -> Op {
        self.params.push(json!({
            "name": name, "in": "path", "required": true,
            "description": description, "schema": schema,
        }));
        self
    }

    /// An example value for the parameter `name` (the demo's, so it works against
    /// `spark-mock demo`).
    pub fn example(mut self, name: &str, value: &str) -> Op {
        for p in self.params.iter_mut().filter(|p| p["name"] == name) {
            p["example"] = json!(value);
        }
        self
    }

    pub fn query(mut self, name: &str, description: &str, schema: Value) -> Op {
        self.params.push(json!({
            "name": name, "in": "query", "required": false,
            "description": description, "schema": schema,
        }));
        self
    }

    /// A body given as a form or as JSON (the cloud's parsers take either); a JSON body
    /// that is not an object is a 400.
    pub fn form_or_json(self, schema: Value) -> Op {
        self.body(&["application/x-www-form-urlencoded", JSON], schema)
            .json(
                400,
                "A JSON body that is not an object, or malformed",
                r("ApiError"),
            )
    }

    pub fn body(mut self, media: &[&str], schema: Value) -> Op {
        let content: Map<String, Value> = media
            .iter()
            .map(|m| (m.to_string(), json!({"schema": schema.clone()})))
            .collect();
        self.v.insert(
            "requestBody".into(),
            json!({"required": false, "content": content}),
        );
        self
    }

    /// Adds multipart/form-data to the request body.
    pub fn multipart(mut self, schema: Value) -> Op {
        let body = self
            .v
            .entry("requestBody")
            .or_insert_with(|| json!({"required": false, "content": {}}));
        body["content"]["multipart/form-data"] = json!({"schema": schema});
        self
    }

    /// A JSON response.
    pub fn json(self, status: u16, description: &str, schema: Value) -> Op {
        self.media(status, description, JSON, schema)
    }

    /// A response of another media type.
    pub fn media(mut self, status: u16, description: &str, media: &str, schema: Value) -> Op {
        let resp = self.responses.entry(status).or_default();
        if !resp.description.iter().any(|d| d == description) {
            resp.description.push(description.to_string());
        }
        let list = resp.content.entry(media.to_string()).or_default();
        if !list.contains(&schema) {
            list.push(schema);
        }
        self
    }

    /// A header every `status` response carries.
    pub fn header(mut self, status: u16, name: &str, schema: Value) -> Op {
        let resp = self.responses.entry(status).or_default();
        resp.headers
            .insert(name.into(), json!({"required": true, "schema": schema}));
        self
    }

    /// An OpenAPI link: where a value of the `status` response leads (e.g. a listed
    /// device's id to its detail), so clients and fuzzers can follow real ids.
    pub fn link(mut self, status: u16, name: &str, operation_id: &str, parameters: Value) -> Op {
        let resp = self.responses.entry(status).or_default();
        resp.links.insert(
            name.into(),
            json!({"operationId": operation_id, "parameters": parameters}),
        );
        self
    }

    /// A response with no body (204, a redirect).
    pub fn empty(mut self, status: u16, description: &str) -> Op {
        let resp = self.responses.entry(status).or_default();
        resp.description.push(description.to_string());
        self
    }

    pub fn build(mut self) -> Value {
        if !self.params.is_empty() {
            self.v
                .insert("parameters".into(), Value::Array(self.params));
        }
        let responses: Map<String, Value> = self
            .responses
            .into_iter()
            .map(|(status, resp)| {
                let mut out = Map::new();
                out.insert("description".into(), json!(resp.description.join("; ")));
                let mut headers = resp.headers;
                if let Value::Object(cors) = schemas::cors_header() {
                    headers.extend(cors);
                }
                out.insert("headers".into(), Value::Object(headers));
                if !resp.links.is_empty() {
                    out.insert("links".into(), Value::Object(resp.links));
                }
                if !resp.content.is_empty() {
                    let content: Map<String, Value> = resp
                        .content
                        .into_iter()
                        .map(|(media, mut list)| {
                            let schema = if list.len() == 1 {
                                list.remove(0)
                            } else {
                                json!({"anyOf": list})
                            };
                            (media, json!({"schema": schema}))
                        })
                        .collect();
                    out.insert("content".into(), Value::Object(content));
                }
                (status.to_string(), Value::Object(out))
            })
            .collect();
        self.v.insert("responses".into(), Value::Object(responses));
        Value::Object(self.v)
    }
}
