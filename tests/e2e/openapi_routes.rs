//! The OpenAPI document cannot drift from the router: its (method, path) set must equal
//! the `.route(…)` registrations in `server/src/api` and `server/src/web` (read from the
//! source, so a new route without a description fails here), and every documented
//! operation must reach a handler on a running server, in its profile, rather than the
//! router's 404 or 405. Routes the 2014 cloud lacked must be the plain 404 there.

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;

use common::helpers::*;
use reqwest::Method;
use serde_json::Value;
use spark_mock_server::openapi::document;
use spark_mock_server::Profile;

const SOURCES: [&str; 2] = ["server/src/api", "server/src/web"];
/// Where the routers are nested: the API under `/v1`, the admin API under `/__mock`.
const PREFIXES: [&str; 3] = ["", "/v1", "/__mock"];
const METHODS: [&str; 6] = ["get", "post", "put", "delete", "patch", "any"];

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The text of `src` from `open` (just after a `(`) to its matching `)`.
fn call_args(src: &str, open: usize) -> &str {
    let mut depth = 1;
    for (i, c) in src[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return &src[open..open + i];
                }
            }
            _ => {}
        }
    }
    &src[open..]
}

/// Methods named in a route's method chain: `get(h)`, `.put(h)`, `axum::routing::delete(h)`;
/// a handler path such as `users::delete` is not followed by `(`.
fn methods_in(chain: &str) -> Vec<String> {
    let mut found = Vec::new();
    for m in METHODS {
        let mut from = 0;
        while let Some(i) = chain[from..].find(&format!("{m}(")) {
            let at = from + i;
            let before = chain[..at].chars().next_back();
            if before.is_none_or(|c| !(c.is_alphanumeric() || c == '_')) {
                found.push(m.to_string());
            }
            from = at + m.len();
        }
    }
    found
}

/// Every `(method, path)` registered with `.route("path", chain)` in the sources, with
/// axum's `{*rest}` written as OpenAPI's `{rest}`.
fn registered() -> BTreeSet<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in SOURCES {
        rust_files(&root.join(dir), &mut files);
    }
    let mut routes = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read source");
        let code: String = text
            .lines()
            .map(|l| {
                if l.trim_start().starts_with("//") {
                    ""
                } else {
                    l
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        let mut from = 0;
        while let Some(i) = code[from..].find(".route(") {
            let open = from + i + ".route(".len();
            let args = call_args(&code, open);
            from = open;
            let Some(q1) = args.find('"') else { continue };
            let Some(q2) = args[q1 + 1..].find('"') else {
                continue;
            };
            let path = args[q1 + 1..q1 + 1 + q2].replace("{*", "{");
            let methods = methods_in(&args[q1 + 2 + q2..]);
            assert!(
                !methods.is_empty(),
                "{}: no method for {path}",
                file.display()
            );
            for m in methods {
                routes.insert((m, path.clone()));
            }
        }
    }
    routes
}

/// `(method, path)` of every operation in `doc`.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            ops.insert((method.clone(), path.clone()));
        }
    }
    ops
}

#[test]
fn the_documents_cover_exactly_the_registered_routes() {
    let routes = registered();
    assert!(
        routes.len() > 60,
        "found only {} routes: {routes:?}",
        routes.len()
    );
    let mut docs = documented(&document(Profile::Spark2014));
    docs.extend(documented(&document(Profile::Particle)));
    for (method, path) in &routes {
        // `any` routes (the token endpoint) are described by their POST.
        let method = if method == "any" { "post" } else { method };
        assert!(
            PREFIXES
                .iter()
                .any(|p| docs.contains(&(method.to_string(), format!("{p}{path}")))),
            "{} {path} is served but in neither OpenAPI document",
            method.to_uppercase()
        );
    }
    for (method, path) in &docs {
        let served = PREFIXES.iter().any(|p| {
            path.strip_prefix(p).is_some_and(|rest| {
                routes.contains(&(method.clone(), rest.to_string()))
                    || (method == "post" && routes.contains(&("any".into(), rest.to_string())))
            })
        });
        assert!(
            served,
            "{} {path} is documented but not registered",
            method.to_uppercase()
        );
    }
}

fn fill(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        out.push_str("probe");
        rest = rest[i..].split_once('}').map(|(_, r)| r).unwrap_or("");
    }
    out.push_str(rest);
    out
}

fn is_fallback_404(status: u16, text: &str) -> bool {
    status == 404 && text == r#"{"ok":false,"error":"Not Found"}"#
}

/// Status and body; an event stream's body is not awaited.
async fn probe(app: &TestApp, method: &str, path: &str) -> (u16, String) {
    let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
    let resp = app.req(method, &fill(path)).send().await.expect("request");
    let status = resp.status().as_u16();
    let stream = resp
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    let text = if stream {
        String::new()
    } else {
        resp.text().await.expect("body")
    };
    (status, text)
}

#[tokio::test]
async fn every_documented_operation_reaches_a_handler_in_its_profile() {
    for profile in PROFILES {
        let app = spawn_app(config(profile)).await;
        let mine = documented(&document(profile));
        for (method, path) in &mine {
            let (status, text) = probe(&app, method, path).await;
            assert!(
                status != 405 && !is_fallback_404(status, &text),
                "{profile:?}: {} {path} got the router's {status} {text}",
                method.to_uppercase()
            );
            let (status, text) = probe(&app, "patch", path).await;
            assert!(
                !is_fallback_404(status, &text),
                "{profile:?}: {path} is not routed at all"
            );
        }
        let other = match profile {
            Profile::Spark2014 => Profile::Particle,
            Profile::Particle => Profile::Spark2014,
        };
        for (method, path) in documented(&document(other)).difference(&mine) {
            let (status, text) = probe(&app, method, path).await;
            assert!(
                is_fallback_404(status, &text),
                "{profile:?} leaves {} {path} out of its document, yet answers {status} {text}",
                method.to_uppercase()
            );
        }
    }
}

/// Every `$ref` in `v`.
fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push(r);
            }
            m.values().for_each(|x| refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_running_profile_serves_its_document_and_names_the_other() {
    for profile in PROFILES {
        let doc = document(profile);
        assert_eq!(doc["openapi"], "3.1.0");
        let mut found = Vec::new();
        refs(&doc, &mut found);
        for r in found {
            let name = r.trim_start_matches("#/components/schemas/");
            assert!(
                doc["components"]["schemas"][name].is_object(),
                "{profile:?}: {r}"
            );
        }
        let app = spawn_app(config(profile)).await;
        let r = app.send(app.req(Method::GET, "/__mock/openapi.json")).await;
        assert_eq!(r.status, 200);
        assert_eq!(
            r.header("content-type"),
            Some("application/json; charset=utf-8")
        );
        assert_eq!(r.json, doc);
        for (name, other) in [
            ("spark-2014", Profile::Spark2014),
            ("particle", Profile::Particle),
        ] {
            let path = format!("/__mock/openapi.json?profile={name}");
            let r = app.send(app.req(Method::GET, &path)).await;
            assert_eq!(r.json, document(other));
        }
        let r = app
            .send(app.req(Method::GET, "/__mock/openapi.json?profile=2015"))
            .await;
        assert_eq!(r.status, 400);
        assert_eq!(
            r.json["error"],
            "unknown profile \"2015\": expected spark-2014 or particle"
        );
    }
    // What differs: the 2014 cloud had no clients, webhooks or password reset.
    let spark = document(Profile::Spark2014);
    let particle = document(Profile::Particle);
    for path in ["/v1/clients", "/v1/webhooks", "/v1/user/password-reset"] {
        assert!(spark["paths"][path].is_null(), "{path}");
        assert!(particle["paths"][path].is_object(), "{path}");
    }
    let status_401 = &particle["paths"]["/v1/user"]["get"]["responses"]["401"];
    assert!(status_401.is_object(), "particle: a bad token is 401");
    assert!(spark["paths"]["/v1/user"]["get"]["responses"]["401"].is_null());
}
