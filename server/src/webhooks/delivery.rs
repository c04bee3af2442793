//! The delivery task: one task watches the event bus (from the first webhook on) and hands
//! each matching (webhook, event) to its own task, which sends the request, journals it,
//! and publishes `hook-sent/<event>` and the response parts, or the error parts. The
//! publisher never waits: the bus only queues the event for the watcher.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderName, HeaderValue, ACCEPT, CONTENT_TYPE, USER_AGENT};
use tokio::sync::Semaphore;

use super::hook::{Hook, RequestType};
use super::render::{self, Body, Plan};
use crate::events::{Event, Filter, Scope};
use crate::journal::{Entry, EntryKind};
use crate::state::AppState;

/// Requests in flight at once; more wait their turn.
const MAX_IN_FLIGHT: usize = 64;
/// The most of a response that is read and published (longer answers are cut).
pub const MAX_RESPONSE_BYTES: usize = 100_000;

/// The HTTP clients: GET follows redirects, other methods do not (the cloud's HTTP
/// library's defaults). No proxy from the environment: targets are usually loopback.
pub struct Clients {
    follow: reqwest::Client,
    stay: reqwest::Client,
}

impl Clients {
    pub fn new() -> Result<Self, String> {
        let build = |policy| {
            reqwest::Client::builder()
                .no_proxy()
                .redirect(policy)
                .build()
                .map_err(|e| format!("cannot build the webhook HTTP client: {e}"))
        };
        Ok(Clients {
            follow: build(reqwest::redirect::Policy::limited(10))?,
            stay: build(reqwest::redirect::Policy::none())?,
        })
    }
}

/// Starts the delivery task, once per server. Call from within the runtime.
pub fn start(state: &AppState) {
    if state.webhooks().claim_start() {
        tokio::spawn(watch(state.clone()));
    }
}

async fn watch(state: AppState) {
    let mut events = state.bus().subscribe_filtered(Filter {
        scope: Scope::All,
        prefix: None,
    });
    let stop = state.shutdown().wait();
    tokio::pin!(stop);
    let permits = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    loop {
        let event = tokio::select! {
            e = events.rx.recv() => match e {
                Some(e) => e,
                None => break,
            },
            () = &mut stop => break,
        };
        for hook in state.webhooks().matching(&event) {
            let task = deliver(state.clone(), hook, event.clone(), permits.clone());
            tokio::spawn(task);
        }
    }
}

/// What one attempt came to.
struct Attempt {
    url: String,
    status: Option<u16>,
    user_agent: String,
    /// The response body (status below 400), or the error text.
    outcome: Result<String, String>,
}

async fn deliver(state: AppState, hook: Arc<Hook>, event: Arc<Event>, permits: Arc<Semaphore>) {
    let Ok(_permit) = permits.acquire_owned().await else {
        return;
    };
    let at = state.clock().now();
    let started = Instant::now();
    let method = hook.config.request_type;
    let attempt = match render::plan(&hook.config, &event) {
        Ok(plan) => match state.webhooks().clients() {
            Ok(clients) => send(clients, plan, state.webhooks().timeout()).await,
            Err(why) => failed(&hook.config.url, why),
        },
        Err(why) => failed(&hook.config.url, why),
    };
    match &attempt.outcome {
        Ok(_) => tracing::debug!(
            "webhook {} for {}: {} {} → {}",
            hook.id,
            event.name,
            method.as_str(),
            attempt.url,
            attempt.status.unwrap_or(0)
        ),
        Err(why) => tracing::info!("webhook {} for {} failed: {why}", hook.id, event.name),
    }
    // Journaled before the events go out, so whoever sees the response can find the entry.
    state.journal().push(Entry {
        kind: EntryKind::Webhook,
        at,
        method: method.as_str().to_string(),
        path: attempt.url.clone(),
        user: Some(hook.owner.clone()),
        status: attempt.status.unwrap_or(0),
        duration_ms: started.elapsed().as_secs_f64() * 1000.0,
        user_agent: Some(attempt.user_agent.clone()),
        webhook: Some(hook.id.clone()),
        event: Some(event.name.clone()),
        error: attempt.outcome.as_ref().err().cloned(),
        ..Entry::default()
    });
    let now = state.clock().now();
    let events = match &attempt.outcome {
        Ok(body) => {
            let sent = format!("hook-sent/{}", event.name);
            let mut out = vec![render::internal_event(sent, None, &hook.owner, now)];
            let data = render::response_data(&hook.config, body);
            let topic = render::response_topic(&hook.config, &event);
            out.extend(render::part_events(&topic, &data, &hook.owner, now));
            out
        }
        Err(why) => {
            let topic = render::error_topic(&hook.config, &event);
            render::part_events(&topic, why, &hook.owner, now)
        }
    };
    for e in events {
        state.bus().publish(e);
    }
}

fn failed(url: &str, why: String) -> Attempt {
    Attempt {
        url: url.to_string(),
        status: None,
        user_agent: render::USER_AGENT.to_string(),
        outcome: Err(why),
    }
}

fn human(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// The innermost cause, which says what actually went wrong (e.g. "Connection refused").
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

async fn send(clients: &Clients, plan: Plan, timeout: Duration) -> Attempt {
    let mut url = match reqwest::Url::parse(plan.url.trim()) {
        Ok(u) => u,
        Err(e) => return failed(&plan.url, format!("invalid url {}: {e}", plan.url)),
    };
    if !plan.query.is_empty() {
        url.query_pairs_mut().extend_pairs(&plan.query);
    }
    let shown = url.to_string();
    let host = url.host_str().unwrap_or_default().to_string();
    let target = match url.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host.clone(),
    };
    if url.scheme() != "http" {
        return failed(
            &shown,
            format!("cannot send to {shown}: spark-mock has no TLS, so only http:// targets work"),
        );
    }
    let user_agent = plan
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("user-agent"))
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| render::USER_AGENT.to_string());
    let mut attempt = Attempt {
        url: shown,
        status: None,
        user_agent,
        outcome: Err(String::new()),
    };
    let describe = |e: reqwest::Error| describe(e, &target, timeout);
    let mut resp = match request(clients, &plan, url, timeout).send().await {
        Ok(r) => r,
        Err(e) => {
            attempt.outcome = Err(describe(e));
            return attempt;
        }
    };
    let status = resp.status().as_u16();
    attempt.status = Some(status);
    let body = match read_capped(&mut resp).await {
        Ok(body) => body,
        Err(e) => {
            attempt.outcome = Err(describe(e));
            return attempt;
        }
    };
    attempt.outcome = if status >= 400 {
        Err(render::status_error(status, &host))
    } else {
        Ok(String::from_utf8_lossy(&body).into_owned())
    };
    attempt
}

/// The request a plan describes: its method and headers, the default `User-Agent`,
/// `Content-Type` and `Accept` where the plan gives none, the body and Basic auth.
fn request(
    clients: &Clients,
    plan: &Plan,
    url: reqwest::Url,
    timeout: Duration,
) -> reqwest::RequestBuilder {
    let given = |name: &HeaderName| {
        plan.headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(name.as_str()))
    };
    let (client, method) = match plan.method {
        RequestType::Get => (&clients.follow, reqwest::Method::GET),
        RequestType::Post => (&clients.stay, reqwest::Method::POST),
        RequestType::Put => (&clients.stay, reqwest::Method::PUT),
        RequestType::Delete => (&clients.stay, reqwest::Method::DELETE),
    };
    let mut rb = client.request(method, url).timeout(timeout);
    for (name, value) in &plan.headers {
        rb = rb.header(name.as_str(), value.as_str());
    }
    if !given(&USER_AGENT) {
        rb = rb.header(USER_AGENT, HeaderValue::from_static(render::USER_AGENT));
    }
    if let Some(body) = &plan.body {
        if let (Some(ct), false) = (body.content_type(), given(&CONTENT_TYPE)) {
            rb = rb.header(CONTENT_TYPE, HeaderValue::from_static(ct));
        }
        if matches!(body, Body::Json(_)) && !given(&ACCEPT) {
            rb = rb.header(ACCEPT, HeaderValue::from_static("application/json"));
        }
        rb = rb.body(body.bytes());
    }
    if let Some((user, password)) = &plan.basic_auth {
        rb = rb.basic_auth(user, Some(password));
    }
    rb
}

/// The response body, cut at [`MAX_RESPONSE_BYTES`] (the rest is not read).
async fn read_capped(resp: &mut reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        let room = MAX_RESPONSE_BYTES - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_RESPONSE_BYTES {
            break;
        }
    }
    Ok(body)
}

/// A failed send in words, naming the `target` (`host:port`).
fn describe(e: reqwest::Error, target: &str, timeout: Duration) -> String {
    if e.is_timeout() {
        format!("timed out after {} waiting for {target}", human(timeout))
    } else if e.is_connect() {
        format!("could not connect to {target}: {}", root_cause(&e))
    } else if e.is_builder() {
        format!("invalid request: {}", root_cause(&e))
    } else {
        format!("request to {target} failed: {}", root_cause(&e))
    }
}
