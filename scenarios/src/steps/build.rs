//! "Reset Token" as a person presses it: through spark-mock's Build IDE pages. Sign in
//! (`POST /build/api/sign_in`, which never rotates the token), open Settings with the
//! session cookie to read the form's CSRF token, press Reset Token
//! (`POST /build/settings/reset`), then read the new token (`GET /build/api/access_token`).

use serde_json::{json, Value};

use crate::http::{Call, Http, Reply};

/// The Build IDE's session cookie.
const SESSION_COOKIE: &str = "spark_build_session";

/// What pressing the button gave: the reset's answer, with the new token as `access_token`.
/// `Ok(None)` when the server has no Build pages.
pub(super) async fn reset(
    http: &Http,
    user: &str,
    password: &str,
    user_agent: &str,
) -> Result<Option<Reply>, String> {
    let with_ua = |mut c: Call| {
        c.user_agent = Some(user_agent.to_string());
        c
    };
    let mut sign_in = with_ua(Call::new("POST", "/build/api/sign_in"));
    sign_in.form = vec![
        ("username".into(), user.into()),
        ("password".into(), password.into()),
    ];
    let signed = http.send(&sign_in).await?;
    if matches!(signed.status, 404 | 405) {
        return Ok(None);
    }
    let Some(session) = signed
        .body
        .pointer("/auth_token/token")
        .and_then(Value::as_str)
    else {
        return Err(format!(
            "Build sign-in answered {}: {}",
            signed.status, signed.text
        ));
    };
    let cookie = ("Cookie".to_string(), format!("{SESSION_COOKIE}={session}"));
    let mut settings = with_ua(Call::new("GET", "/build/settings"));
    settings.headers = vec![cookie.clone()];
    let page = http.send(&settings).await?;
    let csrf = hidden_field(&page.text, "csrf").ok_or_else(|| {
        format!(
            "the Settings page ({}) has no Reset Token form",
            page.status
        )
    })?;
    let mut press = with_ua(Call::new("POST", "/build/settings/reset"));
    press.headers = vec![cookie];
    press.form = vec![("csrf".into(), csrf)];
    let pressed = http.send(&press).await?;
    if pressed.status != 200 {
        return Ok(Some(pressed));
    }
    let mut shown = with_ua(Call::new("GET", "/build/api/access_token"));
    shown.bearer = Some(session.to_string());
    let token = http.send(&shown).await?;
    let access = token
        .body
        .get("access_token")
        .cloned()
        .unwrap_or(Value::Null);
    Ok(Some(Reply {
        status: pressed.status,
        body: json!({ "access_token": access }),
        text: token.text,
    }))
}

/// The value of the first `<input type="hidden" name="NAME" value="…">`.
fn hidden_field(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let rest = &html[at..];
    let start = rest.find("value=\"")? + "value=\"".len();
    let end = rest[start..].find('"')?;
    Some(rest[start..start + end].replace("&amp;", "&"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_the_hidden_csrf_field() {
        let html = r#"<form><input type="hidden" name="csrf" value="a&amp;b"><button>x</button>"#;
        assert_eq!(super::hidden_field(html, "csrf").as_deref(), Some("a&b"));
        assert_eq!(super::hidden_field(html, "other"), None);
    }
}
