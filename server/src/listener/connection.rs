//! Serving one accepted HTTP connection: hyper's HTTP/1 over the axum router, closed when
//! overdue (see `activity`) and gracefully when the server stops.

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tower::ServiceExt;

use super::activity::{Activity, Deadlines, Guarded, Watched};

/// What every connection of one server shares.
#[derive(Clone)]
pub(super) struct Shared {
    pub app: Router,
    pub deadlines: Deadlines,
    /// Becomes `true` when the server stops: finish what is in flight, then close.
    pub stop: watch::Receiver<bool>,
}

/// Serves `tcp` until the client closes it, it is overdue, or the server stops.
pub(super) async fn serve(tcp: TcpStream, remote: SocketAddr, shared: Shared) {
    let deadlines = shared.deadlines;
    let activity = Activity::new();
    let io = TokioIo::new(Watched::new(tcp, activity.clone()));
    let service = {
        let (app, activity) = (shared.app.clone(), activity.clone());
        hyper::service::service_fn(move |mut req: Request<Incoming>| {
            let busy = activity.begin();
            req.extensions_mut().insert(ConnectInfo(remote));
            let app = app.clone();
            async move {
                let resp = match app.oneshot(req.map(Body::new)).await {
                    Ok(resp) => resp,
                    Err(never) => match never {},
                };
                Ok::<_, Infallible>(resp.map(|body| Guarded::new(body, busy)))
            }
        })
    };
    let conn = http1::Builder::new().serve_connection(io, service);
    tokio::pin!(conn);
    let overdue = activity.overdue(deadlines);
    tokio::pin!(overdue);
    let mut stop = shared.stop;
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
            _ = stop.wait_for(|s| *s), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}
