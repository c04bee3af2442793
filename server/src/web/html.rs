//! Small HTTP helpers for the web pages: HTML escaping, page responses with the security
//! headers every page carries, redirects, and the Build cookies.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// The Build session cookie (a 20-character session token).
pub const SESSION_COOKIE: &str = "spark_build_session";
/// The pre-session CSRF cookie the login form is checked against (double submit).
pub const LOGIN_CSRF_COOKIE: &str = "spark_build_csrf";

/// Escapes text for HTML content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Headers every page and asset carries: no framing (the Reset button must not be
/// clickjacked), scripts and styles from this server only, no caching of pages that show
/// tokens.
fn secure(mut resp: Response, content_type: &'static str, cache: &'static str) -> Response {
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    resp
}

/// An HTML page.
pub fn page(status: StatusCode, html: String) -> Response {
    secure(
        (status, html).into_response(),
        "text/html; charset=utf-8",
        "no-store",
    )
}

/// A static asset compiled into the binary.
pub fn asset(content_type: &'static str, body: &'static str) -> Response {
    secure(body.into_response(), content_type, "no-cache")
}

/// `303 See Other` to `to` (after a POST, so a reload does not resubmit it).
pub fn redirect(to: &'static str) -> Response {
    let mut resp = StatusCode::SEE_OTHER.into_response();
    resp.headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static(to));
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// A cookie from the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
}

/// A Build cookie: HttpOnly (no script reads it), SameSite=Strict (no other site's form or
/// link sends it), scoped to `/build`, and a browser-session cookie: the server decides
/// expiry by the mock's clock. No `Secure`: spark-mock serves plain HTTP on loopback.
pub fn set_cookie(resp: &mut Response, name: &str, value: &str) {
    let v = format!("{name}={value}; HttpOnly; SameSite=Strict; Path=/build");
    if let Ok(v) = HeaderValue::from_str(&v) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Deletes a Build cookie.
pub fn clear_cookie(resp: &mut Response, name: &str) {
    let v = format!("{name}=; HttpOnly; SameSite=Strict; Path=/build; Max-Age=0");
    if let Ok(v) = HeaderValue::from_str(&v) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Whether a form POST may come from this site: a browser's `Origin` (sent on every POST
/// by current browsers) must name this host, and `Sec-Fetch-Site` must not say
/// cross-site. Clients that send neither (curl, tests) rely on the CSRF token alone.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let get = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    if get(header::HeaderName::from_static("sec-fetch-site")) == Some("cross-site") {
        return false;
    }
    match get(header::ORIGIN) {
        None => true,
        Some(origin) => {
            let host = get(header::HOST).unwrap_or("");
            origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"))
                .is_some_and(|o| !host.is_empty() && o.eq_ignore_ascii_case(host))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            esc(r#"<a href="x" onclick='y'>&</a>"#),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
    }

    #[test]
    fn reads_cookies_from_every_header() {
        let mut h = HeaderMap::new();
        h.append(header::COOKIE, HeaderValue::from_static("a=1; b=2"));
        h.append(header::COOKIE, HeaderValue::from_static("c=3"));
        assert_eq!(cookie(&h, "b").as_deref(), Some("2"));
        assert_eq!(cookie(&h, "c").as_deref(), Some("3"));
        assert_eq!(cookie(&h, "d"), None);
    }

    #[test]
    fn origin_must_match_the_host() {
        let mut h = HeaderMap::new();
        assert!(same_origin(&h));
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(!same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&h));
    }
}
