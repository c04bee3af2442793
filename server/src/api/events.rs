//! Server-sent events (`/v1/events`, `/v1/devices/events`, `/v1/devices/:id/events`, each
//! with an optional name prefix) and `POST /v1/devices/events`.
//!
//! The stream is written by hand so every byte is the cloud's: `:ok` first, then
//! `event: <name>` / `data: <json>` pairs, and the profile's keep-alive when idle.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use http_body::Frame;
use tokio::time::Instant;

use crate::api::error::ApiError;
use crate::api::extract::{owned_device, Authed};
use crate::api::profile::{ok, shape, Shape};
use crate::api::request::ApiRequest;
use crate::config::Profile;
use crate::events::{Event, Filter, FilteredEvents, Scope, Subscription, Tracked};
use crate::ratelimit::StreamSlot;
use crate::state::AppState;
use axum::routing::get;
use axum::Router;

/// The event streams and `POST /v1/devices/events` (relative to `/v1`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/devices/events", get(mine).post(publish))
        .route("/devices/events/{*prefix}", get(mine))
        .route("/devices/{id}/events", get(device))
        .route("/devices/{id}/events/{*prefix}", get(device_prefixed))
        .route("/events", get(firehose))
        .route("/events/{*prefix}", get(firehose))
}

/// Longest silence on a stream; particle-api-js gives up after 15 s.
pub const KEEPALIVE: Duration = Duration::from_secs(9);

struct Sse {
    started: bool,
    /// This stream's events, already filtered by the bus.
    events: FilteredEvents,
    shape: &'static dyn Shape,
    profile: Profile,
    /// Ticks every third of [`KEEPALIVE`], as spark-server checks every 3 s; after
    /// [`QUIET_TICKS`] ticks with nothing sent, a keep-alive goes out, so no silence reaches
    /// 9 s. One long-lived timer per stream, and no clock read per event, keep a
    /// thousand-stream fan-out cheap.
    ticker: tokio::time::Interval,
    /// Ticks since the stream last sent anything.
    quiet_ticks: u32,
    /// Events sent since `stopping` was last polled (see [`Sse::poll_frame`]).
    unchecked: u32,
    /// Resolves when the server shuts down. Built once per stream, so waiting on it costs no
    /// re-registration per event (a thousand streams share the watch channel's lock).
    stopping: Pin<Box<dyn Future<Output = ()> + Send>>,
    /// A simultaneous-stream slot, held while the stream lives (rate limits on).
    _slot: Option<StreamSlot>,
    /// Lists the stream in `/__mock/state` while it lives.
    _tracked: Tracked,
    /// Injected faults: end after this many events / at this instant; no keep-alives.
    events_left: Option<u64>,
    cut: Option<Pin<Box<tokio::time::Sleep>>>,
    keepalive: bool,
}

/// Quiet ticks (a third of [`KEEPALIVE`] each) before a keep-alive: silences last 6 to 9 s.
const QUIET_TICKS: u32 = 3;

/// Under a steady flow of events the shutdown future is polled once per this many events.
const STOP_CHECK_EVERY: u32 = 32;

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

/// The body polls its own parts rather than racing them in a `select!`: events come first,
/// and the timer and the shutdown future are only polled when the stream is about to wait
/// (or every [`STOP_CHECK_EVERY`] events), so an event costs one channel poll.
impl http_body::Body for Sse {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let s = self.get_mut();
        let data = |b: Bytes| Poll::Ready(Some(Ok(Frame::data(b))));
        if !s.started {
            s.started = true;
            return data(Bytes::from_static(b":ok\n\n"));
        }
        if s.events_left == Some(0) {
            return Poll::Ready(None);
        }
        if let Some(cut) = s.cut.as_mut() {
            if cut.as_mut().poll(cx).is_ready() {
                return Poll::Ready(None);
            }
        }
        match s.events.rx.poll_recv(cx) {
            Poll::Ready(Some(e)) => {
                s.unchecked += 1;
                if s.unchecked >= STOP_CHECK_EVERY {
                    s.unchecked = 0;
                    if s.stopping.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(None);
                    }
                }
                s.quiet_ticks = 0;
                s.events_left = s.events_left.map(|n| n.saturating_sub(1));
                return data(shared_frame(s.shape, s.profile, &e));
            }
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Pending => {}
        }
        s.unchecked = 0;
        if s.stopping.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        // Loop until the ticker is pending, so its waker is registered before we wait.
        while s.ticker.poll_tick(cx).is_ready() {
            s.quiet_ticks += 1;
            if s.keepalive && s.quiet_ticks >= QUIET_TICKS {
                s.quiet_ticks = 0;
                return data(Bytes::from_static(s.shape.keepalive()));
            }
        }
        Poll::Pending
    }
}

fn ticker() -> tokio::time::Interval {
    let period = KEEPALIVE / QUIET_TICKS;
    let mut t = tokio::time::interval_at(Instant::now() + period, period);
    t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    t
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
        ticker: ticker(),
        quiet_ticks: 0,
        unchecked: 0,
        stopping: Box::pin(state.shutdown().wait()),
    };
    let body = Body::new(sse);
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
    Authed { actor, req }: Authed,
) -> Result<Response, ApiError> {
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
    Authed { actor, req }: Authed,
) -> Result<Response, ApiError> {
    let scope = Scope::Mine {
        user: actor.user.username,
    };
    let prefix = prefix(p);
    open(&state, &req, Filter { scope, prefix })
}

/// `GET /v1/devices/:id/events`.
pub async fn device(
    State(state): State<AppState>,
    Path(id): Path<String>,
    authed: Authed,
) -> Result<Response, ApiError> {
    device_stream(&state, &id, String::new(), authed)
}

/// `GET /v1/devices/:id/events/:prefix`.
pub async fn device_prefixed(
    State(state): State<AppState>,
    Path((id, p)): Path<(String, String)>,
    authed: Authed,
) -> Result<Response, ApiError> {
    device_stream(&state, &id, p, authed)
}

/// One device's events. The caller's own device shows everything; someone else's device
/// shows only its public events, as the cloud does, named by id or by name alike (a name
/// is the caller's own device's first). Only an unknown device is 403 Permission Denied.
/// Not [`OwnedDevice`](crate::api::extract::OwnedDevice): other users' devices are allowed.
fn device_stream(
    state: &AppState,
    id: &str,
    p: String,
    Authed { actor, req }: Authed,
) -> Result<Response, ApiError> {
    let device_id = match owned_device(state, &actor, id) {
        Ok(d) => d.id,
        Err(e) => state
            .devices()
            .find_anywhere(id, &actor.user.username)
            .map(|d| d.id)
            .ok_or(e)?,
    };
    let scope = Scope::Device {
        device_id,
        user: actor.user.username,
    };
    open(
        state,
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
pub async fn publish(
    State(state): State<AppState>,
    Authed { actor, req }: Authed,
) -> Result<Response, ApiError> {
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
    use crate::shutdown::Shutdown;

    fn stream(bus: &EventBus, profile: Profile, keepalive: bool, stop: &Shutdown) -> Sse {
        Sse {
            started: false,
            events: bus.subscribe_filtered(Filter {
                scope: Scope::All,
                prefix: None,
            }),
            shape: shape(profile),
            profile,
            ticker: ticker(),
            quiet_ticks: 0,
            unchecked: 0,
            stopping: Box::pin(stop.wait()),
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

    fn event(name: &str) -> Event {
        Event {
            name: name.into(),
            data: None,
            ttl: 60,
            published_at: chrono::Utc::now(),
            coreid: "api".into(),
            public: true,
            owner: None,
        }
    }

    /// The stream's next chunk, as hyper would poll it.
    async fn next_chunk(s: &mut Sse) -> Option<Bytes> {
        use http_body_util::BodyExt;
        let frame = s.frame().await?;
        frame.ok()?.into_data().ok()
    }

    /// Time is paused: the test runs instantly while the runtime's clock jumps ahead.
    #[tokio::test(start_paused = true)]
    async fn an_idle_stream_sends_the_profiles_keepalive_every_nine_seconds() {
        let bus = EventBus::new();
        let stop = Shutdown::new();
        for (profile, bytes) in [
            (Profile::Spark2014, &b"\n"[..]),
            (Profile::Particle, &b":\n\n"[..]),
        ] {
            let mut s = stream(&bus, profile, true, &stop);
            assert_eq!(next_chunk(&mut s).await.as_deref(), Some(&b":ok\n\n"[..]));
            for _ in 0..3 {
                let started = Instant::now();
                assert_eq!(next_chunk(&mut s).await.as_deref(), Some(bytes));
                assert_eq!(started.elapsed(), KEEPALIVE);
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn events_hold_the_keepalive_back_and_silences_stay_under_nine_seconds() {
        let bus = EventBus::new();
        let stop = Shutdown::new();
        let mut s = stream(&bus, Profile::Particle, true, &stop);
        next_chunk(&mut s).await;
        let mut last = Instant::now();
        // An event every 5 s for a minute: never 9 s of silence, so no keep-alive.
        for _ in 0..12 {
            tokio::time::sleep(Duration::from_secs(5)).await;
            bus.publish(event("tick"));
            let chunk = next_chunk(&mut s).await.unwrap_or_default();
            assert!(chunk.starts_with(b"event: tick\n"), "{chunk:?}");
            last = Instant::now();
        }
        // Then silence: the keep-alive comes after 6 to 9 s.
        assert_eq!(next_chunk(&mut s).await.as_deref(), Some(&b":\n\n"[..]));
        let quiet = last.elapsed();
        assert!(
            quiet >= Duration::from_secs(6) && quiet <= KEEPALIVE,
            "{quiet:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn without_keepalives_an_idle_stream_stays_silent() {
        let bus = EventBus::new();
        let stop = Shutdown::new();
        let mut s = stream(&bus, Profile::Particle, false, &stop);
        next_chunk(&mut s).await;
        let silent = tokio::time::timeout(Duration::from_secs(60), next_chunk(&mut s)).await;
        assert!(silent.is_err(), "a keep-alive went out");
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_ends_a_waiting_stream() {
        let bus = EventBus::new();
        let stop = Shutdown::new();
        let mut s = stream(&bus, Profile::Particle, false, &stop);
        next_chunk(&mut s).await;
        let waiting = tokio::spawn(async move { next_chunk(&mut s).await });
        tokio::task::yield_now().await;
        stop.trigger();
        let ended = tokio::time::timeout(Duration::from_secs(1), waiting).await;
        assert!(matches!(ended, Ok(Ok(None))), "the stream did not end");
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_ends_a_stream_that_never_runs_dry() {
        let bus = EventBus::new();
        let stop = Shutdown::new();
        let mut s = stream(&bus, Profile::Particle, false, &stop);
        next_chunk(&mut s).await;
        stop.trigger();
        let mut sent = 0;
        loop {
            // Keep events queued, so the stream never waits.
            bus.publish(event("flood"));
            match next_chunk(&mut s).await {
                Some(_) => sent += 1,
                None => break,
            }
            assert!(
                sent <= STOP_CHECK_EVERY,
                "still streaming after {sent} events"
            );
        }
    }
}
