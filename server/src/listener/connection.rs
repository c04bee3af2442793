//! Serving one accepted HTTP connection: hyper's HTTP/1 over the axum router, closed when
//! overdue (see `activity`) and gracefully when the server stops.

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, HeaderValue, Request, Response, StatusCode};
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;
use tower::ServiceExt;

use super::activity::{Activity, Deadlines, Guarded, Watched};
use crate::api::error::ApiError;
use crate::config::Profile;
use crate::shutdown::Shutdown;

/// How a connection was let in.
pub(super) enum Admission {
    /// Within `--max-connections`: every route, keep-alive, the configured timeouts. The
    /// permit goes back when the connection closes.
    Slot { _permit: OwnedSemaphorePermit },
    /// Over the cap: one request, which must arrive quickly; only `/server/health` and
    /// `/__mock` are served, everything else gets a 503.
    Overflow,
}

/// What every connection of one server shares.
#[derive(Clone)]
pub(super) struct Shared {
    pub app: Router,
    pub profile: Profile,
    pub deadlines: Deadlines,
    /// The header deadline of an over-cap connection.
    pub overflow_deadlines: Deadlines,
    /// The server's shutdown: finish what is in flight, then close.
    pub stop: Shutdown,
}

/// Serves `tcp` until the client closes it, it is overdue, or the server stops.
pub(super) async fn serve(
    tcp: TcpStream,
    remote: SocketAddr,
    shared: Shared,
    admission: Admission,
) {
    let overflow = matches!(admission, Admission::Overflow);
    let deadlines = if overflow {
        shared.overflow_deadlines
    } else {
        shared.deadlines
    };
    let activity = Activity::new();
    let io = TokioIo::new(Watched::new(tcp, activity.clone()));
    let service = {
        let (app, profile, activity) = (shared.app.clone(), shared.profile, activity.clone());
        hyper::service::service_fn(move |mut req: Request<Incoming>| {
            let busy = activity.begin();
            req.extensions_mut().insert(ConnectInfo(remote));
            let app = app.clone();
            async move {
                let resp = if overflow && !always_served(req.uri().path()) {
                    too_many_connections(profile)
                } else {
                    match app.oneshot(req.map(Body::new)).await {
                        Ok(resp) => resp,
                        Err(never) => match never {},
                    }
                };
                Ok::<_, Infallible>(resp.map(|body| Guarded::new(body, busy)))
            }
        })
    };
    let mut builder = http1::Builder::new();
    builder.keep_alive(!overflow);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let overdue = activity.overdue(deadlines);
    tokio::pin!(overdue);
    let stop = shared.stop.wait();
    tokio::pin!(stop);
    let mut stopping = false;
    loop {
        tokio::select! {
            served = conn.as_mut() => {
                if let Err(e) = served {
                    tracing::debug!("HTTP connection from {remote}: {e}");
                }
                break;
            }
            // Nothing is in flight (or it would not be overdue): dropping closes the socket.
            () = &mut overdue => {
                tracing::debug!("HTTP connection from {remote} closed: idle or too slow");
                break;
            }
            () = &mut stop, if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
    drop(admission);
}

/// Routes an over-cap connection is still served: the health check and the admin API, so the
/// mock can be watched and reset while something floods it.
fn always_served(path: &str) -> bool {
    path == "/server/health" || path == "/__mock" || path.starts_with("/__mock/")
}

/// `503` in the profile's error shape, for a non-admin request over the connection cap.
fn too_many_connections(profile: Profile) -> Response<Body> {
    let err = ApiError::message(
        StatusCode::SERVICE_UNAVAILABLE,
        "Too many connections; try again shortly",
    );
    let mut resp = crate::api::profile::shape(profile).error(&err);
    let h = resp.headers_mut();
    h.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_health_and_the_admin_api_pass_over_the_cap() {
        assert!(always_served("/server/health"));
        assert!(always_served("/__mock/requests"));
        assert!(!always_served("/__mockery"));
        assert!(!always_served("/v1/devices"));
        assert!(!always_served("/"));
    }
}
