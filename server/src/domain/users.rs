//! User accounts and OAuth clients: plain records, no HTTP.

use chrono::{DateTime, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::domain::password::PasswordHash;

/// An account. The username is an email address, compared case-insensitively.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub username: String,
    pub password: PasswordHash,
    pub created_at: DateTime<Utc>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub business_account: bool,
    /// Multi-factor authentication (particle profile): when set, a password grant answers
    /// `mfa_required` and the token comes from an OTP or recovery-code grant.
    #[serde(default)]
    pub mfa: Option<Mfa>,
}

/// A user's second factor. The mock accepts one fixed one-time password rather than a
/// TOTP secret, so tests and demos can type it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mfa {
    pub otp: String,
    /// Each works once.
    #[serde(default)]
    pub recovery_codes: Vec<String>,
}

impl User {
    pub fn new(username: &str, password: PasswordHash, now: DateTime<Utc>) -> Self {
        User {
            id: random_hex(24),
            username: normalize_username(username),
            password,
            created_at: now,
            first_name: None,
            last_name: None,
            business_account: false,
            mfa: None,
        }
    }
}

/// Usernames are stored and compared in lower case, as spark-server did.
pub fn normalize_username(username: &str) -> String {
    username.trim().to_lowercase()
}

/// An OAuth client: a row of the particle profile's client table.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Client {
    pub id: String,
    pub secret: String,
    pub name: String,
    /// `installed` or `web`.
    #[serde(rename = "type")]
    pub kind: String,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    /// The user who created it; `client_credentials` grants act as this user.
    pub owner: Option<String>,
}

impl Client {
    /// A built-in client, with no owner.
    pub fn builtin(id: &str, secret: &str) -> Self {
        Client {
            id: id.to_string(),
            secret: secret.to_string(),
            name: id.to_string(),
            kind: "installed".to_string(),
            redirect_uri: None,
            scope: None,
            owner: None,
        }
    }
}

/// The pairs today's clients send, so they work against the particle profile out of the box.
pub fn builtin_clients(build_client_id: &str) -> Vec<Client> {
    vec![
        Client::builtin("particle", "particle"),
        Client::builtin("particle-api", "particle-api"),
        Client::builtin("CLI2", "client_secret_here"),
        Client::builtin("user", "client_secret_here"),
        Client::builtin("spark", "spark"),
        Client::builtin(build_client_id, build_client_id),
    ]
}

/// `n` lowercase hex characters from the thread RNG (ids, not secrets).
pub fn random_hex(n: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|_| char::from_digit(rng.gen_range(0..16), 16).unwrap_or('0'))
        .collect()
}

/// A client id from a display name: the slug plus `-` and four digits ("MyApp" → "myapp-2146").
pub fn client_id_for(name: &str) -> String {
    let mut slug: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    slug = slug.trim_matches('-').to_string();
    slug.truncate(30);
    if slug.len() < 3 {
        slug = format!("client{slug}");
    }
    format!("{slug}-{}", rand::thread_rng().gen_range(1000..10000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_slugs_that_pass_the_oauth_pattern() {
        let id = client_id_for("My App!");
        assert!(id.starts_with("my-app-"), "{id}");
        assert!(id.len() <= 40);
        let id = client_id_for("x");
        assert!(id.starts_with("clientx-"), "{id}");
    }

    #[test]
    fn usernames_fold_case() {
        assert_eq!(normalize_username(" User@Example.COM "), "user@example.com");
    }
}
