//! Bearer authentication with node-oauth2-server's exact rules: one placement only (header,
//! query or form body), `Bearer\s(\S+)` in the header, no body token on GET, body tokens
//! only in form encoding. Every refused use of a known token lands in its history and in
//! one WARN line.

use axum::http::Method;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use crate::api::error::ApiError;
use crate::api::profile::shape;
use crate::api::request::{value_text, ApiRequest, BodyKind};
use crate::domain::db::Refusal;
use crate::domain::token::{short, TokenRecord};
use crate::domain::users::User;
use crate::error::{text, OAuthError, OAuthKind};
use crate::state::AppState;

/// The authenticated caller: the user and the token they used.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user: User,
    pub token: TokenRecord,
}

/// Finds the bearer token of a request, or the exact error for where it was put.
pub fn bearer_token(state: &AppState, req: &ApiRequest) -> Result<String, ApiError> {
    let header = req
        .headers
        .get("authorization")
        .map(|v| v.to_str().map(str::to_string).unwrap_or_default());
    let query = req.query_param("access_token").map(str::to_string);
    let body = req
        .params_lenient()
        .and_then(|p| p.get("access_token"))
        .map(|v| value_text(v).unwrap_or_default());
    let used = [header.is_some(), query.is_some(), body.is_some()]
        .iter()
        .filter(|u| **u)
        .count();
    if used > 1 {
        let t = shape(state.config().profile).one_method_text();
        return Err(OAuthError::invalid_request(t).into());
    }
    if let Some(h) = header {
        return match_bearer(&h)
            .map(str::to_string)
            .ok_or_else(|| OAuthError::invalid_request(text::MALFORMED_HEADER).into());
    }
    if let Some(b) = body {
        if req.method == Method::GET {
            return Err(OAuthError::invalid_request(text::BODY_ON_GET).into());
        }
        if req.kind != BodyKind::Form {
            return Err(OAuthError::invalid_request(text::BODY_NOT_FORM).into());
        }
        return Ok(b);
    }
    query.ok_or_else(|| OAuthError::invalid_request(text::TOKEN_NOT_FOUND).into())
}

/// The regex `Bearer\s(\S+)`, unanchored and case-sensitive, as the library matches it.
fn match_bearer(header: &str) -> Option<&str> {
    let mut rest = header;
    while let Some(i) = rest.find("Bearer") {
        let after = &rest[i + "Bearer".len()..];
        let mut chars = after.char_indices();
        if let Some((_, c)) = chars.next() {
            if c.is_whitespace() {
                let start = c.len_utf8();
                let tail = &after[start..];
                let end = tail.find(char::is_whitespace).unwrap_or(tail.len());
                if end > 0 {
                    return Some(&tail[..end]);
                }
            }
        }
        rest = after;
    }
    None
}

/// Authenticates a request by its bearer token.
pub fn authenticate(state: &AppState, req: &ApiRequest) -> Result<Actor, ApiError> {
    let token = bearer_token(state, req)?;
    req.note.update(|n| n.token = Some(short(&token)));
    let now = state.clock().now();
    let route = req.route();
    let remote = req.remote_ip();
    let result = state.db_touch(|db| {
        db.authenticate(&token, &route, remote.as_deref(), now)
            .and_then(|t| match db.user(&t.username) {
                Some(u) => Ok((u.clone(), t)),
                None => Err(Refusal::Unknown),
            })
    });
    match result {
        Ok((user, token)) => {
            req.note.update(|n| {
                n.user = Some(user.username.clone());
                n.client = Some(token.client_id.clone());
            });
            Ok(Actor { user, token })
        }
        Err(refusal) => {
            let description = match &refusal {
                Refusal::Expired => text::TOKEN_EXPIRED,
                _ => text::TOKEN_INVALID,
            };
            if let Some(why) = match &refusal {
                Refusal::Unknown => None,
                Refusal::Expired => Some("expired".to_string()),
                Refusal::Invalidated(why) => Some(why.clone()),
            } {
                let (user, client) = state.db_read(|db| {
                    db.token(&token)
                        .map(|t| (t.username.clone(), t.client_id.clone()))
                        .unwrap_or_default()
                });
                req.note.update(|n| {
                    n.user = Some(user.clone());
                    n.client = Some(client.clone());
                    n.rejected = Some(why.clone());
                });
                tracing::warn!(
                    "rejected token {} (user {user}, client {client}) on {route} from {}: {why}",
                    short(&token),
                    remote.as_deref().unwrap_or("unknown")
                );
            }
            if refusal == Refusal::Unknown {
                req.note
                    .update(|n| n.rejected = Some("unknown token".to_string()));
            }
            Err(OAuthError::new(OAuthKind::InvalidToken, description).into())
        }
    }
}

/// HTTP Basic `user:password` from the Authorization header, if it carries one.
pub fn basic_credentials(req: &ApiRequest) -> Option<(String, String)> {
    let header = req.header("authorization")?;
    let (scheme, value) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = B64.decode(value.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some((user.to_string(), pass.to_string()))
}

#[cfg(test)]
mod tests {
    use super::match_bearer;

    #[test]
    fn bearer_regex_matches_like_the_library() {
        assert_eq!(match_bearer("Bearer abc"), Some("abc"));
        assert_eq!(match_bearer("Bearer  abc"), None);
        assert_eq!(match_bearer("Bearer null"), Some("null"));
        assert_eq!(match_bearer("bearer abc"), None);
        assert_eq!(match_bearer("Basic dXNlcjpwdw=="), None);
        assert_eq!(match_bearer("Bearer"), None);
        assert_eq!(match_bearer("Bearer abc def"), Some("abc"));
    }
}
