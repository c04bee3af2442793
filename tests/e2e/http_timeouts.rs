//! Slow, idle and surplus HTTP connections, over raw sockets: a client that sends nothing,
//! half a request line, part of its headers or part of its body is cut off; a keep-alive
//! connection between requests and an event stream are not; over `--max-connections` the
//! health check and the admin API still answer. The flags and their env twins set all this.

use crate::common;

use std::time::Duration;

use common::bin::{command, start};
use common::helpers::*;
use reqwest::Method;
use serde_json::{json, Value};
use spark_mock_server::{Config, Profile};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Short limits, so a test sees them pass; long enough for loopback.
const SHORT: Duration = Duration::from_millis(300);
/// However slow the machine, a close or an answer comes within this, or the test fails.
const BOUND: Duration = Duration::from_secs(10);

fn short_timeouts(profile: Profile) -> Config {
    Config {
        header_timeout: SHORT,
        idle_timeout: SHORT,
        body_timeout: SHORT,
        ..config(profile)
    }
}

async fn connect(base: &str) -> TcpStream {
    let addr = base.trim_start_matches("http://");
    TcpStream::connect(addr).await.expect("connect")
}

/// Everything the server sends until it closes the connection; fails if it stays open.
async fn read_until_closed(stream: &mut TcpStream, what: &str) -> String {
    let mut got = Vec::new();
    let read = tokio::time::timeout(BOUND, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "{what}: still open after {BOUND:?}");
    String::from_utf8_lossy(&got).into_owned()
}

/// Reads until `needle` arrives; fails if the connection closes first or it takes too long.
async fn read_until(stream: &mut TcpStream, needle: &str) -> String {
    let mut got = String::new();
    let read = tokio::time::timeout(BOUND, async {
        let mut buf = [0u8; 4096];
        while !got.contains(needle) {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => got.push_str(&String::from_utf8_lossy(&buf[..n])),
            }
        }
        true
    })
    .await;
    assert_eq!(read, Ok(true), "waiting for {needle:?}, got {got:?}");
    got
}

/// The status code and JSON body of one raw HTTP/1.1 answer.
fn parse(answer: &str) -> (u16, Value) {
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("");
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn slow_clients_are_cut_off() {
    let app = spawn_app(short_timeouts(Profile::Spark2014)).await;
    let sends: [(&str, &[u8]); 3] = [
        ("nothing", b""),
        ("half a request line", b"GET /server/hea"),
        (
            "part of the headers",
            b"GET /server/health HTTP/1.1\r\nHost: x\r\n",
        ),
    ];
    for (what, bytes) in sends {
        let mut s = connect(&app.base).await;
        s.write_all(bytes).await.unwrap();
        let got = read_until_closed(&mut s, what).await;
        assert_eq!(got, "", "{what}: closed without an answer");
    }
}

#[tokio::test]
async fn a_body_that_stops_short_gets_408_then_the_connection_closes() {
    for profile in PROFILES {
        let app = spawn_app(short_timeouts(profile)).await;
        let mut s = connect(&app.base).await;
        s.write_all(
            b"POST /oauth/token HTTP/1.1\r\nHost: x\r\n\
              Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n\
              grant_type=pass",
        )
        .await
        .unwrap();
        let answer = read_until_closed(&mut s, "a partial body").await;
        assert_eq!(
            parse(&answer),
            (
                408,
                json!({"ok": false, "error": "Request body not received within 300ms"})
            ),
            "{profile}: {answer}"
        );
        assert!(
            answer.to_ascii_lowercase().contains("connection: close"),
            "{answer}"
        );
    }
}

#[tokio::test]
async fn keep_alive_connections_wait_for_the_idle_timeout_not_the_header_one() {
    let app = spawn_app(Config {
        header_timeout: SHORT,
        idle_timeout: Duration::from_secs(3),
        ..config(Profile::Spark2014)
    })
    .await;
    let mut s = connect(&app.base).await;
    let health = b"GET /server/health HTTP/1.1\r\nHost: x\r\n\r\n";
    s.write_all(health).await.unwrap();
    read_until(&mut s, "{\"ok\":true}").await;
    // Idle for longer than the header timeout, well within the idle one.
    tokio::time::sleep(SHORT * 2).await;
    s.write_all(health).await.unwrap();
    read_until(&mut s, "{\"ok\":true}").await;
    // Then idle for good: closed at last.
    assert_eq!(read_until_closed(&mut s, "an idle connection").await, "");
}

#[tokio::test]
async fn an_event_stream_outlives_every_timeout() {
    let app = spawn_with_user(short_timeouts(Profile::Particle)).await;
    let token = app.login("particle", "particle").await;
    let mut s = connect(&app.base).await;
    let request = format!(
        "GET /v1/devices/events/door HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n"
    );
    s.write_all(request.as_bytes()).await.unwrap();
    read_until(&mut s, "text/event-stream").await;
    tokio::time::sleep(SHORT * 4).await;
    let r = app
        .send(
            app.req(Method::POST, "/v1/devices/events")
                .bearer_auth(&token)
                .form(&[("name", "door"), ("data", "open")]),
        )
        .await;
    expect(&r, 200, json!({"ok": true}));
    read_until(&mut s, "event: door").await;
}

#[tokio::test]
async fn over_the_cap_health_and_the_admin_api_still_answer() {
    for profile in PROFILES {
        let app = spawn_app(Config {
            max_connections: Some(2),
            // Idle connections stay for the whole test unless over the cap.
            header_timeout: Duration::from_secs(60),
            ..config(profile)
        })
        .await;
        // Two fill the cap; more sit idle on top, as a leaking client's would.
        let mut idle = Vec::new();
        for _ in 0..8 {
            idle.push(connect(&app.base).await);
        }
        for path in ["/server/health", "/__mock/health"] {
            let mut s = connect(&app.base).await;
            let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
            s.write_all(request.as_bytes()).await.unwrap();
            let answer = read_until_closed(&mut s, path).await;
            assert_eq!(parse(&answer), (200, json!({"ok": true})), "{answer}");
        }
        let mut s = connect(&app.base).await;
        s.write_all(b"GET /v1/devices HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let answer = read_until_closed(&mut s, "a refused request").await;
        let want = json!({"ok": false, "error": "Too many connections; try again shortly"});
        assert_eq!(parse(&answer), (503, want), "{profile}: {answer}");
        assert!(answer.contains("retry-after: 1"), "{answer}");
        // Over the cap, silence is cut short (2 s), not after the 60 s header timeout.
        let mut over = idle.pop().expect("an over-cap connection");
        read_until_closed(&mut over, "a silent over-cap connection").await;
        // Once the idle ones go, every route answers again.
        drop(idle);
        let served = tokio::time::timeout(BOUND, async {
            loop {
                let r = app.send(app.req(Method::GET, "/v1/devices")).await;
                if r.status != 503 {
                    return r.status;
                }
            }
        })
        .await;
        assert!(
            served.is_ok(),
            "{profile}: still 503 after the idle connections closed"
        );
    }
}

#[tokio::test]
async fn the_flags_and_their_env_twins_reach_the_server() {
    let server = start(
        &[
            "serve",
            "--port",
            "0",
            "--idle-timeout",
            "0.3",
            "--max-connections",
            "1",
        ],
        &[
            ("SPARK_MOCK_HEADER_TIMEOUT", "0.3"),
            ("SPARK_MOCK_BODY_TIMEOUT", "0.3"),
        ],
    );
    // The one slot taken by a silent client, which the short header timeout then cuts off
    // (and frees the slot before the client sees the close).
    let mut silent = connect(&server.base).await;
    let mut s = connect(&server.base).await;
    s.write_all(b"GET /v1/devices HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut s, "an over-cap request").await;
    assert_eq!(parse(&answer).0, 503, "{answer}");
    read_until_closed(&mut silent, "a silent client").await;
    let mut s = connect(&server.base).await;
    s.write_all(b"GET /server/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    read_until(&mut s, "{\"ok\":true}").await;
    read_until_closed(&mut s, "an idle keep-alive connection").await;
    let mut s = connect(&server.base).await;
    s.write_all(b"POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\ngrant")
        .await
        .unwrap();
    let answer = read_until_closed(&mut s, "a partial body").await;
    assert!(answer.contains("within 300ms"), "{answer}");
    assert_eq!(server.terminate().0, Some(0));

    for (flag, env) in [
        ("--header-timeout", "SPARK_MOCK_HEADER_TIMEOUT"),
        ("--idle-timeout", "SPARK_MOCK_IDLE_TIMEOUT"),
        ("--body-timeout", "SPARK_MOCK_BODY_TIMEOUT"),
        ("--device-timeout", "SPARK_MOCK_DEVICE_TIMEOUT"),
    ] {
        for bad in ["0", "nan"] {
            let out = command(&["serve", "--port", "0"], &[(env, bad)])
                .output()
                .expect("run");
            assert_eq!(out.status.code(), Some(2), "{env}={bad}");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                err.contains(&format!("invalid value '{bad}' for '{flag}"))
                    && err.contains("expected a number of seconds greater than 0"),
                "{err}"
            );
        }
    }
}
