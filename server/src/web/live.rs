//! `GET /__mock/events`, the console's live feed (admin, so loopback-only by default): one
//! SSE stream of every event (all users, public or private), plus a `changed` message
//! whenever tokens, devices or the request journal change, so the console refetches only
//! when there is something new. Each message is one line of JSON:
//! `{"kind":"event","name","data","ttl","published_at","coreid","public","owner"}` or
//! `{"kind":"changed","parts":["tokens"|"devices"|"requests", …]}`.

use std::collections::hash_map::DefaultHasher;
use std::convert::Infallible;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use serde_json::json;
use tokio::sync::broadcast;
use tokio::time::{Instant, Interval, MissedTickBehavior};

use crate::api::events::KEEPALIVE;
use crate::clock::iso_millis;
use crate::events::{Event, Filter, Scope};
use crate::shutdown::Shutdown;
use crate::state::AppState;

/// How often the stream looks for changes to tokens, devices and the journal.
const POLL: Duration = Duration::from_millis(400);

/// What the console shows, each as a hash: tokens (with users, policy and clock),
/// devices, and the request journal.
type Fingerprint = [u64; 3];
const PARTS: [&str; 3] = ["tokens", "devices", "requests"];

fn fingerprint(state: &AppState) -> Fingerprint {
    let now = state.clock().now();
    let mut h = DefaultHasher::new();
    state.policy().hash(&mut h);
    state.clock().offset().num_seconds().hash(&mut h);
    state.db_read(|db| {
        db.users().keys().for_each(|u| u.hash(&mut h));
        for t in db.all_tokens() {
            (&t.token, t.is_valid(now), t.invalidated.is_some()).hash(&mut h);
            (t.use_count, t.rejected_count).hash(&mut h);
        }
    });
    let tokens = h.finish();
    let mut h = DefaultHasher::new();
    for d in state.devices().list() {
        (&d.id, &d.name, &d.owner, d.online, d.last_heard).hash(&mut h);
        (&d.functions, d.variables.keys().collect::<Vec<_>>()).hash(&mut h);
    }
    let devices = h.finish();
    let mut h = DefaultHasher::new();
    state.journal().version().hash(&mut h);
    [tokens, devices, h.finish()]
}

struct Feed {
    started: bool,
    rx: broadcast::Receiver<Arc<Event>>,
    filter: Filter,
    state: AppState,
    last: Fingerprint,
    tick: Interval,
    quiet_since: Instant,
    shutdown: Shutdown,
}

fn message(value: serde_json::Value) -> Bytes {
    Bytes::from(format!("data: {value}\n\n"))
}

fn event_message(e: &Event) -> Bytes {
    message(json!({
        "kind": "event",
        "name": e.name,
        "data": e.data,
        "ttl": e.ttl,
        "published_at": iso_millis(e.published_at),
        "coreid": e.coreid,
        "public": e.public,
        "owner": e.owner,
    }))
}

async fn next_chunk(mut f: Feed) -> Option<(Result<Bytes, Infallible>, Feed)> {
    if !f.started {
        f.started = true;
        return Some((Ok(Bytes::from_static(b":ok\n\n")), f));
    }
    loop {
        if f.shutdown.is_triggered() {
            return None;
        }
        tokio::select! {
            got = f.rx.recv() => match got {
                Ok(e) if f.filter.matches(&e) => {
                    f.quiet_since = Instant::now();
                    return Some((Ok(event_message(&e)), f));
                }
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    f.quiet_since = Instant::now();
                    return Some((Ok(message(json!({"kind": "changed", "parts": PARTS}))), f));
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            },
            _ = f.tick.tick() => {
                let now = fingerprint(&f.state);
                let parts: Vec<&str> = (0..PARTS.len())
                    .filter(|&i| now[i] != f.last[i])
                    .map(|i| PARTS[i])
                    .collect();
                f.last = now;
                if !parts.is_empty() {
                    f.quiet_since = Instant::now();
                    return Some((Ok(message(json!({"kind": "changed", "parts": parts}))), f));
                }
                if f.quiet_since.elapsed() >= KEEPALIVE {
                    f.quiet_since = Instant::now();
                    return Some((Ok(Bytes::from_static(b":\n\n")), f));
                }
            }
            () = f.shutdown.wait() => return None,
        }
    }
}

/// `GET /__mock/events`.
pub async fn events(State(state): State<AppState>) -> Response {
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let feed = Feed {
        started: false,
        rx: state.bus().subscribe(),
        filter: Filter {
            scope: Scope::All,
            prefix: None,
        },
        last: fingerprint(&state),
        tick,
        quiet_since: Instant::now(),
        shutdown: state.shutdown().clone(),
        state,
    };
    let mut resp = Response::new(Body::from_stream(futures_util::stream::unfold(
        feed, next_chunk,
    )));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}
