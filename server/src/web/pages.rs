//! The Build IDE's HTML, written as plain strings: a login page and a Settings page. Every
//! value that a user or the database controls goes through [`esc`].

use chrono::{DateTime, Utc};

use crate::config::PolicyKind;
use crate::domain::token::Status;
use crate::web::account::ShownToken;
use crate::web::html::esc;

/// A line at the top of a page.
pub enum Notice<'a> {
    Error(&'a str),
    Info(&'a str),
}

fn notice_html(n: Option<Notice<'_>>) -> String {
    match n {
        Some(Notice::Error(m)) => format!(r#"<p class="notice error" role="alert">{}</p>"#, esc(m)),
        Some(Notice::Info(m)) => format!(r#"<p class="notice info" role="status">{}</p>"#, esc(m)),
        None => String::new(),
    }
}

/// The page frame. `nav` is the right side of the top bar.
fn layout(title: &str, nav: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Spark Build (spark-mock)</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/build/build.css">
</head>
<body>
<header class="bar"><a class="brand" href="/build">Spark <b>Build</b></a><span class="mock">spark-mock</span><nav>{nav}</nav></header>
<main>
{body}
</main>
<footer>A local stand-in for the 2014 Spark Build web IDE. <a href="/console">Console</a></footer>
</body>
</html>
"#,
        title = esc(title),
    )
}

/// The sign-in form. `csrf` is the value of the pre-session CSRF cookie.
pub fn login(csrf: &str, username: &str, notice: Option<Notice<'_>>) -> String {
    // The cursor goes where the person has to type next.
    let (focus_user, focus_password) = if username.is_empty() {
        (" autofocus", "")
    } else {
        ("", " autofocus")
    };
    let body = format!(
        r#"<section class="card narrow">
<h1>Log in to Build</h1>
{notice}
<form method="post" action="/build/login" class="stack">
<input type="hidden" name="csrf" value="{csrf}">
<label>Email <input type="email" name="username" value="{username}" autocomplete="username" required{focus_user}></label>
<label>Password <input type="password" name="password" autocomplete="current-password" required{focus_password}></label>
<button type="submit" id="login">Log in</button>
</form>
<p class="hint">Logging in here shows your access token; it does not change it.</p>
</section>"#,
        notice = notice_html(notice),
        csrf = esc(csrf),
        username = esc(username),
    );
    layout("Log in", "", &body)
}

/// What the Settings page needs.
pub struct Settings<'a> {
    pub username: &'a str,
    pub csrf: &'a str,
    pub token: Option<&'a ShownToken>,
    pub now: DateTime<Utc>,
    pub policy: PolicyKind,
    pub notice: Option<Notice<'a>>,
}

fn when(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (at - now).num_seconds();
    let round = |s: i64, unit: i64| (s + unit / 2) / unit;
    let (n, unit) = match secs.abs() {
        s if s >= 2 * 86_400 => (round(s, 86_400), "days"),
        s if s >= 2 * 3600 => (round(s, 3600), "hours"),
        s if s >= 120 => (round(s, 60), "minutes"),
        s => (s, "seconds"),
    };
    let rel = if secs >= 0 {
        format!("in {n} {unit}")
    } else {
        format!("{n} {unit} ago")
    };
    format!("{} ({rel})", at.format("%Y-%m-%d %H:%M:%S UTC"))
}

fn token_html(t: Option<&ShownToken>, now: DateTime<Utc>) -> String {
    let Some(t) = t else {
        return r#"<p class="notice error">You have no access token. Reset it to create one.</p>"#
            .to_string();
    };
    let expiry = match t.expires_at {
        Some(at) => when(at, now),
        None => "never".to_string(),
    };
    let dead = match (t.status, &t.death) {
        (Status::Valid, _) => String::new(),
        (Status::Expired, _) => {
            r#"<p class="notice error" role="alert">Your access token has expired. Reset it to get a new one.</p>"#.to_string()
        }
        (Status::Invalidated, death) => format!(
            r#"<p class="notice error" role="alert">This access token no longer works: {}. Reset it to get a new one.</p>"#,
            esc(death.as_deref().unwrap_or("invalidated"))
        ),
    };
    format!(
        r#"{dead}<div class="token-box"><code id="access-token" data-status="{status}">{token}</code></div>
<dl class="facts"><dt>Expires</dt><dd id="access-token-expires">{expiry}</dd><dt>Client</dt><dd>{client}</dd>
<dt>History</dt><dd><a href="/__mock/tokens/{token}">/__mock/tokens/{short}…</a></dd></dl>"#,
        status = match t.status {
            Status::Valid => "valid",
            Status::Expired => "expired",
            Status::Invalidated => "invalidated",
        },
        token = esc(&t.token),
        short = esc(&t.token.chars().take(8).collect::<String>()),
        expiry = esc(&expiry),
        client = esc(&t.client),
    )
}

fn policy_hint(policy: PolicyKind) -> &'static str {
    match policy {
        PolicyKind::Single => "Token policy single (2014): logging in to Build never changes this token, but a login from the mobile apps or any other POST /oauth/token replaces it, and Reset Token replaces it here.",
        PolicyKind::PerClient => "Token policy per-client: this is the Build client's own token; other clients' logins leave it alone. Reset Token replaces it.",
        PolicyKind::Multi => "Token policy multi: tokens accumulate and each expires on its own; Build lists the most recently created one. Reset Token replaces it.",
    }
}

/// The Settings page: the token, its expiry, and the Reset Token button.
pub fn settings(s: Settings<'_>) -> String {
    let csrf = esc(s.csrf);
    let nav = format!(
        r#"<span class="who">{user}</span><form method="post" action="/build/logout" class="inline"><input type="hidden" name="csrf" value="{csrf}"><button type="submit" class="link" id="logout">Log out</button></form>"#,
        user = esc(s.username),
    );
    let body = format!(
        r#"<section class="card">
<h1>Settings</h1>
{notice}
<h2>Access Token</h2>
{token}
<form method="post" action="/build/settings/reset" class="inline">
<input type="hidden" name="csrf" value="{csrf}">
<button type="submit" id="reset-token" class="danger">Reset Token</button>
</form>
<p class="hint">{hint}</p>
</section>"#,
        notice = notice_html(s.notice),
        token = token_html(s.token, s.now),
        hint = esc(policy_hint(s.policy)),
    );
    layout("Settings", &nav, &body)
}
