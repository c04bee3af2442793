//! OAuth clients (cloud-api.md §3): CRUD in particle, absent in spark-2014, and a
//! client_credentials grant acting as the client's owner.

use crate::common;

use common::helpers::*;
use reqwest::Method;
use serde_json::json;
use spark_mock_server::Profile;

#[tokio::test]
async fn spark_2014_has_no_clients_routes() {
    let app = spawn_with_user(config(Profile::Spark2014)).await;
    let t = app.login("spark", "spark").await;
    for (method, path) in [
        (Method::GET, "/v1/clients"),
        (Method::POST, "/v1/clients"),
        (Method::PUT, "/v1/clients/x-1234"),
        (Method::DELETE, "/v1/clients/x-1234"),
    ] {
        let r = app
            .send(
                app.req(method, path)
                    .bearer_auth(&t)
                    .json(&json!({"name": "a", "type": "installed"})),
            )
            .await;
        assert_eq!(
            (r.status, &r.json),
            (404, &json!({"ok": false, "error": "Not Found"})),
            "{path}"
        );
    }
}

#[tokio::test]
async fn particle_client_crud_and_client_credentials() {
    let app = spawn_with_user(config(Profile::Particle)).await;
    let t = app.login("particle", "particle").await;
    let r = app
        .send(
            app.req(Method::POST, "/v1/clients")
                .bearer_auth(&t)
                .json(&json!({"name": "MyApp", "type": "installed"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["ok"], true);
    let c = &r.json["client"];
    assert_eq!(
        c.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["name", "type", "id", "secret"]
    );
    let (id, secret) = (
        c["id"].as_str().unwrap().to_string(),
        c["secret"].as_str().unwrap().to_string(),
    );
    assert!(id.starts_with("myapp-") && is_token(&secret), "{c}");
    assert_eq!(
        (&c["name"], &c["type"]),
        (&json!("MyApp"), &json!("installed"))
    );

    // Listed without the secret; form bodies work too.
    let r = app
        .send(app.req(Method::POST, "/v1/clients").bearer_auth(&t).form(&[
            ("name", "Site"),
            ("type", "web"),
            ("redirect_uri", "https://example.com/cb"),
        ]))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = app.get_bearer("/v1/clients", &t).await;
    assert_eq!(r.json["ok"], true);
    let clients = r.json["clients"].as_array().unwrap();
    assert_eq!(
        clients.len(),
        2,
        "built-in clients have no owner and are not listed"
    );
    assert!(clients.contains(&json!({"name": "MyApp", "type": "installed", "id": id})));

    // client_credentials: a token for the client's owner.
    let r = app
        .grant(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
        ])
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let owner_token = r.json["access_token"].as_str().unwrap();
    assert_eq!(
        app.get_bearer("/v1/user", owner_token).await.json["username"],
        USER
    );
    let h = app.history(owner_token).await;
    assert_eq!(
        (&h["issued"]["grant"], &h["client"]),
        (&json!("client_credentials"), &json!(id))
    );
    // A wrong secret for a table client.
    let r = app
        .grant(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", "nope"),
        ])
        .await;
    assert_oauth_error(
        &r,
        Profile::Particle,
        400,
        "invalid_client",
        "Client credentials are invalid",
    );

    // Rename; the secret stays.
    let r = app
        .send(
            app.req(Method::PUT, &format!("/v1/clients/{id}"))
                .bearer_auth(&t)
                .json(&json!({"name": "MyApp 2"})),
        )
        .await;
    assert_eq!(
        r.json,
        json!({"ok": true, "client": {"name": "MyApp 2", "type": "installed", "id": id, "secret": secret}})
    );

    // Delete: 204, then the client can no longer get tokens.
    let r = app
        .send(
            app.req(Method::DELETE, &format!("/v1/clients/{id}"))
                .bearer_auth(&t),
        )
        .await;
    assert_eq!((r.status, r.text.as_str()), (204, ""));
    let r = app
        .grant(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
        ])
        .await;
    assert_oauth_error(
        &r,
        Profile::Particle,
        400,
        "invalid_client",
        "Client credentials are invalid",
    );
    let r = app
        .send(
            app.req(Method::DELETE, &format!("/v1/clients/{id}"))
                .bearer_auth(&t),
        )
        .await;
    expect(&r, 404, json!({"ok": false, "error": "Client not found"}));
}

#[tokio::test]
async fn particle_client_validation_and_ownership() {
    let app = spawn_with_user(config(Profile::Particle)).await;
    app.signup("other@example.com", "pw2").await;
    let t = app.login("particle", "particle").await;
    let create = |body: serde_json::Value| {
        app.send(
            app.req(Method::POST, "/v1/clients")
                .bearer_auth(&t)
                .json(&body),
        )
    };
    for (body, error) in [
        (json!({"type": "installed"}), "name is required"),
        (json!({"name": "A"}), "type is required"),
        (
            json!({"name": "A", "type": "creator"}),
            "type must be installed or web",
        ),
        (
            json!({"name": "A", "type": "web"}),
            "redirect_uri is required for web clients",
        ),
    ] {
        let r = create(body).await;
        expect(&r, 400, json!({"ok": false, "error": error}));
    }
    let id = create(json!({"name": "Mine", "type": "installed"}))
        .await
        .json["client"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Another user can neither see, change nor delete it.
    let theirs = app
        .login_user("other@example.com", "pw2", "particle", "particle")
        .await;
    assert_eq!(
        app.get_bearer("/v1/clients", &theirs).await.json,
        json!({"ok": true, "clients": []})
    );
    for method in [Method::PUT, Method::DELETE] {
        let r = app
            .send(
                app.req(method, &format!("/v1/clients/{id}"))
                    .bearer_auth(&theirs)
                    .json(&json!({"name": "x"})),
            )
            .await;
        expect(&r, 404, json!({"ok": false, "error": "Client not found"}));
    }
    // Without a token: the bearer error.
    let r = app.send(app.req(Method::GET, "/v1/clients")).await;
    assert_oauth_error(
        &r,
        Profile::Particle,
        400,
        "invalid_request",
        "The access token was not found",
    );
}
