//! `/v1/users`, `/v1/user` and `/v1/clients`.

use serde_json::{json, Value};

use super::op::{Auth, Op};
use super::schemas::{exact, r, string};
use super::Paths;
use crate::config::Profile;

fn user() -> Value {
    exact(
        &[
            "username",
            "subscription_ids",
            "account_info",
            "scim_provisioned",
            "no_password",
            "mfa",
            "wifi_device_count",
            "cellular_device_count",
        ],
        json!({
            "username": string(),
            "subscription_ids": {"type": "array", "maxItems": 0},
            "account_info": exact(&["first_name", "last_name", "business_account"], json!({
                "first_name": {"type": ["string", "null"]},
                "last_name": {"type": ["string", "null"]},
                "business_account": {"type": "boolean"},
            })),
            "scim_provisioned": {"const": false},
            "no_password": {"const": false},
            "mfa": exact(&["enabled"], json!({"enabled": {"type": "boolean"}})),
            "wifi_device_count": {"type": "integer"},
            "cellular_device_count": {"type": "integer"},
        }),
    )
}

fn fields(names: &[&str]) -> Value {
    let props: serde_json::Map<String, Value> =
        names.iter().map(|n| (n.to_string(), string())).collect();
    json!({"type": "object", "properties": props})
}

fn users(profile: Profile, paths: &mut Paths) {
    let signup = Op::new("users", "Sign up")
        .auth(profile, Auth::None)
        .reads_body()
        .form_or_json(fields(&["username", "password"]));
    let signup = match profile {
        Profile::Spark2014 => signup.json(200, "Signed up", r("Ok")).json(
            200,
            "Refused, still 200 as in 2014",
            r("ApiErrors"),
        ),
        Profile::Particle => signup.json(200, "Signed up", r("Ok")).json(
            400,
            "Missing fields, or the username is taken",
            r("ApiError"),
        ),
    };
    paths.add("post", "/v1/users", signup);
    paths.add(
        "get",
        "/v1/user",
        Op::new("users", "The caller's account")
            .auth(profile, Auth::Bearer)
            .json(200, "The account", user()),
    );
    paths.add(
        "put",
        "/v1/user",
        Op::new("users", "Change password, username or account info")
            .auth(profile, Auth::Bearer)
            .form_or_json(fields(&[
                "password",
                "current_password",
                "username",
                "invalidate_tokens",
            ]))
            .json(200, "Updated", r("OkMessage"))
            .json(
                400,
                "Wrong current password, or the username is taken",
                r("ApiError"),
            ),
    );
    paths.add(
        "delete",
        "/v1/user",
        Op::new("users", "Delete the caller's account")
            .auth(profile, Auth::Bearer)
            .form_or_json(fields(&["password"]))
            .json(200, "Deleted", r("OkMessage"))
            .json(400, "Password is incorrect", r("ApiError")),
    );
    if profile == Profile::Particle {
        paths.add(
            "post",
            "/v1/user/password-reset",
            Op::new("users", "Ask for a password reset email (none is sent)")
                .auth(profile, Auth::None)
                .reads_body()
                .form_or_json(fields(&["username"]))
                .json(200, "Always, known user or not", r("OkMessage"))
                .json(400, "username is required", r("ApiError")),
        );
    }
}

fn clients(profile: Profile, paths: &mut Paths) {
    let client = |secret: bool| {
        let mut keys = vec!["name", "type", "id"];
        if secret {
            keys.push("secret");
        }
        exact(
            &keys,
            json!({"name": string(), "type": {"enum": ["installed", "web"]},
                   "id": string(), "secret": string()}),
        )
    };
    let one = exact(
        &["ok", "client"],
        json!({"ok": {"const": true}, "client": client(true)}),
    );
    paths.add(
        "get",
        "/v1/clients",
        Op::new("clients", "The user's OAuth clients")
            .auth(profile, Auth::Bearer)
            .json(
                200,
                "The clients",
                exact(
                    &["ok", "clients"],
                    json!({
                        "ok": {"const": true},
                        "clients": {"type": "array", "items": client(false)},
                    }),
                ),
            ),
    );
    paths.add(
        "post",
        "/v1/clients",
        Op::new(
            "clients",
            "Create an OAuth client (the secret is shown once)",
        )
        .auth(profile, Auth::Bearer)
        .form_or_json(fields(&["name", "type", "redirect_uri", "scope"]))
        .json(200, "Created", one.clone())
        .json(400, "A missing or bad field", r("ApiError")),
    );
    paths.add(
        "put",
        "/v1/clients/{id}",
        Op::new("clients", "Rename a client or change its scope")
            .auth(profile, Auth::Bearer)
            .path("id", "The client id")
            .form_or_json(fields(&["name", "scope"]))
            .json(200, "Updated", one)
            .json(404, "Client not found", r("ApiError")),
    );
    paths.add(
        "delete",
        "/v1/clients/{id}",
        Op::new("clients", "Delete a client")
            .auth(profile, Auth::Bearer)
            .path("id", "The client id")
            .empty(204, "Deleted")
            .json(404, "Client not found", r("ApiError")),
    );
}

pub fn paths(profile: Profile, paths: &mut Paths) {
    users(profile, paths);
    if profile == Profile::Particle {
        clients(profile, paths);
    }
}
