//! The HTTP API, grouped by resource; each resource module gives its `routes()` and [`app`]
//! merges them. Handlers only parse and shape: who is calling and which device they name
//! come from the extractors in [`extract`], the rules from `domain`, the shapes (and every
//! other difference between the eras) from [`profile`].

pub mod access_tokens;
pub mod admin;
pub mod auth;
pub mod calls;
pub mod clients;
pub mod control;
pub mod devices;
pub mod error;
pub mod events;
pub mod extract;
pub mod faults;
pub mod flash;
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
use axum::routing::get;
use axum::Router;

use crate::api::error::{ApiError, Unrendered};
use crate::state::AppState;

/// The whole HTTP API for one server: each resource's routes, the admin API behind its
/// guard, the web pages, and the middleware every request passes.
pub fn app(state: AppState) -> Router {
    let v1 = Router::new()
        .merge(users::routes())
        .merge(access_tokens::routes())
        .merge(clients::routes())
        .merge(webhooks::routes())
        .merge(devices::routes())
        .merge(events::routes());
    let mock = admin::routes().layer(middleware::from_fn_with_state(
        state.clone(),
        control::admin_guard,
    ));
    Router::new()
        .merge(oauth::routes())
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
        // A span per request (method, URI), with its status and latency at debug level:
        // `RUST_LOG=tower_http=debug spark-mock serve` traces every request.
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
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
