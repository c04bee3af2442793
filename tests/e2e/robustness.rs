//! Bad input never panics or answers 500: wrong encodings, oversized and malformed bodies,
//! unknown routes; plus CORS and the health routes (cloud-api.md §0 "Global facts").

use crate::common;

use common::helpers::*;
use reqwest::{Body, Method};
use serde_json::json;
use spark_mock_server::Profile;

const MIB: usize = 1024 * 1024;

#[tokio::test]
async fn oversized_bodies_get_413_with_a_json_body() {
    for profile in PROFILES {
        let app = spawn_with_user(config(profile)).await;
        let t = app.login("spark", "spark").await;
        let big = "a".repeat(MIB + 1);
        let expected = json!({"ok": false, "error": "Request body is larger than 1048576 bytes"});
        // With a Content-Length, and streamed (chunked) with none.
        let requests = [
            app.req(Method::POST, "/v1/users")
                .header("content-type", "application/json")
                .body(big.clone()),
            app.req(Method::POST, "/oauth/token")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("grant_type=password&x={big}")),
            app.req(Method::PUT, "/v1/user")
                .bearer_auth(&t)
                .header("content-type", "application/json")
                .body(Body::wrap_stream(futures_util::stream::iter(
                    (0..17).map(|_| Ok::<_, std::io::Error>(vec![b' '; 64 * 1024])),
                ))),
        ];
        for rb in requests {
            let r = app.send(rb).await;
            assert_eq!(
                (r.status, &r.json),
                (413, &expected),
                "{profile}: {}",
                r.text
            );
        }
        // Exactly the limit is fine (and still parsed).
        let mut body = String::from(r#"{"username":"big@example.com","password":"pw","pad":""#);
        body.push_str(&"b".repeat(MIB - body.len() - 2));
        body.push_str("\"}");
        assert_eq!(body.len(), MIB);
        let r = app
            .send(
                app.req(Method::POST, "/v1/users")
                    .header("content-type", "application/json")
                    .body(body),
            )
            .await;
        assert_eq!(
            (r.status, &r.json),
            (200, &json!({"ok": true})),
            "{profile}"
        );
    }
}

#[tokio::test]
async fn malformed_json_is_a_clear_400() {
    for profile in PROFILES {
        let app = spawn_with_user(config(profile)).await;
        let t = app.login("spark", "spark").await;
        let json_req = |method, path: &str, body: &'static str| {
            app.req(method, path)
                .bearer_auth(&t)
                .header("content-type", "application/json")
                .body(body)
        };
        for (method, path) in [
            (Method::POST, "/v1/users"),
            (Method::PUT, "/v1/user"),
            (Method::POST, "/__mock/clock"),
        ] {
            let r = app
                .send(json_req(method.clone(), path, "{\"username\": "))
                .await;
            assert_eq!(
                (r.status, &r.json["ok"]),
                (400, &json!(false)),
                "{path}: {}",
                r.text
            );
            let msg = r.json["error"].as_str().unwrap();
            assert!(msg.starts_with("Malformed JSON body: "), "{msg}");
            let r = app.send(json_req(method, path, "[1, 2, 3]")).await;
            assert_eq!(
                (r.status, &r.json),
                (
                    400,
                    &json!({"ok": false, "error": "The JSON body must be an object"})
                )
            );
        }
        // JSON, plain text or bytes that are not UTF-8 on /oauth/token: the library's error.
        let not_form = "Method must be POST with application/x-www-form-urlencoded encoding";
        for (ct, body) in [
            (
                "application/json",
                b"{\"grant_type\":\"password\"}".to_vec(),
            ),
            ("text/plain", b"grant_type=password".to_vec()),
            ("application/octet-stream", vec![0xff, 0xfe, 0]),
        ] {
            let r = app
                .send(
                    app.req(Method::POST, "/oauth/token")
                        .header("content-type", ct)
                        .body(body),
                )
                .await;
            assert_oauth_error(&r, profile, 400, "invalid_request", not_form);
        }
        // A form body that is not valid percent-encoding or UTF-8 is still just a form.
        let r = app
            .send(
                app.req(Method::POST, "/oauth/token")
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(vec![b'%', 0xff, b'=', b'%']),
            )
            .await;
        assert_oauth_error(
            &r,
            profile,
            400,
            "invalid_request",
            "Invalid or missing grant_type parameter",
        );
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    for profile in PROFILES {
        let app = spawn_app(config(profile)).await;
        for path in [
            "/nope",
            "/v1/nope",
            "/v2/devices",
            "/__mock/nope",
            "/v1/access_tokens/a/b",
        ] {
            let r = app.send(app.req(Method::GET, path)).await;
            assert_eq!(
                (r.status, &r.json),
                (404, &json!({"ok": false, "error": "Not Found"})),
                "{path}"
            );
            assert_eq!(
                r.header("content-type"),
                Some("application/json; charset=utf-8")
            );
            assert_eq!(r.header("access-control-allow-origin"), Some("*"));
        }
        let r = app.send(app.req(Method::PATCH, "/v1/users")).await;
        expect(&r, 405, json!({"ok": false, "error": "Method Not Allowed"}));
    }
}

#[tokio::test]
async fn options_gets_204_with_cors_headers() {
    let app = spawn_app(config(Profile::Spark2014)).await;
    for path in [
        "/oauth/token",
        "/v1/devices",
        "/v1/user",
        "/anything/at/all",
    ] {
        let r = app
            .send(
                app.req(Method::OPTIONS, path)
                    .header("origin", "http://example.com"),
            )
            .await;
        assert_eq!((r.status, r.text.as_str()), (204, ""), "{path}");
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
        assert_eq!(
            r.header("access-control-allow-methods"),
            Some("GET, POST, PUT, DELETE, OPTIONS")
        );
        assert_eq!(
            r.header("access-control-allow-headers"),
            Some("X-Requested-With, Content-Type, Accept, Authorization")
        );
        assert_eq!(r.header("access-control-max-age"), Some("300"));
    }
    // Every other response carries the origin header too, errors included.
    let r = app.grant(&[("grant_type", "password")]).await;
    assert_eq!(
        (r.status, r.header("access-control-allow-origin")),
        (400, Some("*"))
    );
}

#[tokio::test]
async fn health_routes_answer_200() {
    for profile in PROFILES {
        let app = spawn_app(config(profile)).await;
        for path in ["/server/health", "/__mock/health"] {
            let r = app.send(app.req(Method::GET, path)).await;
            assert_eq!(
                (r.status, &r.json),
                (200, &json!({"ok": true})),
                "{profile} {path}"
            );
        }
    }
}
