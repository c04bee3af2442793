//! Server-sent events (`/v1/events`, `/v1/devices/events`, `/v1/devices/:id/events`, each
//! with an optional name prefix) and `POST /v1/devices/events`.
//!
//! The stream is written by hand so every byte is the cloud's: `:ok` first, then
//! `event: <name>` / `data: <json>` pairs, and the profile's keep-alive when idle.

use std::convert::Infallible;
use std::sync::{Arc, Weak};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::api::auth::authenticate;
use crate::api::devices::owned_device;
use crate::api::error::ApiError;
use crate::api::profile::{ok, shape, Shape};
use crate::api::request::ApiRequest;
use crate::config::Profile;
use crate::events::{Event, Filter, FilteredEvents, Scope, Subscription, Tracked};
use crate::ratelimit::StreamSlot;
use crate::state::AppState;

/// Longest silence on a stream; particle-api-js gives up after 15 s.
pub const KEEPALIVE: Duration = Duration::from_secs(9);

struct Sse {
    started: bool,
    /// This stream's events, already filtered by the bus.
    events: FilteredEvents,
    shape: &'static dyn Shape,
    profile: Profile,
    /// When the stream last sent anything; the ticker sends a keep-alive when it has been
    /// quiet for half of [`KEEPALIVE`], so no silence ever reaches it. One long-lived timer per
    /// stream instead of one per event keeps a thousand-stream fan-out cheap.
    last_sent: Instant,
    ticker: tokio::time::Interval,
    /// Resolves when the server shuts down. Built once per stream, so waiting on it costs no
    /// re-registration per event (a thousand streams share the watch channel's lock).
    stopping: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
    /// A simultaneous-stream slot, held while the stream lives (rate limits on).
    _slot: Option<StreamSlot>,
    /// Lists the stream in `/__mock/state` while it lives.
    _tracked: Tracked,
    /// Injected faults: end after this many events / at this instant; no keep-alives.
    events_left: Option<u64>,
    cut: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
    keepalive: bool,
}

thread_local! {
    /// The last event rendered on this worker thread, so a thousand streams format it once
    /// per thread, not a thousand times, without a lock shared between threads. Keyed by the
    /// event's allocation (the `Weak` keeps it from being reused) and the profile.
    static LAST_FRAME: std::cell::RefCell<Option<(Weak<Event>, Profile, Bytes)>> =
        const { std::cell::RefCell::new(None) };
}

fn shared_frame(shape: &dyn Shape, profile: Profile, e: &Arc<Event>) -> Bytes {
    LAST_FRAME.with(|cell| {
        let mut last = cell.borrow_mut();
        if let Some((ev, p, bytes)) = &*last {
            if *p == profile && std::ptr::eq(ev.as_ptr(), Arc::as_ptr(e)) {
                return bytes.clone();
            }
        }
        let bytes = frame(shape, e);
        *last = Some((Arc::downgrade(e), profile, bytes.clone()));
        bytes
    })
}

fn frame(shape: &dyn Shape, e: &Event) -> Bytes {
    // A name with a line break would split the SSE frame; the cloud never sends one.
    let name: String = e
        .name
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    Bytes::from(format!("event: {name}\ndata: {}\n\n", shape.event_data(e)))
}

async fn next_chunk(mut s: Sse) -> Option<(Result<Bytes, Infallible>, Sse)> {
    if !s.started {
        s.started = true;
        s.last_sent = Instant::now();
        return Some((Ok(Bytes::from_static(b":ok\n\n")), s));
    }
    if s.events_left == Some(0) {
        return None;
    }
    loop {
        let cutting = s.cut.is_some();
        tokio::select! {
            got = s.events.rx.recv() => match got {
                Some(e) => {
                    s.last_sent = Instant::now();
                    s.events_left = s.events_left.map(|n| n.saturating_sub(1));
                    let bytes = shared_frame(s.shape, s.profile, &e);
                    return Some((Ok(bytes), s));
                }
                None => return None,
            },
            _ = async { if let Some(c) = s.cut.as_mut() { c.await } }, if cutting => return None,
            _ = s.ticker.tick() => {
                if s.keepalive && s.last_sent.elapsed() >= KEEPALIVE / 2 {
                    s.last_sent = Instant::now();
                    return Some((Ok(Bytes::from_static(s.shape.keepalive())), s));
                }
            }
            _ = s.stopping.as_mut() => return None,
        }
    }
}

/// A future that resolves once the watch says `true` (or its sender is gone).
fn stopping(
    mut rx: watch::Receiver<bool>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
    Box::pin(async move {
        let _ = rx.wait_for(|stop| *stop).await;
    })
}

/// Opens a stream after authenticating; auth errors go out as JSON before any stream.
fn open(state: &AppState, req: &ApiRequest, filter: Filter) -> Result<Response, ApiError> {
    let slot = match (state.limiter(), req.remote_addr) {
        (Some(limiter), Some(addr)) => Some(limiter.open_stream(addr.ip()).map_err(|_| {
            ApiError::message(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many simultaneous event streams",
            )
        })?),
        _ => None,
    };
    let faults = req.faults.clone().unwrap_or_default();
    let tracked = state.bus().track(Subscription {
        id: 0,
        user: req.note.0.lock().user.clone(),
        route: req.path.clone(),
        prefix: filter.prefix.clone(),
        remote_addr: req.remote_ip(),
        opened_at: state.clock().now(),
    });
    let sse = Sse {
        _tracked: tracked,
        _slot: slot,
        events_left: faults.cut_after_events,
        cut: faults.cut_after.map(|d| Box::pin(tokio::time::sleep(d))),
        keepalive: !faults.no_keepalive,
        started: false,
        events: state.bus().subscribe_filtered(filter),
        shape: shape(state.config().profile),
        profile: state.config().profile,
        last_sent: Instant::now(),
        ticker: {
            let mut t = tokio::time::interval_at(Instant::now() + KEEPALIVE / 2, KEEPALIVE / 2);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            t
        },
        stopping: stopping(state.shutdown_watch()),
    };
    let body = Body::from_stream(futures_util::stream::unfold(sse, next_chunk));
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::OK;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::CONNECTION, HeaderValue::from_static("keep-alive"));
    Ok(resp)
}

/// The `/:prefix` of a stream route, when given and not empty.
fn prefix(p: Option<Path<String>>) -> Option<String> {
    p.map(|Path(p)| p).filter(|p| !p.is_empty())
}

/// `GET /v1/events[/:prefix]`.
pub async fn firehose(
    State(state): State<AppState>,
    p: Option<Path<String>>,
    req: ApiRequest,
) -> Result<Response, ApiError> {
    let actor = authenticate(&state, &req)?;
    let scope = Scope::Firehose {
        user: actor.user.username,
    };
    let prefix = prefix(p);
    open(&state, &req, Filter { scope, prefix })
}

/// `GET /v1/devices/events[/:prefix]`.
pub async fn mine(
    State(state): State<AppState>,
    p: Option<Path<String>>,
    req: ApiRequest,
) -> Result<Response, ApiError> {
    let actor = authenticate(&state, &req)?;
    let scope = Scope::Mine {
        user: actor.user.username,
    };
    let prefix = prefix(p);
    open(&state, &req, Filter { scope, prefix })
}

pub async fn device(
    State(state): State<AppState>,
    Path(id): Path<String>,
    req: ApiRequest,
) -> Result<Response, ApiError> {
    device_prefixed(State(state), Path((id, String::new())), req).await
}

/// One device's events. The caller's own device shows everything; someone else's device
/// shows only its public events, as the cloud does.
pub async fn device_prefixed(
    State(state): State<AppState>,
    Path((id, p)): Path<(String, String)>,
    req: ApiRequest,
) -> Result<Response, ApiError> {
    let actor = authenticate(&state, &req)?;
    let device_id = match owned_device(&state, &actor, &id) {
        Ok(d) => d.id,
        Err(e) => state
            .devices()
            .find_for(&id, &actor.user.username)
            .map(|d| d.id)
            .ok_or(e)?,
    };
    let scope = Scope::Device {
        device_id,
        user: actor.user.username,
    };
    open(
        &state,
        &req,
        Filter {
            scope,
            prefix: Some(p).filter(|p| !p.is_empty()),
        },
    )
}

/// `"True"`, `"true"`, `"1"` and JSON `true` mean private; anything else is public.
fn is_private(v: Option<&serde_json::Value>) -> bool {
    match v {
        Some(serde_json::Value::Bool(b)) => *b,
        Some(serde_json::Value::String(s)) => {
            matches!(s.to_ascii_lowercase().as_str(), "true" | "1" | "yes")
        }
        Some(serde_json::Value::Number(n)) => n.as_i64() == Some(1),
        _ => false,
    }
}

/// `POST /v1/devices/events`: `name`, `data`, `private`, `ttl`, as form or JSON.
pub async fn publish(State(state): State<AppState>, req: ApiRequest) -> Result<Response, ApiError> {
    let actor = authenticate(&state, &req)?;
    let params = req.params()?;
    let name = params
        .str("name")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::bad_request("Missing event name"))?;
    if name.len() > 63 {
        return Err(ApiError::bad_request(
            "Event name too long (63 characters at most)",
        ));
    }
    let ttl = match params.str("ttl") {
        Some(t) => t
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|t| *t <= 16_777_215)
            .ok_or_else(|| ApiError::bad_request("ttl must be a number of seconds"))?,
        None => 60,
    };
    let shaper = shape(state.config().profile);
    let event = Event {
        name,
        data: params.str("data"),
        ttl,
        published_at: state.clock().now(),
        coreid: shaper.api_coreid(&actor.user),
        public: !is_private(params.get("private")),
        owner: Some(actor.user.username.clone()),
    };
    tracing::debug!("{} published {}", actor.user.username, event.name);
    state.bus().publish(event);
    Ok(ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::profile::shape;
    use crate::events::EventBus;

    fn stream(
        bus: &EventBus,
        profile: Profile,
        keepalive: bool,
        stop: &watch::Sender<bool>,
    ) -> Sse {
        Sse {
            started: false,
            events: bus.subscribe_filtered(Filter {
                scope: Scope::All,
                prefix: None,
            }),
            shape: shape(profile),
            profile,
            last_sent: Instant::now(),
            ticker: tokio::time::interval_at(Instant::now() + KEEPALIVE / 2, KEEPALIVE / 2),
            stopping: stopping(stop.subscribe()),
            _slot: None,
            _tracked: bus.track(Subscription {
                id: 0,
                user: None,
                route: "/v1/events".into(),
                prefix: None,
                remote_addr: None,
                opened_at: chrono::Utc::now(),
            }),
            events_left: None,
            cut: None,
            keepalive,
        }
    }

    /// Time is paused: the test runs instantly while the runtime's clock jumps ahead.
    #[tokio::test(start_paused = true)]
    async fn an_idle_stream_sends_the_profiles_keepalive_within_nine_seconds() {
        let bus = EventBus::new();
        let stop = watch::channel(false).0;
        for (profile, bytes) in [
            (Profile::Spark2014, &b"\n"[..]),
            (Profile::Particle, &b":\n\n"[..]),
        ] {
            let (first, s) = next_chunk(stream(&bus, profile, true, &stop))
                .await
                .unwrap();
            assert_eq!(&first.unwrap()[..], b":ok\n\n");
            let started = Instant::now();
            let (ka, s) = next_chunk(s).await.unwrap();
            assert_eq!(&ka.unwrap()[..], bytes);
            assert!(started.elapsed() <= KEEPALIVE, "{:?}", started.elapsed());
            let started = Instant::now();
            let (_, _) = next_chunk(s).await.unwrap();
            assert!(started.elapsed() <= KEEPALIVE);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn without_keepalives_an_idle_stream_stays_silent() {
        let bus = EventBus::new();
        let stop = watch::channel(false).0;
        let (_, s) = next_chunk(stream(&bus, Profile::Particle, false, &stop))
            .await
            .unwrap();
        let silent = tokio::time::timeout(Duration::from_secs(60), next_chunk(s)).await;
        assert!(silent.is_err(), "a keep-alive went out");
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_ends_a_waiting_stream() {
        let bus = EventBus::new();
        let stop = watch::channel(false).0;
        let (_, s) = next_chunk(stream(&bus, Profile::Particle, false, &stop))
            .await
            .unwrap();
        let waiting = tokio::spawn(next_chunk(s));
        tokio::task::yield_now().await;
        stop.send_replace(true);
        let ended = tokio::time::timeout(Duration::from_secs(1), waiting).await;
        assert!(matches!(ended, Ok(Ok(None))), "the stream did not end");
    }
}
