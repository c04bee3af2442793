//! `POST /oauth/token`: the token endpoint, form-encoded only, with each era's grants.

use serde_json::json;

use super::op::{Auth, Op};
use super::schemas::{r, string};
use super::Paths;
use crate::config::Profile;

pub fn paths(profile: Profile, paths: &mut Paths) {
    let grants = match profile {
        Profile::Spark2014 => "`password` only",
        Profile::Particle => {
            "`password`, `refresh_token`, `client_credentials`, `urn:custom:mfa-otp`, \
             `urn:custom:recovery-code`"
        }
    };
    let cache = match profile {
        Profile::Spark2014 => "no-cache",
        Profile::Particle => "no-store",
    };
    let mut op = Op::new("oauth", "Create an access token")
        .describe(&format!(
            "Grants: {grants}. Client credentials by HTTP Basic (tried first) or \
             `client_id`/`client_secret` fields. Any other method, or a body that is not \
             form-encoded, is `400 invalid_request` \"Method must be POST with \
             application/x-www-form-urlencoded encoding\" (the route answers every method)."
        ))
        .auth(profile, Auth::None)
        .reads_body()
        .body(
            &["application/x-www-form-urlencoded"],
            json!({"type": "object", "properties": {
                "grant_type": string(), "username": string(), "password": string(),
                "client_id": string(), "client_secret": string(),
                "expires_in": string(), "expires_at": string(), "scope": string(),
                "refresh_token": string(), "mfa_token": string(), "otp": string(),
                "recovery_code": string(),
            }}),
        )
        .json(200, "The token", r("Token"))
        .header(200, "Cache-Control", json!({"const": cache}))
        .header(200, "Pragma", json!({"const": "no-cache"}))
        .json(
            400,
            "invalid_request, invalid_client or invalid_grant",
            r("OAuthError"),
        )
        .json(400, "A parameter that is not text", r("ApiError"))
        .json(
            429,
            "rate_limit_exceeded (only with `--rate-limits`)",
            r("OAuthError"),
        );
    if profile == Profile::Particle {
        op = op.json(403, "mfa_required, with an `mfa_token`", r("OAuthError"));
    }
    paths.add("post", "/oauth/token", op);
}
