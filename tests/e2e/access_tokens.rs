//! Access-token management (cloud-api.md §2): listing with Basic, revoking one token (Basic
//! in spark-2014, no auth in particle), revoking all, and `/v1/access_tokens/current`.

use crate::common;

use common::helpers::*;
use reqwest::Method;
use serde_json::{json, Value};
use spark_mock_server::{Config, PolicyKind, Profile};

fn multi(profile: Profile) -> Config {
    Config {
        policy: PolicyKind::Multi,
        ..config(profile)
    }
}

const NO_BASIC_LIST: &str =
    "Unauthorized. You must send username and password in HTTP Basic Auth to view your access tokens.";
const NO_BASIC_DELETE: &str =
    "Unauthorized. You must send username and password in HTTP Basic Auth to delete an access token.";

#[tokio::test]
async fn list_with_basic_email_and_password() {
    for profile in PROFILES {
        let app = spawn_with_user(multi(profile)).await;
        app.set_clock("2030-06-01T00:00:00Z").await;
        let a = app
            .login_with("spark", "spark", &[("expires_in", "3600")])
            .await;
        let b = app
            .login_with("CLI2", "client_secret_here", &[("expires_in", "0")])
            .await;
        let list_as = |user: &'static str, pw: &'static str| {
            app.send(
                app.req(Method::GET, "/v1/access_tokens")
                    .basic_auth(user, Some(pw)),
            )
        };
        let r = list_as(USER, PASSWORD).await;
        assert_eq!(r.status, 200, "{profile}: {}", r.text);
        let list = r.json.as_array().expect("an array");
        assert_eq!(list.len(), 2);
        let entry = |t: &str| {
            list.iter()
                .find(|e| e["token"] == t)
                .cloned()
                .expect("listed")
        };
        let ea = entry(&a);
        let keys: Vec<&String> = ea.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["token", "expires_at", "client"]);
        assert_eq!(ea["client"], "spark");
        let at = ea["expires_at"].as_str().unwrap();
        assert!(
            at.starts_with("2030-06-01T01:00:0") && at.ends_with('Z') && at.len() == 24,
            "{at}"
        );
        assert_eq!(
            entry(&b),
            json!({"token": b, "expires_at": null, "client": "CLI2"})
        );

        let r = app.send(app.req(Method::GET, "/v1/access_tokens")).await;
        expect(&r, 401, json!({"ok": false, "errors": [NO_BASIC_LIST]}));
        // A bearer token is not Basic.
        let r = app.get_bearer("/v1/access_tokens", &a).await;
        expect(&r, 401, json!({"ok": false, "errors": [NO_BASIC_LIST]}));
        for (user, pw) in [(USER, "wrong"), ("nobody@example.com", PASSWORD)] {
            let r = list_as(user, pw).await;
            expect(&r, 401, json!({"ok": false, "errors": ["Bad password"]}));
        }
    }
}

#[tokio::test]
async fn spark_2014_revokes_one_token_only_with_basic() {
    let app = spawn_with_user(multi(Profile::Spark2014)).await;
    app.signup("other@example.com", "pw2").await;
    let t = app.login("spark", "spark").await;
    let path = format!("/v1/access_tokens/{t}");
    let delete_as = |user: &'static str, pw: &'static str| {
        app.send(app.req(Method::DELETE, &path).basic_auth(user, Some(pw)))
    };
    let r = app.send(app.req(Method::DELETE, &path)).await;
    expect(&r, 401, json!({"ok": false, "errors": [NO_BASIC_DELETE]}));
    let r = delete_as(USER, "wrong").await;
    expect(&r, 401, json!({"ok": false, "errors": ["Bad password"]}));
    // Someone else's Basic does not revoke my token, and says so rather than `{ok:true}`.
    let r = delete_as("other@example.com", "pw2").await;
    expect(
        &r,
        403,
        json!({"ok": false, "errors": ["Permission Denied: the access token belongs to another user"]}),
    );
    assert!(app.works(&t).await);
    // spark-cli sent Basic plus its current token in the form body.
    let keep = app.login("spark", "spark").await;
    let rb = app
        .req(Method::DELETE, &path)
        .basic_auth(USER, Some(PASSWORD))
        .form(&[("access_token", keep.as_str())]);
    expect(&app.send(rb).await, 200, json!({"ok": true}));
    let r = app.get_bearer("/v1/user", &t).await;
    assert_bad_token(&r, Profile::Spark2014, TOKEN_INVALID);
    assert!(app.works(&keep).await);
    // An unknown token is fine too.
    let unknown = format!("/v1/access_tokens/{}", "a".repeat(40));
    let rb = app
        .req(Method::DELETE, &unknown)
        .basic_auth(USER, Some(PASSWORD));
    expect(&app.send(rb).await, 200, json!({"ok": true}));
}

#[tokio::test]
async fn particle_revokes_one_token_with_no_auth() {
    let app = spawn_with_user(multi(Profile::Particle)).await;
    let t = app.login("particle", "particle").await;
    let other = app.login("particle", "particle").await;
    // particle-cli `token revoke` / particle-api-js `deleteAccessToken`: no Authorization.
    let r = app
        .send(app.req(Method::DELETE, &format!("/v1/access_tokens/{t}")))
        .await;
    expect(&r, 200, json!({"ok": true}));
    let r = app.get_bearer("/v1/user", &t).await;
    assert_bad_token(&r, Profile::Particle, TOKEN_INVALID);
    assert!(app.works(&other).await);
    let r = app
        .send(app.req(Method::DELETE, "/v1/access_tokens/deadbeef"))
        .await;
    expect(&r, 200, json!({"ok": true}));
}

#[tokio::test]
async fn revoke_all_and_the_current_token() {
    for profile in PROFILES {
        let app = spawn_with_user(multi(profile)).await;
        app.signup("other@example.com", "pw2").await;
        let theirs = app
            .login_user("other@example.com", "pw2", "particle", "particle")
            .await;
        let scope = [("scope", "devices:list events:get")];
        let a = app.login_with("particle", "particle", &scope).await;
        let b = app.login("CLI2", "client_secret_here").await;
        let c = app.login("spark", "spark").await;

        let r = app.get_bearer("/v1/access_tokens/current", &a).await;
        assert_eq!(r.status, 200);
        let Value::Object(cur) = &r.json else {
            panic!("{}", r.text)
        };
        let keys: Vec<&String> = cur.keys().collect();
        assert_eq!(
            keys,
            ["expires_at", "client", "client_id", "scopes", "orgs"]
        );
        assert_eq!(
            (&cur["client"], &cur["client_id"]),
            (&json!("particle"), &json!("particle"))
        );
        assert_eq!(cur["scopes"], json!(["devices:list", "events:get"]));
        assert_eq!(cur["orgs"], json!([]));
        assert!(cur["expires_at"].as_str().unwrap().ends_with('Z'));

        // Log out: only the token in use dies.
        let rb = app
            .req(Method::DELETE, "/v1/access_tokens/current")
            .bearer_auth(&a);
        expect(&app.send(rb).await, 200, json!({"ok": true}));
        let r = app.get_bearer("/v1/access_tokens/current", &a).await;
        assert_bad_token(&r, profile, TOKEN_INVALID);
        assert!(app.works(&b).await && app.works(&c).await);

        // DELETE /v1/access_tokens: every token of the caller, nobody else's.
        let rb = app.req(Method::DELETE, "/v1/access_tokens").bearer_auth(&b);
        expect(&app.send(rb).await, 200, json!({"ok": true}));
        assert!(!app.works(&b).await && !app.works(&c).await, "{profile}");
        assert!(
            app.works(&theirs).await,
            "{profile}: another user's token was revoked"
        );
        let h = app.history(&c).await;
        let why = h["invalidated"]["reason"].as_str().unwrap();
        assert!(
            why.starts_with("revoked by DELETE /v1/access_tokens at "),
            "{why}"
        );
    }
}
