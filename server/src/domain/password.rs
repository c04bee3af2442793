//! Salted password hashes. Only hashes are ever stored; the cost is a parameter so tests
//! can make it cheap while the default stays honest.

use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use base64::Engine;
use rand::RngCore;
use sha2::Sha256;

const SCHEME: &str = "pbkdf2-sha256";

/// A stored password: `pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>`.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct PasswordHash(String);

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(..)")
    }
}

impl PasswordHash {
    /// Hashes `password` with a fresh 16-byte salt from the OS CSPRNG.
    pub fn new(password: &str, iterations: u32) -> Self {
        let iterations = iterations.max(1);
        let mut salt = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        let hash = derive(password, &salt, iterations);
        PasswordHash(format!(
            "{SCHEME}${iterations}${}${}",
            B64.encode(salt),
            B64.encode(hash)
        ))
    }

    /// Checks `password` in constant time against the stored hash. A malformed stored
    /// hash never matches.
    pub fn verify(&self, password: &str) -> bool {
        let mut parts = self.0.split('$');
        let (Some(SCHEME), Some(iter), Some(salt), Some(hash), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return false;
        };
        let (Ok(iterations), Ok(salt), Ok(expected)) =
            (iter.parse::<u32>(), B64.decode(salt), B64.decode(hash))
        else {
            return false;
        };
        let got = derive(password, &salt, iterations.max(1));
        constant_time_eq(&got, &expected)
    }
}

fn derive(password: &str, salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, iterations, &mut out);
    out
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn right_password_matches_and_wrong_does_not() {
        let h = PasswordHash::new("secret", 10);
        assert!(h.verify("secret"));
        assert!(!h.verify("Secret"));
        assert!(!h.verify(""));
    }

    #[test]
    fn same_password_gets_different_salts() {
        let a = PasswordHash::new("secret", 10);
        let b = PasswordHash::new("secret", 10);
        assert_ne!(a, b);
        assert!(!format!("{a:?}").contains("secret"));
    }

    #[test]
    fn malformed_hash_never_matches() {
        assert!(!PasswordHash("garbage".into()).verify("garbage"));
        assert!(!PasswordHash("pbkdf2-sha256$x$y$z".into()).verify("x"));
    }
}
