//! The TOML seed file: users, their tokens and OAuth clients that exist at start.
//!
//! ```toml
//! [[users]]
//! username = "demo@example.com"
//! password = "demo-password"
//!
//! [[users.tokens]]              # optional: a token scripts can hard-code
//! token = "0123456789abcdef0123456789abcdef01234567"
//! client = "spark"
//! expires_in = 0                # 0 = never expires; default 90 days
//!
//! [[clients]]
//! id = "my-app"
//! secret = "my-secret"
//! owner = "demo@example.com"    # client_credentials grants act as this user
//! ```

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::clock;
use crate::config::Config;
use crate::domain::db::Db;
use crate::domain::password::PasswordHash;
use crate::domain::token::{GrantKind, TokenRecord};
use crate::domain::users::{Client, User};

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("cannot read seed file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("seed file {path}: {message}")]
    Parse { path: String, message: String },
    #[error("seed: {0}")]
    Invalid(String),
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Seed {
    #[serde(default)]
    pub users: Vec<SeedUser>,
    #[serde(default)]
    pub clients: Vec<SeedClient>,
    /// Devices registered at start and again by every reset (`/__mock/reset` returns to the
    /// seed): the demo's built-in cores. Given in code, not read from seed files, and kept
    /// when the file is reloaded.
    #[serde(skip)]
    pub devices: Vec<SeedDevice>,
}

/// A device the seed registers: its key, and optionally its owner and name.
#[derive(Clone, Debug)]
pub struct SeedDevice {
    /// 24 hex characters.
    pub id: String,
    pub public_key_pem: String,
    pub owner: Option<String>,
    pub name: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedUser {
    pub username: String,
    pub password: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    #[serde(default)]
    pub tokens: Vec<SeedToken>,
    /// Turns on MFA (particle profile): the one-time password the OTP grant accepts.
    #[serde(default)]
    pub mfa_otp: Option<String>,
    /// Single-use codes for the recovery-code grant (needs `mfa_otp`).
    #[serde(default)]
    pub mfa_recovery_codes: Vec<String>,
    /// Given in code (the demo user), not by the seed file: kept when the file is reloaded.
    #[serde(skip)]
    pub builtin: bool,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedToken {
    pub token: Option<String>,
    #[serde(default = "default_client")]
    pub client: String,
    /// Seconds; 0 means never. Defaults to the server's token lifetime.
    pub expires_in: Option<i64>,
}

fn default_client() -> String {
    "spark".to_string()
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedClient {
    pub id: String,
    pub secret: String,
    pub name: Option<String>,
    #[serde(rename = "type", default = "default_kind")]
    pub kind: String,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub owner: Option<String>,
}

fn default_kind() -> String {
    "installed".to_string()
}

impl Seed {
    pub fn from_file(path: &Path) -> Result<Seed, SeedError> {
        let text = std::fs::read_to_string(path).map_err(|source| SeedError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Seed::parse(&text).map_err(|message| SeedError::Parse {
            path: path.display().to_string(),
            message,
        })
    }

    pub fn parse(text: &str) -> Result<Seed, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// Adds the seed's users, tokens and clients to a fresh `db`. A user or token declared
    /// twice is an error.
    pub fn apply(&self, db: &mut Db, config: &Config, now: DateTime<Utc>) -> Result<(), SeedError> {
        let mut seen = std::collections::HashSet::new();
        for u in &self.users {
            let name = crate::domain::users::normalize_username(&u.username);
            if !seen.insert(name.clone()) {
                return Err(SeedError::Invalid(format!("user {name} is declared twice")));
            }
        }
        self.merge(db, config, now).map(|_| ())
    }

    /// Adds what the seed declares and `db` lacks (users, fixed tokens, clients) and sets
    /// the passwords of users it names. Returns how many users were added.
    pub fn merge(
        &self,
        db: &mut Db,
        config: &Config,
        now: DateTime<Utc>,
    ) -> Result<usize, SeedError> {
        for c in &self.clients {
            db.insert_client(Client {
                id: c.id.clone(),
                secret: c.secret.clone(),
                name: c.name.clone().unwrap_or_else(|| c.id.clone()),
                kind: c.kind.clone(),
                redirect_uri: c.redirect_uri.clone(),
                scope: c.scope.clone(),
                owner: c.owner.clone(),
            });
        }
        let mut added = 0;
        for u in &self.users {
            let hash = PasswordHash::new(&u.password, config.password_iterations);
            let username = crate::domain::users::normalize_username(&u.username);
            let is_new = match db.user_mut(&username) {
                Some(existing) => {
                    existing.password = hash;
                    false
                }
                None => {
                    let mut user = User::new(&username, hash, now);
                    user.first_name = u.first_name.clone();
                    user.mfa = u.mfa_otp.clone().map(|otp| crate::domain::users::Mfa {
                        otp,
                        recovery_codes: u.mfa_recovery_codes.clone(),
                    });
                    user.last_name = u.last_name.clone();
                    db.add_user(user);
                    added += 1;
                    true
                }
            };
            add_tokens(db, config, now, u, &username, is_new)?;
        }
        Ok(added)
    }
}

/// Adds the tokens `u` declares that `db` lacks. A token without a value is generated, and
/// only for a user just added (`is_new`), not on every reload.
fn add_tokens(
    db: &mut Db,
    config: &Config,
    now: DateTime<Utc>,
    u: &SeedUser,
    username: &str,
    is_new: bool,
) -> Result<(), SeedError> {
    for t in &u.tokens {
        let token = match &t.token {
            Some(tok) if is_token(tok) => tok.clone(),
            Some(tok) => {
                return Err(SeedError::Invalid(format!(
                    "token `{tok}` of {username} is not 40 lowercase hex characters"
                )))
            }
            // A generated token is minted only with its user, not on every reload.
            None if is_new => crate::domain::token::generate_token(),
            None => continue,
        };
        if db.token(&token).is_some() {
            if is_new {
                return Err(SeedError::Invalid(format!(
                    "token {token} is declared twice"
                )));
            }
            continue;
        }
        let secs = t.expires_in.unwrap_or(config.token_lifetime_secs);
        let expires_at = if secs > 0 {
            let at = clock::secs(secs).and_then(|d| clock::after(now, d));
            Some(at.map_err(|_| {
                SeedError::Invalid(format!("expires_in of token {token} is too large: {secs}"))
            })?)
        } else {
            None
        };
        db.insert(TokenRecord::new(
            token,
            username.to_string(),
            t.client.clone(),
            GrantKind::Seed,
            config.policy,
            now,
            expires_at,
        ));
    }
    Ok(())
}

fn is_token(s: &str) -> bool {
    s.len() == 40
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_users_tokens_and_clients() {
        let seed = Seed::parse(
            r#"
            [[users]]
            username = "Demo@Example.com"
            password = "pw"
            [[users.tokens]]
            token = "0123456789abcdef0123456789abcdef01234567"
            expires_in = 0
            [[clients]]
            id = "my-app"
            secret = "s"
            owner = "demo@example.com"
            "#,
        )
        .unwrap();
        let mut db = Db::default();
        let config = Config {
            password_iterations: 1,
            ..Config::default()
        };
        seed.apply(&mut db, &config, Utc::now()).unwrap();
        assert!(db.user("demo@example.com").unwrap().password.verify("pw"));
        let t = db
            .token("0123456789abcdef0123456789abcdef01234567")
            .unwrap();
        assert_eq!(t.expires_at, None);
        assert_eq!(t.client_id, "spark");
        assert_eq!(
            db.clients()["my-app"].owner.as_deref(),
            Some("demo@example.com")
        );
    }

    #[test]
    fn unknown_keys_and_bad_tokens_are_clear_errors() {
        let err = Seed::parse("[[users]]\nusername='a'\npassword='b'\ncolour='red'\n").unwrap_err();
        assert!(err.contains("colour"), "{err}");
        let seed =
            Seed::parse("[[users]]\nusername='a'\npassword='b'\n[[users.tokens]]\ntoken='xyz'\n")
                .unwrap();
        let err = seed
            .apply(&mut Db::default(), &Config::default(), Utc::now())
            .unwrap_err();
        assert!(err.to_string().contains("40 lowercase hex"), "{err}");
        // An expiry no time can hold is an error, not a panic at start-up.
        let seed = Seed::parse(&format!(
            "[[users]]\nusername='a'\npassword='b'\n[[users.tokens]]\n\
             token='0123456789abcdef0123456789abcdef01234567'\nexpires_in={}\n",
            i64::MAX
        ))
        .unwrap();
        let err = seed
            .apply(&mut Db::default(), &Config::default(), Utc::now())
            .unwrap_err();
        assert!(err.to_string().contains("expires_in"), "{err}");
    }
}
