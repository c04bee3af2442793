//! A webhook target for tests: a local HTTP server on port 0 that records every request it
//! gets and answers as told (a status and body, or never).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

/// One request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    /// Path and query, as sent.
    pub uri: String,
    pub headers: HeaderMap,
    pub body: String,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// How the receiver answers.
#[derive(Clone, Debug)]
pub enum Answer {
    Reply(u16, String),
    /// Never answers (the connection stays open until the caller gives up).
    Hang,
}

pub struct Receiver {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    answer: Arc<Mutex<Answer>>,
    rx: mpsc::UnboundedReceiver<Received>,
    _stop: oneshot::Sender<()>,
}

impl Receiver {
    /// Starts a receiver that answers `200 ok` until told otherwise.
    pub async fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let answer = Arc::new(Mutex::new(Answer::Reply(200, "ok".into())));
        let (tx, rx) = mpsc::unbounded_channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let handler = {
            let answer = answer.clone();
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let answer = answer.lock().map(|a| a.clone()).unwrap_or(Answer::Hang);
                let _ = tx.send(Received {
                    method: method.to_string(),
                    uri: uri.to_string(),
                    headers,
                    body: String::from_utf8_lossy(&body).into_owned(),
                });
                async move { respond(answer).await }
            }
        };
        let app = Router::new().fallback(handler);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        Receiver {
            base,
            answer,
            rx,
            _stop: stop,
        }
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// How later requests are answered.
    pub fn answer(&self, answer: Answer) {
        if let Ok(mut a) = self.answer.lock() {
            *a = answer;
        }
    }

    /// The next request; fails the test after 30 s without one.
    pub async fn next(&mut self) -> Received {
        tokio::time::timeout(Duration::from_secs(30), self.rx.recv())
            .await
            .expect("a webhook request within 30 s")
            .expect("receiver running")
    }

    /// A request already received, if any.
    pub fn try_next(&mut self) -> Option<Received> {
        self.rx.try_recv().ok()
    }
}

async fn respond(answer: Answer) -> Response {
    match answer {
        Answer::Reply(status, body) => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            body,
        )
            .into_response(),
        Answer::Hang => {
            std::future::pending::<()>().await;
            StatusCode::OK.into_response()
        }
    }
}
