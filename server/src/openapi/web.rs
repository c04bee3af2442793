//! The pages for people: the console (`/`, `/console` and its assets) and the Build IDE
//! (`/build…`, server-rendered HTML forms with a session cookie and CSRF), plus the Build
//! site's two JSON calls. Described by media type: HTML is not a JSON shape.

use serde_json::{json, Value};

use super::op::{Auth, Op};
use super::schemas::{exact, string};
use super::Paths;
use crate::config::Profile;

const HTML: &str = "text/html";

fn page(profile: Profile, summary: &str) -> Op {
    Op::new("web", summary).auth(profile, Auth::None)
}

fn asset(profile: Profile, paths: &mut Paths, path: &str, media: &str) {
    paths.add(
        "get",
        path,
        page(profile, "A static asset of the pages").media(200, "The file", media, string()),
    );
}

fn form(fields: &[&str]) -> Value {
    let props: serde_json::Map<String, Value> =
        fields.iter().map(|f| (f.to_string(), string())).collect();
    json!({"type": "object", "properties": props})
}

fn error() -> Value {
    exact(&["error"], json!({"error": string()}))
}

fn build_api(profile: Profile, paths: &mut Paths) {
    paths.add(
        "post",
        "/build/api/sign_in",
        page(
            profile,
            "The Build site's sign-in (a session token, not a cloud token)",
        )
        .reads_body()
        .form_or_json(form(&["username", "password"]))
        .json(
            200,
            "Signed in",
            exact(
                &["username", "auth_token"],
                json!({
                    "username": string(),
                    "auth_token": exact(&["token", "expires_at"], json!({
                        "token": {"type": "string", "minLength": 20, "maxLength": 20},
                        "expires_at": string(),
                    })),
                }),
            ),
        )
        .json(400, "Missing username or password.", error())
        .json(401, "Invalid email or password.", error()),
    );
    paths.add(
        "get",
        "/build/api/access_token",
        page(profile, "The cloud token the Build Settings page shows")
            .describe("`Authorization: Bearer <auth_token>` from sign_in (a session, not a cloud token).")
            .reads_body()
            .json(200, "The token", exact(&["access_token", "access_token_expires_at"], json!({
                "access_token": string(), "access_token_expires_at": {"type": ["string", "null"]},
            })))
            .json(401, "No session, or it expired", error())
            .json(404, "No access token.", error()),
    );
}

pub fn paths(profile: Profile, paths: &mut Paths) {
    for path in ["/", "/console"] {
        paths.add(
            "get",
            path,
            page(profile, "The console").media(200, "The page", HTML, string()),
        );
    }
    asset(profile, paths, "/console/timeline.js", "text/javascript");
    asset(profile, paths, "/console/dashboard.js", "text/javascript");
    asset(profile, paths, "/console/dashboard.css", "text/css");
    asset(profile, paths, "/build/build.css", "text/css");
    for path in ["/build", "/build/login"] {
        paths.add(
            "get",
            path,
            page(profile, "The Build login form")
                .media(200, "The form (or the signed-out notice)", HTML, string())
                .empty(303, "Signed in already: to /build/settings"),
        );
    }
    paths.add(
        "post",
        "/build/login",
        page(profile, "Log in to Build (never changes the token)")
            .reads_body()
            .body(
                &["application/x-www-form-urlencoded"],
                form(&["username", "password", "csrf"]),
            )
            .empty(
                303,
                "Signed in: to /build/settings, with the session cookie",
            )
            .media(400, "Missing fields: the form again", HTML, string())
            .media(401, "Incorrect email or password.", HTML, string())
            .media(
                403,
                "A CSRF failure or a cross-site request",
                HTML,
                string(),
            ),
    );
    paths.add(
        "get",
        "/build/settings",
        page(
            profile,
            "Build Settings: the token, its expiry, Reset Token",
        )
        .media(200, "The page", HTML, string())
        .media(401, "Signed out or expired: the login page", HTML, string()),
    );
    paths.add(
        "post",
        "/build/settings/reset",
        page(profile, "Reset Token")
            .reads_body()
            .body(&["application/x-www-form-urlencoded"], form(&["csrf"]))
            .empty(303, "Reset: to /build/settings?reset=done")
            .media(401, "Signed out or expired", HTML, string())
            .media(403, "A CSRF failure", HTML, string()),
    );
    paths.add(
        "post",
        "/build/logout",
        page(profile, "Log out of Build")
            .reads_body()
            .body(&["application/x-www-form-urlencoded"], form(&["csrf"]))
            .empty(303, "To /build, cookie cleared")
            .media(403, "A CSRF failure", HTML, string()),
    );
    build_api(profile, paths);
}
