//! Build IDE sessions: in memory, separate from OAuth tokens (the 2014 Build site had its own
//! Devise login), and expiring by the mock's clock so a test can age one with
//! `POST /__mock/clock` instead of waiting two weeks.
//!
//! The table also signs the login form's pre-session CSRF values (HMAC-SHA256 under a
//! random secret made with the table and never stored), so the double submit only accepts
//! a value this server issued, not any cookie and field a client chose to make equal.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use parking_lot::Mutex;
use rand::RngCore;
use sha2::Sha256;

type LoginCsrfMac = Hmac<Sha256>;

/// What the signature covers besides the nonce, so it signs nothing else by accident.
const LOGIN_CSRF_CONTEXT: &[u8] = b"spark-mock build login csrf v1\0";

/// How long a Build session lives: Devise's two-week default.
pub fn lifetime() -> Duration {
    Duration::days(14)
}

/// Sessions kept at most; past it, expired then oldest sessions are dropped, so a client
/// that signs in in a loop cannot grow memory without bound.
const MAX_SESSIONS: usize = 10_000;

/// A signed-in Build user.
#[derive(Clone, Debug)]
pub struct Session {
    /// The session's own token: the cookie value, or the JSON API's `auth_token`.
    pub token: String,
    pub username: String,
    /// The CSRF token the session's forms carry.
    pub csrf: String,
    pub expires_at: DateTime<Utc>,
}

/// Why a presented session token is not a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("not signed in")]
    Missing,
    #[error("the session has expired")]
    Expired,
}

/// The session table, shared by the Build routes of one server.
#[derive(Clone)]
pub struct Sessions {
    inner: Arc<Mutex<HashMap<String, Session>>>,
    /// Keyed with a fresh random secret per table: signs login CSRF values.
    login_csrf: Arc<LoginCsrfMac>,
}

impl Default for Sessions {
    fn default() -> Self {
        let mut secret = hmac::digest::Key::<LoginCsrfMac>::default();
        rand::rngs::OsRng.fill_bytes(&mut secret);
        Sessions {
            inner: Arc::default(),
            login_csrf: Arc::new(<LoginCsrfMac as KeyInit>::new(&secret)),
        }
    }
}

impl Sessions {
    /// A fresh pre-session CSRF value for the login form: `<nonce>.<signature>`, a
    /// [`friendly_token`] and its HMAC-SHA256 (URL-safe base64) under this table's secret.
    pub fn login_csrf(&self) -> String {
        let nonce = friendly_token();
        let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(self.login_csrf_mac(&nonce).finalize().into_bytes());
        format!("{nonce}.{signature}")
    }

    /// Whether a login form's CSRF `field` equals its `cookie` and is a value this table
    /// issued (the signature is checked in constant time).
    pub fn login_csrf_ok(&self, cookie: &str, field: &str) -> bool {
        if cookie.is_empty() || !same_secret(cookie, field) {
            return false;
        }
        let Some((nonce, signature)) = field.split_once('.') else {
            return false;
        };
        let Ok(signature) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(signature)
        else {
            return false;
        };
        self.login_csrf_mac(nonce).verify_slice(&signature).is_ok()
    }

    fn login_csrf_mac(&self, nonce: &str) -> LoginCsrfMac {
        let mut mac = LoginCsrfMac::clone(&self.login_csrf);
        mac.update(LOGIN_CSRF_CONTEXT);
        mac.update(nonce.as_bytes());
        mac
    }

    /// Starts a session for `username`.
    pub fn create(&self, username: &str, now: DateTime<Utc>) -> Session {
        let mut map = self.inner.lock();
        if map.len() >= MAX_SESSIONS {
            map.retain(|_, s| s.expires_at > now);
        }
        if map.len() >= MAX_SESSIONS {
            if let Some(oldest) = map
                .values()
                .min_by_key(|s| s.expires_at)
                .map(|s| s.token.clone())
            {
                map.remove(&oldest);
            }
        }
        let mut token = friendly_token();
        while map.contains_key(&token) {
            token = friendly_token();
        }
        let session = Session {
            token: token.clone(),
            username: username.to_string(),
            csrf: friendly_token(),
            expires_at: crate::clock::deadline(now, lifetime()),
        };
        map.insert(token, session.clone());
        session
    }

    /// The live session behind `token`. An expired one is reported once, then forgotten.
    pub fn get(&self, token: &str, now: DateTime<Utc>) -> Result<Session, SessionError> {
        let mut map = self.inner.lock();
        match map.get(token) {
            None => Err(SessionError::Missing),
            Some(s) if s.expires_at <= now => {
                map.remove(token);
                Err(SessionError::Expired)
            }
            Some(s) => Ok(s.clone()),
        }
    }

    /// Ends a session (log out, or its user is gone).
    pub fn remove(&self, token: &str) {
        self.inner.lock().remove(token);
    }
}

/// A 20-character Devise `friendly_token`: 15 bytes from the OS CSPRNG, URL-safe base64,
/// with the look-alikes `lIO0` replaced by `sxyz` (e.g. `78n4xGh2aC_V8awk4jsA`).
pub fn friendly_token() -> String {
    let mut bytes = [0u8; 15];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(bytes)
        .chars()
        .map(|c| match c {
            'l' => 's',
            'I' => 'x',
            'O' => 'y',
            '0' => 'z',
            c => c,
        })
        .collect()
}

/// Compares two secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_look_like_devise_friendly_tokens() {
        let t = friendly_token();
        assert_eq!(t.len(), 20);
        assert!(t
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert!(!t.contains(['l', 'I', 'O', '0']));
        assert_ne!(t, friendly_token());
    }

    #[test]
    fn sessions_expire_by_the_given_clock_and_report_it_once() {
        let sessions = Sessions::default();
        let now = Utc::now();
        let s = sessions.create("a@example.com", now);
        assert_eq!(
            sessions.get(&s.token, now).map(|s| s.username).as_deref(),
            Ok("a@example.com")
        );
        let later = now + lifetime() + Duration::seconds(1);
        assert_eq!(
            sessions.get(&s.token, later).err(),
            Some(SessionError::Expired)
        );
        assert_eq!(
            sessions.get(&s.token, later).err(),
            Some(SessionError::Missing)
        );
        assert_eq!(sessions.get("nope", now).err(), Some(SessionError::Missing));
    }

    #[test]
    fn only_login_csrf_values_this_table_issued_pass() {
        let sessions = Sessions::default();
        let issued = sessions.login_csrf();
        assert!(sessions.login_csrf_ok(&issued, &issued));
        assert!(!sessions.login_csrf_ok("", ""));
        assert!(
            !sessions.login_csrf_ok(&issued, "x"),
            "cookie and field differ"
        );
        assert!(!sessions.login_csrf_ok("x", "x"), "unsigned");
        let (nonce, signature) = issued.split_once('.').unwrap();
        let other_nonce = format!("{}.{signature}", friendly_token());
        let no_signature = format!("{nonce}.");
        let bad_base64 = format!("{nonce}.!!!");
        for forged in [other_nonce, no_signature, bad_base64] {
            assert!(!sessions.login_csrf_ok(&forged, &forged), "{forged}");
        }
        let elsewhere = Sessions::default().login_csrf();
        assert!(
            !sessions.login_csrf_ok(&elsewhere, &elsewhere),
            "another server's value"
        );
        assert_ne!(sessions.login_csrf(), issued, "a fresh value each time");
    }

    #[test]
    fn secrets_compare_exactly() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
    }
}
