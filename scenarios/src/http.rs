//! The runner's only way to reach a server: plain HTTP with reqwest, so `--target` works
//! against any cloud that speaks the API. API requests carry the actor's user agent and
//! token; admin requests go to spark-mock's `/__mock`.

use std::time::Duration;

use serde_json::Value;

/// How long any one request may take (calls wait up to the device timeout).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// A server's answer: the status, the body as JSON (`Null` when it is not JSON) and as text.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    pub status: u16,
    pub body: Value,
    pub text: String,
}

impl Reply {
    /// `error` (or the first of `errors`) and `error_description`, for transcripts.
    pub fn error_summary(&self) -> Option<String> {
        let error = self
            .body
            .get("error")
            .and_then(Value::as_str)
            .or_else(|| self.body.get("errors")?.as_array()?.first()?.as_str())?;
        match self.body.get("error_description").and_then(Value::as_str) {
            Some(d) if d != error => Some(format!("{error}: {d}")),
            _ => Some(error.to_string()),
        }
    }
}

/// One API request.
#[derive(Debug, Clone, Default)]
pub(crate) struct Call {
    pub method: String,
    pub path: String,
    pub bearer: Option<String>,
    pub basic: Option<(String, String)>,
    pub user_agent: Option<String>,
    /// Other headers (a cookie, for the Build pages).
    pub headers: Vec<(String, String)>,
    pub form: Vec<(String, String)>,
}

impl Call {
    pub fn new(method: &str, path: impl Into<String>) -> Self {
        Call {
            method: method.to_string(),
            path: path.into(),
            ..Default::default()
        }
    }
}

#[derive(Clone)]
pub(crate) struct Http {
    client: reqwest::Client,
    base: String,
    admin_token: Option<String>,
}

impl Http {
    /// A client for `base` (`http://host:port`); `loopback` skips proxies.
    pub fn new(base: &str, admin_token: Option<String>, loopback: bool) -> Result<Self, String> {
        let mut b = reqwest::Client::builder().timeout(REQUEST_TIMEOUT);
        if loopback {
            b = b.no_proxy();
        }
        Ok(Http {
            client: b.build().map_err(|e| e.to_string())?,
            base: base.trim_end_matches('/').to_string(),
            admin_token,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn builder(&self, method: &str, path: &str) -> Result<reqwest::RequestBuilder, String> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
        Ok(self.client.request(method, format!("{}{path}", self.base)))
    }

    /// Sends an API request.
    pub async fn send(&self, call: &Call) -> Result<Reply, String> {
        let mut req = self.builder(&call.method, &call.path)?;
        if let Some(t) = &call.bearer {
            req = req.bearer_auth(t);
        }
        if let Some((id, secret)) = &call.basic {
            req = req.basic_auth(id, Some(secret));
        }
        if let Some(ua) = &call.user_agent {
            req = req.header(reqwest::header::USER_AGENT, ua);
        }
        for (k, v) in &call.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        if !call.form.is_empty() {
            let body: String = form_body(&call.form);
            req = req
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(body);
        }
        read(req.send().await).await
    }

    /// Opens a request whose body is read as a stream (server-sent events).
    pub async fn open(&self, call: &Call) -> Result<reqwest::Response, String> {
        let mut req = self.builder(&call.method, &call.path)?;
        if let Some(t) = &call.bearer {
            req = req.bearer_auth(t);
        }
        if let Some(ua) = &call.user_agent {
            req = req.header(reqwest::header::USER_AGENT, ua);
        }
        req.send().await.map_err(|e| e.to_string())
    }

    /// Sends an admin request (`/__mock/…`), with a JSON body when given.
    pub async fn admin(
        &self,
        method: &str,
        path: &str,
        json: Option<Value>,
    ) -> Result<Reply, String> {
        let mut req = self.builder(method, path)?;
        if let Some(t) = &self.admin_token {
            req = req.header("X-Admin-Token", t);
        }
        if let Some(j) = json {
            req = req.json(&j);
        }
        read(req.send().await).await
    }

    /// An admin GET that must answer 200 with JSON.
    pub async fn admin_json(&self, path: &str) -> Result<Value, String> {
        let r = self.admin("GET", path, None).await?;
        if r.status != 200 {
            return Err(format!(
                "GET {path} answered {}: {}",
                r.status,
                short(&r.text, 200)
            ));
        }
        Ok(r.body)
    }
}

async fn read(sent: reqwest::Result<reqwest::Response>) -> Result<Reply, String> {
    let resp = sent.map_err(|e| describe(&e))?;
    let status = resp.status().as_u16();
    let text = resp.text().await.map_err(|e| describe(&e))?;
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Ok(Reply { status, body, text })
}

fn describe(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        s.push_str(&format!(": {inner}"));
        src = inner.source();
    }
    s
}

/// `application/x-www-form-urlencoded`.
pub(crate) fn form_body(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-encodes a path segment or form value.
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The first `n` characters of `s`, with `…` when cut.
pub(crate) fn short(s: &str, n: usize) -> String {
    let s = s.trim();
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}
