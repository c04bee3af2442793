//! The web pages, for people who would rather look than read:
//!
//! - the Build web IDE at `/build` ([`build`], [`build_api`], [`sessions`], [`account`]):
//!   log in, see the access token on Settings, press Reset Token, all without changing the
//!   token on login, as in 2014; plus its JSON calls for scripts;
//! - the console at `/` and `/console` ([`dashboard`]): users and their tokens as a
//!   timeline, devices, events and the request journal, live, drawn from the admin API and
//!   the admin routes in [`live`] and [`device_calls`].
//!
//! Server-rendered HTML with no JavaScript for Build; one small script for the console. No
//! asset comes from the internet.

pub mod account;
pub mod build;
pub mod build_api;
pub mod dashboard;
pub mod device_calls;
pub mod html;
pub mod live;
pub mod pages;
pub mod sessions;
pub mod signed_in;

use axum::routing::{get, post};
use axum::{Extension, Router};

use crate::state::AppState;

/// The Build IDE and the console. Each server gets its own Build session table.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard::page_html))
        .route("/console", get(dashboard::page_html))
        .route("/console/timeline.js", get(dashboard::timeline))
        .route("/console/dashboard.js", get(dashboard::script))
        .route("/console/dashboard.css", get(dashboard::style))
        .route("/build", get(build::index))
        .route("/build/login", get(build::index).post(build::login))
        .route("/build/settings", get(build::settings))
        .route("/build/settings/reset", post(build::reset))
        .route("/build/logout", post(build::logout))
        .route("/build/build.css", get(build::style))
        .route("/build/api/sign_in", post(build_api::sign_in))
        .route("/build/api/access_token", get(build_api::access_token))
        .layer(Extension(sessions::Sessions::default()))
}

/// The console's admin routes, nested under `/__mock` (and its guard).
pub fn admin_routes() -> Router<AppState> {
    Router::new()
        .route("/events", get(live::events))
        .route("/devices/{id}/call/{function}", post(device_calls::call))
        .route(
            "/devices/{id}/variables/{name}",
            get(device_calls::variable),
        )
}
