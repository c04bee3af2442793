//! A tiny cookie-keeping "browser" over reqwest for the Build pages: it does not follow
//! redirects, so tests see each 303 and its cookies, and it reads the page's CSRF field
//! and token the way a person would read them off the screen.

use std::collections::BTreeMap;

use reqwest::{Method, RequestBuilder};

use super::helpers::{read, Reply, TestApp};

pub struct Browser<'a> {
    pub app: &'a TestApp,
    http: reqwest::Client,
    pub cookies: BTreeMap<String, String>,
    /// The raw `Set-Cookie` lines of the last response.
    pub set_cookies: Vec<String>,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Browser {
            app,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: BTreeMap::new(),
            set_cookies: vec![],
        }
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let rb = self.http.request(method, self.app.url(path));
        if self.cookies.is_empty() {
            return rb;
        }
        let jar: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        rb.header("cookie", jar.join("; "))
    }

    async fn send(&mut self, rb: RequestBuilder) -> Reply {
        let r = read(rb.send().await.expect("request")).await;
        self.set_cookies = r
            .headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_string)
            .collect();
        for line in &self.set_cookies {
            let first = line.split(';').next().unwrap_or("");
            let (name, value) = first.split_once('=').expect("cookie pair");
            if line.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
        r
    }

    pub async fn get(&mut self, path: &str) -> Reply {
        let rb = self.request(Method::GET, path);
        self.send(rb).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Reply {
        let rb = self.request(Method::POST, path).form(form);
        self.send(rb).await
    }

    /// POST with extra headers (e.g. a foreign `Origin`).
    pub async fn post_with(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut rb = self.request(Method::POST, path).form(form);
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        self.send(rb).await
    }

    /// Opens the login page and submits it; the login response (a 303 on success).
    pub async fn login(&mut self, username: &str, password: &str) -> Reply {
        let page = self.get("/build").await;
        assert_eq!(page.status, 200, "{}", page.text);
        let csrf = csrf_field(&page.text);
        self.post(
            "/build/login",
            &[
                ("username", username),
                ("password", password),
                ("csrf", &csrf),
            ],
        )
        .await
    }

    /// Logs in and opens Settings; the token shown there.
    pub async fn login_and_read_token(&mut self, username: &str, password: &str) -> String {
        let r = self.login(username, password).await;
        assert_eq!(r.status, 303, "login: {}", r.text);
        assert_eq!(r.header("location"), Some("/build/settings"));
        self.settings_token().await
    }

    /// The token on the Settings page (which must render).
    pub async fn settings_token(&mut self) -> String {
        let page = self.get("/build/settings").await;
        assert_eq!(page.status, 200, "{}", page.text);
        shown_token(&page.text).expect("a token on the Settings page")
    }

    /// The Settings page's CSRF field.
    pub async fn settings_csrf(&mut self) -> String {
        let page = self.get("/build/settings").await;
        assert_eq!(page.status, 200, "{}", page.text);
        csrf_field(&page.text)
    }
}

/// The value of the page's hidden `csrf` field.
pub fn csrf_field(html: &str) -> String {
    let marker = r#"name="csrf" value=""#;
    let start = html.find(marker).expect("a csrf field") + marker.len();
    let end = html[start..].find('"').expect("end of the csrf value");
    html[start..start + end].to_string()
}

/// The token in `<code id="access-token" …>TOKEN</code>`.
pub fn shown_token(html: &str) -> Option<String> {
    let start = html.find(r#"id="access-token""#)?;
    let open = start + html[start..].find('>')? + 1;
    let close = open + html[open..].find('<')?;
    Some(html[open..close].to_string())
}
