//! `/v1/access_tokens…`: list (HTTP Basic), revoke one, all, or the one in use.

use serde_json::json;

use super::op::{Auth, Op};
use super::schemas::{exact, r, string, time_or_null};
use super::Paths;
use crate::config::Profile;

pub fn paths(profile: Profile, paths: &mut Paths) {
    let listed = exact(
        &["token", "expires_at", "client"],
        json!({"token": string(), "expires_at": time_or_null(), "client": string()}),
    );
    paths.add(
        "get",
        "/v1/access_tokens",
        Op::new("access_tokens", "List the user's valid tokens")
            .auth(profile, Auth::Basic)
            .json(200, "The tokens", json!({"type": "array", "items": listed}))
            .json(
                401,
                "No Basic credentials, or a bad password",
                r("ApiErrors"),
            ),
    );
    paths.add(
        "delete",
        "/v1/access_tokens",
        Op::new("access_tokens", "Revoke all of the user's tokens")
            .auth(profile, Auth::Bearer)
            .json(200, "Revoked", r("Ok")),
    );
    let current = exact(
        &["expires_at", "client", "client_id", "scopes", "orgs"],
        json!({
            "expires_at": time_or_null(), "client": string(), "client_id": string(),
            "scopes": {"type": "array", "items": string()},
            "orgs": {"type": "array", "maxItems": 0},
        }),
    );
    paths.add(
        "get",
        "/v1/access_tokens/current",
        Op::new("access_tokens", "Describe the token in use")
            .auth(profile, Auth::Bearer)
            .json(200, "The token", current),
    );
    paths.add(
        "delete",
        "/v1/access_tokens/current",
        Op::new("access_tokens", "Revoke the token in use (log out)")
            .auth(profile, Auth::Bearer)
            .json(200, "Revoked", r("Ok")),
    );
    let revoke = Op::new("access_tokens", "Revoke one token").path("token", "The token to revoke");
    let revoke = match profile {
        Profile::Spark2014 => revoke
            .auth(profile, Auth::Basic)
            .json(200, "Revoked, or no such token", r("Ok"))
            .json(
                401,
                "No Basic credentials, or a bad password",
                r("ApiErrors"),
            )
            .json(403, "The token belongs to another user", r("ApiErrors")),
        Profile::Particle => revoke.auth(profile, Auth::None).reads_body().json(
            200,
            "Revoked, or no such token",
            r("Ok"),
        ),
    };
    paths.add("delete", "/v1/access_tokens/{token}", revoke);
}
