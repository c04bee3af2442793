//! The console: one static page at `/` and `/console` whose script draws everything from
//! the admin API (`/__mock/state`, `/__mock/tokens`, `/__mock/requests`) and keeps it live
//! from `/__mock/events`. The page holds no data itself, so it needs no escaping here: the
//! script writes every value with `textContent`. Its assets are compiled into the binary.

use axum::response::Response;

use crate::web::html::{asset, page};

/// `GET /`, `GET /console`.
pub async fn page_html() -> Response {
    page(
        axum::http::StatusCode::OK,
        include_str!("assets/dashboard.html").to_string(),
    )
}

/// `GET /console/dashboard.js`.
pub async fn script() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("assets/dashboard.js"),
    )
}

/// `GET /console/timeline.js`: draws the token timeline.
pub async fn timeline() -> Response {
    asset(
        "text/javascript; charset=utf-8",
        include_str!("assets/timeline.js"),
    )
}

/// `GET /console/dashboard.css`.
pub async fn style() -> Response {
    asset(
        "text/css; charset=utf-8",
        include_str!("assets/dashboard.css"),
    )
}
