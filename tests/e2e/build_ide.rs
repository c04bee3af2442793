//! The Build IDE's pages over HTTP: logging in shows the token without rotating it (the 2014
//! rule), Reset Token replaces it and the history says so, errors appear on the page, the
//! cookies are HttpOnly/SameSite/`Path=/build`, forms without their CSRF token are refused,
//! and a hostile username is escaped.

use crate::common;

use common::helpers::{config, is_token, spawn_with_user, PASSWORD, USER};
use common::web::{csrf_field, shown_token, Browser};
use spark_mock_server::Profile;

#[tokio::test]
async fn login_shows_the_current_token_and_never_rotates_it() {
    let app = spawn_with_user(config(Profile::Spark2014)).await;
    let script = app.login("python-script", "x").await;
    let mut browser = Browser::new(&app);
    assert_eq!(browser.login_and_read_token(USER, PASSWORD).await, script);
    // A second Build login, in another browser, changes nothing either.
    let mut other = Browser::new(&app);
    assert_eq!(other.login_and_read_token(USER, PASSWORD).await, script);
    assert!(
        app.works(&script).await,
        "a Build login must not rotate the token"
    );
    assert_eq!(app.valid_tokens(USER).await, vec![script.clone()]);
    assert!(app.history(&script).await["invalidated"].is_null());
    // A phone login does rotate it, and Build then shows the phone's token.
    let phone = app.login("spark-ios", "x").await;
    assert!(!app.works(&script).await);
    assert_eq!(browser.settings_token().await, phone);
}

#[tokio::test]
async fn login_creates_a_build_token_only_when_the_user_has_none() {
    let app = spawn_with_user(config(Profile::Spark2014)).await;
    let mut browser = Browser::new(&app);
    let token = browser.login_and_read_token(USER, PASSWORD).await;
    assert!(is_token(&token), "{token}");
    let history = app.history(&token).await;
    assert_eq!(history["client"], "spark-build");
    let mut again = Browser::new(&app);
    assert_eq!(again.login_and_read_token(USER, PASSWORD).await, token);
    assert_eq!(app.tokens_of(USER).await.len(), 1);
}

#[tokio::test]
async fn reset_token_replaces_the_token_and_the_history_says_why() {
    let app = spawn_with_user(config(Profile::Spark2014)).await;
    let old = app.login("python-script", "x").await;
    let mut browser = Browser::new(&app);
    assert_eq!(browser.login_and_read_token(USER, PASSWORD).await, old);
    let csrf = browser.settings_csrf().await;
    let r = browser
        .post("/build/settings/reset", &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(r.header("location"), Some("/build/settings?reset=done"));
    let page = browser.get("/build/settings?reset=done").await;
    assert!(
        page.text.contains("Your access token was reset"),
        "{}",
        page.text
    );
    let new = shown_token(&page.text).expect("token");
    assert!(is_token(&new) && new != old, "{new}");
    assert!(!app.works(&old).await);
    assert!(app.works(&new).await);
    let death = app.history(&old).await["death"]
        .as_str()
        .expect("death")
        .to_string();
    assert!(
        death.starts_with("reset from Build settings at "),
        "{death}"
    );
    let born = app.history(&new).await;
    assert_eq!(
        (born["client"].as_str(), born["issued"]["grant"].as_str()),
        (Some("spark-build"), Some("reset"))
    );
}

#[tokio::test]
async fn a_bad_password_is_shown_on_the_login_page() {
    let app = spawn_with_user(config(Profile::Spark2014)).await;
    let mut browser = Browser::new(&app);
    let r = browser.login(USER, "wrong").await;
    assert_eq!(r.status, 401);
    assert!(
        r.text.contains("Incorrect email or password."),
        "{}",
        r.text
    );
    assert!(
        r.text.contains(&format!(r#"value="{USER}""#)),
        "the email is kept"
    );
    assert!(!browser.cookies.contains_key("spark_build_session"));
    assert!(
        app.tokens_of(USER).await.is_empty(),
        "no grant on a failed login"
    );
}

#[tokio::test]
async fn an_expired_session_is_shown_on_the_page_and_changes_nothing() {
    let app = spawn_with_user(config(Profile::Spark2014)).await;
    let mut browser = Browser::new(&app);
    let token = browser.login_and_read_token(USER, PASSWORD).await;
    let csrf = browser.settings_csrf().await;
    app.advance_clock(15 * 86_400).await;
    let page = browser.get("/build/settings").await;
    assert_eq!(page.status, 401);
    assert!(
        page.text
            .contains("Your session has expired. Please log in again."),
        "{}",
        page.text
    );
    let r = browser
        .post("/build/settings/reset", &[("csrf", &csrf)])
        .await;
    assert_eq!(r.status, 401);
    assert!(app.works(&token).await, "an expired session must not reset");
}

#[tokio::test]
async fn cookies_are_http_only_same_site_strict_and_scoped_to_build() {
    let app = spawn_with_user(config(Profile::Spark2014)).await;
    let mut browser = Browser::new(&app);
    browser.get("/build").await;
    let pre = browser.set_cookies.clone();
    browser.login(USER, PASSWORD).await;
    let after = browser.set_cookies.clone();
    let session = after
        .iter()
        .find(|c| c.starts_with("spark_build_session="))
        .expect("session cookie");
    let value = session["spark_build_session=".len()..]
        .split(';')
        .next()
        .unwrap_or("");
    assert_eq!(value.len(), 20, "a 20-character session token: {session}");
    for cookie in pre.iter().chain(after.iter()) {
        for flag in ["HttpOnly", "SameSite=Strict", "Path=/build"] {
            assert!(cookie.contains(flag), "{cookie} lacks {flag}");
        }
    }
    assert!(pre.iter().any(|c| c.starts_with("spark_build_csrf=")));
}

#[tokio::test]
async fn forms_without_their_csrf_token_are_refused() {
    let app = spawn_with_user(config(Profile::Spark2014)).await;
    // Login without the pre-session cookie, then with a wrong field.
    let mut stranger = Browser::new(&app);
    let form = [("username", USER), ("password", PASSWORD), ("csrf", "x")];
    let r = stranger.post("/build/login", &form).await;
    assert_eq!(r.status, 403);
    assert!(r.text.contains("did not come from this site"), "{}", r.text);
    stranger.get("/build").await;
    assert_eq!(stranger.post("/build/login", &form).await.status, 403);
    assert!(app.tokens_of(USER).await.is_empty());

    let mut browser = Browser::new(&app);
    let token = browser.login_and_read_token(USER, PASSWORD).await;
    let csrf = browser.settings_csrf().await;
    let r = browser.post("/build/settings/reset", &[]).await;
    assert_eq!(r.status, 403);
    assert!(r.text.contains("Nothing was changed"), "{}", r.text);
    let wrong = browser
        .post("/build/settings/reset", &[("csrf", "AAAAAAAAAAAAAAAAAAAA")])
        .await;
    assert_eq!(wrong.status, 403);
    let foreign = [("origin", "http://evil.example")];
    let r = browser
        .post_with("/build/settings/reset", &[("csrf", &csrf)], &foreign)
        .await;
    assert_eq!(
        r.status, 403,
        "a foreign Origin is refused even with the token"
    );
    assert_eq!(browser.post("/build/logout", &[]).await.status, 403);
    assert!(app.works(&token).await);
    assert_eq!(browser.settings_token().await, token, "still signed in");
    // With the token, logging out works and the session is gone.
    let r = browser.post("/build/logout", &[("csrf", &csrf)]).await;
    assert_eq!((r.status, r.header("location")), (303, Some("/build")));
    assert_eq!(browser.get("/build/settings").await.status, 401);
}

/// The login form's double submit only takes a value this server issued (it is signed): a
/// matching cookie and field the client made up, or one issued by another server, are
/// refused and log no one in.
#[tokio::test]
async fn the_login_csrf_value_must_be_one_the_server_issued() {
    let app = spawn_with_user(config(Profile::Spark2014)).await;
    let elsewhere = spawn_with_user(config(Profile::Spark2014)).await;
    let issued_elsewhere = {
        let mut b = Browser::new(&elsewhere);
        csrf_field(&b.get("/build").await.text)
    };
    let issued_here = csrf_field(&Browser::new(&app).get("/build").await.text);
    let nonce = issued_here.split('.').next().unwrap_or_default();
    let forged_signature = format!("{nonce}.{}", "A".repeat(43));
    let chosen = [
        "x".to_string(),
        "AAAAAAAAAAAAAAAAAAAA".to_string(),
        forged_signature,
        format!("{nonce}."),
        issued_elsewhere,
    ];
    for value in &chosen {
        let mut client = Browser::new(&app);
        client
            .cookies
            .insert("spark_build_csrf".to_string(), value.clone());
        let form = [("username", USER), ("password", PASSWORD), ("csrf", value)];
        let r = client.post("/build/login", &form).await;
        assert_eq!(r.status, 403, "{value}: {}", r.text);
        assert!(r.text.contains("did not come from this site"), "{}", r.text);
        assert!(!client.cookies.contains_key("spark_build_session"));
    }
    assert!(app.tokens_of(USER).await.is_empty(), "nobody logged in");
    // The form as served still logs in.
    let token = Browser::new(&app)
        .login_and_read_token(USER, PASSWORD)
        .await;
    assert!(app.works(&token).await);
}

#[tokio::test]
async fn a_hostile_username_is_escaped_everywhere() {
    let app = spawn_with_user(config(Profile::Spark2014)).await;
    let evil = r#"<script>alert('x')</script>"@example.com"#;
    app.signup(evil, "pw").await;
    let escaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;@example.com";
    let mut browser = Browser::new(&app);
    let bad = browser.login(evil, "wrong").await;
    assert_eq!(bad.status, 401);
    assert!(bad.text.contains(escaped), "{}", bad.text);
    assert!(!bad.text.contains("<script>"));
    let r = browser.login(evil, "pw").await;
    assert_eq!(r.status, 303);
    let page = browser.get("/build/settings").await;
    assert!(page.text.contains(escaped), "{}", page.text);
    assert!(!page.text.contains("<script>"), "{}", page.text);
    assert!(!csrf_field(&page.text).is_empty());
}

#[tokio::test]
async fn pages_forbid_framing_and_are_not_cached() {
    let app = spawn_with_user(config(Profile::Spark2014)).await;
    let mut browser = Browser::new(&app);
    browser.login_and_read_token(USER, PASSWORD).await;
    let page = browser.get("/build/settings").await;
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    let csp = page.header("content-security-policy").unwrap_or("");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    // Signed in, /build goes straight to Settings.
    let r = browser.get("/build").await;
    assert_eq!(
        (r.status, r.header("location")),
        (303, Some("/build/settings"))
    );
}
