//! `/__mock/tokens…` (token histories) and `/__mock/users/:email/…` (Reset Token, MFA).

use serde_json::json;

use super::admin::{array, op, user_path};
use super::schemas::{exact, r, string, time, with};
use super::Paths;
use crate::config::Profile;

pub fn paths(profile: Profile, paths: &mut Paths) {
    let history = with(
        &["token", "user", "client", "status", "issued", "story"],
        json!({"token": string(), "user": string(), "client": string(), "story": array()}),
    );
    paths.add(
        "get",
        "/__mock/tokens",
        op(profile, "Every token's history, oldest first")
            .query("user", "Only this user's tokens", string())
            .json(
                200,
                "The histories",
                exact(
                    &["now", "tokens"],
                    json!({
                        "now": time(), "tokens": {"type": "array", "items": history.clone()},
                    }),
                ),
            ),
    );
    paths.add(
        "get",
        "/__mock/tokens/{token}",
        op(profile, "One token's history")
            .path("token", "The token")
            .json(200, "Its history", history)
            .json(404, "Unknown token", r("ApiError")),
    );
    paths.add(
        "post",
        "/__mock/users/{username}/reset-token",
        user_path(op(profile, "Reset Token, as the Build page's button")).json(
            200,
            "The new token",
            exact(
                &["access_token", "expires_at", "invalidated"],
                json!({
                    "access_token": string(), "expires_at": {"type": ["string", "null"]},
                    "invalidated": array(),
                }),
            ),
        ),
    );
    let mfa = exact(
        &["ok", "mfa", "invalidated"],
        json!({
            "ok": {"const": true},
            "mfa": exact(&["enabled"], json!({"enabled": {"type": "boolean"}})),
            "invalidated": array(),
        }),
    );
    paths.add(
        "put",
        "/__mock/users/{username}/mfa",
        user_path(op(
            profile,
            "Turn multi-factor login on (or off with otp null)",
        ))
        .reads_body()
        .form_or_json(json!({"type": "object", "properties": {
            "otp": {"type": ["string", "null"]},
            "recovery_codes": {"type": "array", "items": string()},
            "invalidate_tokens": {"type": "boolean"},
        }}))
        .json(200, "Done", mfa.clone())
        .json(400, "A bad otp or recovery_codes", r("ApiError")),
    );
    paths.add(
        "delete",
        "/__mock/users/{username}/mfa",
        user_path(op(profile, "Turn multi-factor login off")).json(200, "Done", mfa),
    );
}
