//! A real server on 127.0.0.1:0 per test, a reqwest client, and small helpers that assert
//! the exact shapes of the spec (cloud-api.md) so the test files read as behaviour.

use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{json, Value};
use spark_mock_server::{AppState, Config, Profile, TriggerOnDrop};
use tokio::net::TcpListener;

pub const USER: &str = "user@example.com";
pub const PASSWORD: &str = "secret";
pub const PROFILES: [Profile; 2] = [Profile::Spark2014, Profile::Particle];

/// A profile's defaults with cheap password hashing.
pub fn config(profile: Profile) -> Config {
    Config {
        password_iterations: 1,
        ..Config::for_profile(profile)
    }
}

/// A running server. Dropping it shuts the server down.
pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub state: AppState,
    _shutdown: TriggerOnDrop,
}

/// Starts a server on port 0 and returns once it is accepting (the listener is bound
/// before this returns, so no waiting is needed).
pub async fn spawn_app(config: Config) -> TestApp {
    spawn_state(AppState::new(config).expect("state")).await
}

/// Serves `state` on port 0, as [`spawn_app`].
pub async fn spawn_state(state: AppState) -> TestApp {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(spark_mock_server::run(listener, state.clone()));
    TestApp::from_parts(format!("http://{addr}"), state)
}

impl TestApp {
    pub fn from_parts(base: String, state: AppState) -> Self {
        TestApp {
            _shutdown: state.shutdown().trigger_on_drop(),
            base,
            http: reqwest::Client::new(),
            state,
        }
    }
}

/// A server with the user `USER` / `PASSWORD` signed up.
pub async fn spawn_with_user(config: Config) -> TestApp {
    let app = spawn_app(config).await;
    app.signup(USER, PASSWORD).await;
    app
}

/// A response read to the end: status, headers, raw text and the JSON (Null if none).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub async fn read(resp: Response) -> Reply {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        text,
        json,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, self.url(path))
    }

    pub async fn send(&self, rb: RequestBuilder) -> Reply {
        read(rb.send().await.expect("request")).await
    }

    /// `POST /v1/users` (form); asserts the sign-up worked.
    pub async fn signup(&self, username: &str, password: &str) {
        let rb = self.req(Method::POST, "/v1/users");
        let r = self
            .send(rb.form(&[("username", username), ("password", password)]))
            .await;
        assert_eq!(
            (r.status, &r.json),
            (200, &json!({"ok": true})),
            "signup {username}"
        );
    }

    /// `POST /oauth/token` with these form fields.
    pub async fn grant(&self, form: &[(&str, &str)]) -> Reply {
        self.send(self.req(Method::POST, "/oauth/token").form(form))
            .await
    }

    /// A password grant for `USER` from this client, plus `extra` fields.
    pub async fn password_grant(
        &self,
        client: &str,
        secret: &str,
        extra: &[(&str, &str)],
    ) -> Reply {
        let mut form = vec![
            ("grant_type", "password"),
            ("username", USER),
            ("password", PASSWORD),
            ("client_id", client),
            ("client_secret", secret),
        ];
        form.extend_from_slice(extra);
        self.grant(&form).await
    }

    /// A successful password grant for `USER`; the access token.
    pub async fn login(&self, client: &str, secret: &str) -> String {
        self.login_with(client, secret, &[]).await
    }

    pub async fn login_with(&self, client: &str, secret: &str, extra: &[(&str, &str)]) -> String {
        let r = self.password_grant(client, secret, extra).await;
        assert_eq!(r.status, 200, "login from {client}: {}", r.text);
        let token = r.json["access_token"]
            .as_str()
            .expect("access_token")
            .to_string();
        assert!(is_token(&token), "{token}");
        token
    }

    /// GET with `Authorization: Bearer <token>`.
    pub async fn get_bearer(&self, path: &str, token: &str) -> Reply {
        self.send(self.req(Method::GET, path).bearer_auth(token))
            .await
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let r = self.send(self.req(Method::GET, path)).await;
        assert_eq!(r.status, 200, "GET {path}: {}", r.text);
        r.json
    }

    /// Whether `GET /v1/user` accepts the token.
    pub async fn works(&self, token: &str) -> bool {
        self.get_bearer("/v1/user", token).await.status == 200
    }

    /// `GET /__mock/tokens/:token`.
    pub async fn history(&self, token: &str) -> Value {
        self.get_json(&format!("/__mock/tokens/{token}")).await
    }

    /// `GET /__mock/tokens?user=…`: every token of a user, oldest first.
    pub async fn tokens_of(&self, user: &str) -> Vec<Value> {
        let v = self.get_json(&format!("/__mock/tokens?user={user}")).await;
        v["tokens"].as_array().expect("tokens").clone()
    }

    /// The user's tokens that are still valid, by their history.
    pub async fn valid_tokens(&self, user: &str) -> Vec<String> {
        self.tokens_of(user)
            .await
            .iter()
            .filter(|t| t["status"] == "valid")
            .map(|t| t["token"].as_str().unwrap().to_string())
            .collect()
    }

    pub async fn mock_post(&self, path: &str, body: Value) -> Value {
        let r = self.send(self.req(Method::POST, path).json(&body)).await;
        assert_eq!(r.status, 200, "POST {path}: {}", r.text);
        r.json
    }

    pub async fn advance_clock(&self, secs: i64) {
        self.mock_post("/__mock/clock", json!({"advance_secs": secs}))
            .await;
    }

    pub async fn set_clock(&self, rfc3339: &str) {
        self.mock_post("/__mock/clock", json!({"set": rfc3339}))
            .await;
    }

    pub async fn set_policy(&self, policy: &str) {
        let rb = self
            .req(Method::PUT, "/__mock/policy")
            .json(&json!({"policy": policy}));
        let r = self.send(rb).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.json["policy"], policy);
    }
}

/// 40 lowercase hex characters.
pub fn is_token(s: &str) -> bool {
    s.len() == 40
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Asserts an OAuth error exactly as the profile renders it: spark-2014
/// `{"code":N,"error":…,"error_description":…}` in that order; particle
/// `{"error":…,"error_description":…}` with no-store / no-cache headers and
/// `WWW-Authenticate: Basic realm="Service"` on invalid_client only.
pub fn assert_oauth_error(
    r: &Reply,
    profile: Profile,
    status: u16,
    error: &str,
    description: &str,
) {
    let expected = match profile {
        Profile::Spark2014 => {
            json!({"code": status, "error": error, "error_description": description}).to_string()
        }
        Profile::Particle => json!({"error": error, "error_description": description}).to_string(),
    };
    assert_eq!(
        (r.status, r.text.as_str()),
        (status, expected.as_str()),
        "{profile}"
    );
    if profile == Profile::Particle {
        assert_eq!(r.header("cache-control"), Some("no-store"));
        assert_eq!(r.header("pragma"), Some("no-cache"));
        let www = r.header("www-authenticate");
        if error == "invalid_client" {
            assert_eq!(www, Some("Basic realm=\"Service\""));
        } else {
            assert_eq!(www, None, "WWW-Authenticate on {error}");
        }
    }
}

/// A bad bearer token: 400 invalid_grant in spark-2014, 401 invalid_token in particle.
pub fn assert_bad_token(r: &Reply, profile: Profile, description: &str) {
    match profile {
        Profile::Spark2014 => assert_oauth_error(r, profile, 400, "invalid_grant", description),
        Profile::Particle => assert_oauth_error(r, profile, 401, "invalid_token", description),
    }
}

pub const TOKEN_INVALID: &str = "The access token provided is invalid.";
pub const TOKEN_EXPIRED: &str = "The access token provided has expired.";

/// Asserts a reply's status and whole JSON body.
#[track_caller]
pub fn expect(r: &Reply, status: u16, body: Value) {
    assert_eq!((r.status, &r.json), (status, &body), "{}", r.text);
}

impl TestApp {
    /// A successful password grant for any user; the access token.
    pub async fn login_user(
        &self,
        user: &str,
        password: &str,
        client: &str,
        secret: &str,
    ) -> String {
        let form = [
            ("grant_type", "password"),
            ("username", user),
            ("password", password),
            ("client_id", client),
            ("client_secret", secret),
        ];
        let r = self.grant(&form).await;
        assert_eq!(r.status, 200, "login {user}: {}", r.text);
        r.json["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }
}

/// A fresh, empty directory under the system temp dir for one test.
pub fn temp_dir(name: &str) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "spark-mock-test-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
