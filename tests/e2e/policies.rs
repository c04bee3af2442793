//! The token policies (single, per-client, multi) in both profiles: which grants create,
//! reuse or invalidate tokens, with the Build IDE's client (`spark-build`) as the exception
//! (cloud-api.md §1 "Token-invalidation semantics", §8; server/src/domain/policy.rs).

use crate::common;

use common::helpers::*;
use reqwest::Method;
use spark_mock_server::{PolicyKind, Profile};

const BUILD: (&str, &str) = ("spark-build", "spark-build");
const SPARK: (&str, &str) = ("spark", "spark");
const CLI: (&str, &str) = ("CLI2", "client_secret_here");
const PARTICLE: (&str, &str) = ("particle", "particle");

async fn app(profile: Profile, policy: PolicyKind) -> TestApp {
    spawn_with_user(spark_mock_server::Config {
        policy,
        ..config(profile)
    })
    .await
}

async fn login(app: &TestApp, (id, secret): (&str, &str)) -> String {
    app.login(id, secret).await
}

async fn reason(app: &TestApp, token: &str) -> String {
    let h = app.history(token).await;
    h["invalidated"]["reason"]
        .as_str()
        .unwrap_or("(still valid)")
        .to_string()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test]
async fn single_every_grant_but_builds_replaces_the_token() {
    for profile in PROFILES {
        let app = app(profile, PolicyKind::Single).await;
        let t1 = login(&app, SPARK).await;
        let t2 = login(&app, CLI).await;
        assert!(!app.works(&t1).await && app.works(&t2).await, "{profile}");
        assert!(reason(&app, &t1)
            .await
            .starts_with("replaced by a password grant from client CLI2 at "));
        // The same client logging in again also replaces its own token.
        let t3 = login(&app, CLI).await;
        assert_eq!(app.valid_tokens(USER).await, vec![t3.clone()], "{profile}");

        // Build hands back the current token unchanged, as often as it logs in.
        for _ in 0..2 {
            assert_eq!(
                login(&app, BUILD).await,
                t3,
                "{profile}: Build rotated the token"
            );
        }
        assert!(app.works(&t3).await);
        assert_eq!(
            app.tokens_of(USER).await.len(),
            3,
            "{profile}: Build created a token"
        );

        // With no valid token, Build creates one; other clients then replace it too.
        let r = app
            .send(
                app.req(Method::DELETE, "/v1/access_tokens")
                    .bearer_auth(&t3),
            )
            .await;
        assert_eq!(r.status, 200);
        let b = login(&app, BUILD).await;
        assert!(![&t1, &t2, &t3].contains(&&b), "{profile}");
        assert_eq!(app.history(&b).await["client"], "spark-build");
        assert_eq!(login(&app, BUILD).await, b);
        let t4 = login(&app, PARTICLE).await;
        assert_eq!(app.valid_tokens(USER).await, vec![t4.clone()], "{profile}");

        // An expired token is no current token either.
        let short = app.login_with(CLI.0, CLI.1, &[("expires_in", "60")]).await;
        app.advance_clock(61).await;
        let b2 = login(&app, BUILD).await;
        assert_ne!(b2, short);
        assert_eq!(app.valid_tokens(USER).await, [b2], "{profile}");
    }
}

#[tokio::test]
async fn per_client_keeps_one_token_per_client() {
    for profile in PROFILES {
        let app = app(profile, PolicyKind::PerClient).await;
        let a1 = login(&app, SPARK).await;
        let c1 = login(&app, CLI).await;
        let a2 = login(&app, SPARK).await;
        assert!(
            !app.works(&a1).await,
            "{profile}: spark's first token survived"
        );
        assert!(app.works(&c1).await && app.works(&a2).await, "{profile}");
        assert!(reason(&app, &a1)
            .await
            .starts_with("replaced by a password grant from client spark at "));
        assert_eq!(
            sorted(app.valid_tokens(USER).await),
            sorted(vec![c1.clone(), a2.clone()])
        );

        // Build has no token of its own yet: it gets a new one and kills nothing.
        let b = login(&app, BUILD).await;
        assert!(![&a1, &c1, &a2].contains(&&b));
        assert_eq!(
            login(&app, BUILD).await,
            b,
            "{profile}: Build rotated its token"
        );
        assert_eq!(
            sorted(app.valid_tokens(USER).await),
            sorted(vec![c1.clone(), a2.clone(), b.clone()])
        );

        // Another spark login still touches only spark's token.
        let a3 = login(&app, SPARK).await;
        assert!(!app.works(&a2).await);
        assert_eq!(
            sorted(app.valid_tokens(USER).await),
            sorted(vec![c1, b, a3]),
            "{profile}"
        );
    }
}

#[tokio::test]
async fn multi_tokens_accumulate_and_build_sees_the_newest() {
    for profile in PROFILES {
        let app = app(profile, PolicyKind::Multi).await;
        let a1 = login(&app, SPARK).await;
        let c1 = login(&app, CLI).await;
        let a2 = login(&app, SPARK).await;
        let c2 = login(&app, CLI).await;
        for t in [&a1, &c1, &a2, &c2] {
            assert!(app.works(t).await, "{profile}: a multi token died");
        }
        // Build shows "the single most recently created token" and creates none.
        assert_eq!(login(&app, BUILD).await, c2, "{profile}");
        assert_eq!(app.tokens_of(USER).await.len(), 4);
        for t in app.tokens_of(USER).await {
            assert_eq!(t["invalidated"], serde_json::Value::Null, "{profile}");
        }
        // With nothing valid, Build creates a token.
        let r = app
            .send(
                app.req(Method::DELETE, "/v1/access_tokens")
                    .bearer_auth(&a1),
            )
            .await;
        assert_eq!(r.status, 200);
        let b = login(&app, BUILD).await;
        assert!(![&a1, &c1, &a2, &c2].contains(&&b));
        assert_eq!(app.valid_tokens(USER).await, [b], "{profile}");
    }
}

#[tokio::test]
async fn the_default_policy_follows_the_profile() {
    // spark-2014 starts as `single` (the forum thread), particle as `multi`.
    let app = spawn_with_user(config(Profile::Spark2014)).await;
    let t = login(&app, SPARK).await;
    login(&app, CLI).await;
    assert!(!app.works(&t).await);
    assert_eq!(app.get_json("/__mock/policy").await["policy"], "single");
    let app = spawn_with_user(config(Profile::Particle)).await;
    let t = login(&app, PARTICLE).await;
    login(&app, CLI).await;
    assert!(app.works(&t).await);
    assert_eq!(app.get_json("/__mock/policy").await["policy"], "multi");
}

// Server handlers run on two worker threads, so the grants really race.
