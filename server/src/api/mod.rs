//! The HTTP API, grouped by resource. Handlers only parse and shape; the rules live in
//! `domain`, the shapes in `profile`.

pub mod access_tokens;
pub mod admin;
pub mod auth;
pub mod calls;
pub mod clients;
pub mod control;
pub mod devices;
pub mod error;
pub mod events;
pub mod faults;
pub mod history;
pub mod journal;
pub mod limits;
pub mod mock_devices;
pub mod oauth;
pub mod profile;
pub mod provisioning;
pub mod request;
pub mod users;
pub mod webhooks;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post, put};
use axum::Router;

use crate::api::error::{ApiError, Unrendered};
use crate::state::AppState;

/// The whole HTTP API for one server.
pub fn app(state: AppState) -> Router {
    let v1 = Router::new()
        .route("/users", post(users::signup))
        .route(
            "/user",
            get(users::me).put(users::update).delete(users::delete),
        )
        .route("/user/password-reset", post(users::password_reset))
        .route(
            "/access_tokens",
            get(access_tokens::list).delete(access_tokens::revoke_all),
        )
        .route(
            "/access_tokens/current",
            get(access_tokens::current).delete(access_tokens::revoke_current),
        )
        .route(
            "/access_tokens/{token}",
            axum::routing::delete(access_tokens::revoke),
        )
        .route("/clients", get(clients::list).post(clients::create))
        .route(
            "/clients/{id}",
            put(clients::update).delete(clients::delete),
        )
        .route("/provisioning/{id}", post(provisioning::provision))
        .merge(webhook_routes())
        .merge(device_routes());
    let mock = Router::new()
        .route("/health", get(admin::health))
        .route("/tokens", get(admin::tokens))
        .route("/requests", get(journal::list).delete(journal::clear))
        .route("/openapi.json", get(crate::openapi::serve))
        .route("/state", get(control::state))
        .route("/reset", post(control::reset))
        .route("/reload", post(control::reload))
        .route(
            "/faults",
            get(faults::list).post(faults::add).delete(faults::clear),
        )
        .route("/faults/{id}", axum::routing::delete(faults::remove))
        .route("/tokens/{token}", get(admin::token))
        .route("/clock", get(admin::get_clock).post(admin::set_clock))
        .route(
            "/policy",
            get(admin::get_policy)
                .put(admin::set_policy)
                .post(admin::set_policy),
        )
        .route("/users/{username}/reset-token", post(admin::reset_token))
        .route(
            "/users/{username}/mfa",
            put(admin::set_mfa).delete(admin::clear_mfa),
        )
        .merge(crate::web::admin_routes())
        .route("/device-server", get(mock_devices::device_server))
        .route(
            "/devices",
            get(mock_devices::list).post(mock_devices::create),
        )
        .layer(middleware::from_fn_with_state(
            state.clone(),
            control::admin_guard,
        ));
    Router::new()
        .route("/oauth/token", any(oauth::token))
        .route("/server/health", get(admin::health))
        .nest("/v1", v1)
        .nest("/__mock", mock)
        .merge(crate::web::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // Innermost first: persistence, faults and rate limits see rendered handler errors
        // pass by; the journal (outside them) records the final status and notes.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            control::persist_changes,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), faults::apply))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            limits::rate_limit,
        ))
        .layer(middleware::map_response_with_state(
            state.clone(),
            render_errors,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            journal::record,
        ))
        .layer(middleware::from_fn(cors))
        .with_state(state)
}

/// `/v1/webhooks…` and `/v1/integrations…` (particle).
fn webhook_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/webhooks",
            get(webhooks::list_webhooks).post(webhooks::create_webhook),
        )
        .route(
            "/webhooks/{id}",
            get(webhooks::get_webhook).delete(webhooks::delete_webhook),
        )
        .route(
            "/integrations",
            get(webhooks::list_integrations).post(webhooks::create_integration),
        )
        .route(
            "/integrations/{id}",
            get(webhooks::get_integration)
                .put(webhooks::update_integration)
                .delete(webhooks::delete_integration),
        )
}

/// `/v1/devices…` and `/v1/events…`. Static segments (`events`, `ping`) win over `{name}`,
/// so `GET /v1/devices/:id/ping` still reads a variable named `ping`.
fn device_routes() -> Router<AppState> {
    Router::new()
        .route("/devices", get(devices::list).post(devices::claim))
        .route("/devices/events", get(events::mine).post(events::publish))
        .route("/devices/events/{*prefix}", get(events::mine))
        .route(
            "/devices/{id}",
            get(devices::detail)
                .put(devices::update)
                .delete(devices::release),
        )
        .route("/devices/{id}/events", get(events::device))
        .route(
            "/devices/{id}/events/{*prefix}",
            get(events::device_prefixed),
        )
        .route(
            "/devices/{id}/ping",
            put(devices::ping)
                .get(calls::get_ping_variable)
                .post(calls::call_ping_function),
        )
        .route(
            "/devices/{id}/{name}",
            get(calls::get_variable).post(calls::call_function),
        )
        .route("/events", get(events::firehose))
        .route("/events/{*prefix}", get(events::firehose))
}

async fn not_found() -> ApiError {
    ApiError::NotFound
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// Renders a handler's `ApiError` in the profile's shape.
async fn render_errors(State(state): State<AppState>, mut resp: Response) -> Response {
    match resp.extensions_mut().remove::<Unrendered>() {
        Some(Unrendered(err)) => profile::shape(state.config().profile).error(&err),
        None => resp,
    }
}

/// CORS as spark-server sends it: `OPTIONS` → 204 with the allow headers; every other
/// response carries `Access-Control-Allow-Origin: *`.
async fn cors(req: Request, next: Next) -> Response {
    if req.method() == Method::OPTIONS {
        let mut resp = StatusCode::NO_CONTENT.into_response();
        let h = resp.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, PUT, DELETE, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("X-Requested-With, Content-Type, Accept, Authorization"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("300"),
        );
        return resp;
    }
    let mut resp = next.run(req).await;
    resp.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    resp
}
