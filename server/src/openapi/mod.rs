//! The OpenAPI 3.1 description of every route, one document per profile, served at
//! `GET /__mock/openapi.json` (the running profile; `?profile=spark-2014|particle` for the
//! other). Built with `serde_json` from the same facts the handlers use: statuses and error
//! texts come from cloud-api.md, as the handlers do. It cannot drift unnoticed:
//! `tests/openapi_routes.rs` compares its (method, path) set with the routes registered in
//! `server/src/api` and `server/src/web` and probes each one on a running server, and
//! `tests/openapi_fuzz.rs` runs schemathesis against it.
//!
//! Layout: [`op`] (the operation builder), [`schemas`] (shared shapes, errors per
//! profile), then one file of paths per resource: [`oauth`], [`users`] (and clients),
//! [`access_tokens`], [`devices`] and [`calls`], [`events`], [`webhooks`], [`admin`] with
//! [`admin_tokens`] and [`admin_devices`] (`/__mock`), [`web`] (the console and Build).

mod access_tokens;
mod admin;
mod admin_devices;
mod admin_tokens;
mod calls;
mod devices;
mod events;
mod oauth;
mod op;
mod schemas;
mod users;
mod web;
mod webhooks;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Map, Value};

use crate::api::error::ApiError;
use crate::api::profile::json_response;
use crate::api::request::ApiRequest;
use crate::config::Profile;
use crate::state::AppState;

pub use op::Op;

/// The `paths` object being filled, operation by operation.
#[derive(Default)]
pub struct Paths(Map<String, Value>);

impl Paths {
    /// Adds `method` (lowercase) on `path` (OpenAPI `{param}` syntax).
    pub fn add(&mut self, method: &str, path: &str, op: Op) {
        let item = self
            .0
            .entry(path.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(item) = item.as_object_mut() {
            let mut op = op.build();
            op["operationId"] = json!(format!("{} {path}", method.to_uppercase()));
            item.insert(method.to_string(), op);
        }
    }
}

/// The profile's name as `--profile` spells it.
pub fn profile_name(profile: Profile) -> &'static str {
    match profile {
        Profile::Spark2014 => "spark-2014",
        Profile::Particle => "particle",
    }
}

/// The whole document for `profile`.
pub fn document(profile: Profile) -> Value {
    let mut paths = Paths::default();
    oauth::paths(profile, &mut paths);
    users::paths(profile, &mut paths);
    access_tokens::paths(profile, &mut paths);
    devices::paths(profile, &mut paths);
    events::paths(profile, &mut paths);
    webhooks::paths(profile, &mut paths);
    admin::paths(profile, &mut paths);
    web::paths(profile, &mut paths);
    let era = match profile {
        Profile::Spark2014 => "the 2014 Spark cloud (api.spark.io, S1/SS in cloud-api.md)",
        Profile::Particle => "today's Particle cloud (api.particle.io, P in cloud-api.md)",
    };
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": format!("spark-mock ({})", profile_name(profile)),
            "version": env!("CARGO_PKG_VERSION"),
            "description": format!(
                "Every route spark-mock serves under `--profile {}`, which imitates {era}. \
                 A bearer token may also come as the `access_token` query parameter or form \
                 field (one method at a time). Every response carries \
                 `Access-Control-Allow-Origin: *`; `OPTIONS` on any path answers 204 with the \
                 CORS headers. Unknown routes answer `404 {{\"ok\":false,\"error\":\"Not Found\"}}`. \
                 Faults added through `/__mock/faults` may answer any route with another \
                 status; `--rate-limits` adds 429; `--state-dir` adds 503 when a write fails.",
                profile_name(profile)
            ),
        },
        "servers": [{"url": "/"}],
        "tags": [
            {"name": "oauth"}, {"name": "access_tokens"}, {"name": "users"},
            {"name": "clients"}, {"name": "devices"}, {"name": "events"},
            {"name": "webhooks"}, {"name": "admin"}, {"name": "web"},
        ],
        "paths": Value::Object(paths.0),
        "components": schemas::components(profile),
    })
}

/// `GET /__mock/openapi.json[?profile=…]`: the running profile's document, or the named one.
pub async fn serve(State(state): State<AppState>, req: ApiRequest) -> Result<Response, ApiError> {
    let profile = match req.query_param("profile") {
        None => state.config().profile,
        Some("spark-2014") => Profile::Spark2014,
        Some("particle") => Profile::Particle,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "unknown profile {other:?}: expected spark-2014 or particle"
            )))
        }
    };
    Ok(json_response(StatusCode::OK, &document(profile)))
}
