//! Conformance with a client nobody here wrote: particle-cli 3.43.1 (installed from the npm
//! registry into target/clients) against spark-mock in both profiles, each command checked
//! by its exact output and exit code (client-dialects.md §2.4-2.6). Each CLI identity has
//! its own HOME; every run is bounded and killed after 60 s.
//!
//! Needs Node 20 and npm; `SPARK_MOCK_SKIP_CLIENTS=1` skips (CI never sets it).

use crate::common;

use std::time::{Duration, Instant};

use common::clients::{
    self, Cli, Clients, Cloud, DORMANT_ID, MFA_OTP, MFA_USER, SEED_TOKEN, SIM1_ID, SPARE_ID,
};
use common::helpers::*;
use common::receiver::{Answer, Receiver};
use serde_json::{json, Value};
use spark_mock_server::{PolicyKind, Profile};

/// What particle-cli prints after the hidden password prompt of `token create`.
const PROMPT_DONE: &str = "Please enter your password: [hidden]";
const PLEASE_LOGIN: &str = "\n! Please login - it appears your access token may have expired\n\n";
const TOKEN_INVALID_TEXT: &str = "The access token provided is invalid.";

/// The installed clients and a cloud, or `None` when the suite is skipped.
async fn setup(
    test: &str,
    profile: Profile,
    policy: Option<PolicyKind>,
) -> Option<(Clients, Cloud)> {
    let c = clients::clients(test).await?;
    Some((c, clients::cloud(profile, policy).await))
}

/// How `list` names a stock Core: particle-cli names the type after `product_id`, which
/// the 2014 list does not have.
fn device_type(profile: Profile) -> &'static str {
    match profile {
        Profile::Spark2014 => "Product undefined",
        Profile::Particle => "Core",
    }
}

async fn logged_in(c: &Clients, cloud: &Cloud, label: &str) -> Cli {
    let cli = Cli::new(c, label, &cloud.app.base);
    cli.particle(&["login", "-u", USER, "-p", PASSWORD])
        .await
        .expect_ok("> Successfully completed login!\n");
    cli
}

/// Waits until `GET /__mock/state` lists an event stream on `route`.
async fn wait_for_stream(app: &TestApp, route: &str, sub: &mut clients::Running) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let state = app.get_json("/__mock/state").await;
        let open = state["subscriptions"]
            .as_array()
            .expect("subscriptions")
            .iter()
            .any(|s| s["route"] == route && s["user"] == USER);
        if open {
            return;
        }
        assert!(
            sub.is_running(),
            "the subscriber exited before its stream opened"
        );
        assert!(
            Instant::now() < deadline,
            "no stream on {route} after 30 s: {}",
            state["subscriptions"]
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------------------------------
// Login, whoami, list, call, get, publish/subscribe, nyan, rename, claim/remove, logout.

async fn session_devices_and_events(profile: Profile) {
    let test = format!("session_devices_and_events({profile})");
    let Some((c, cloud)) = setup(&test, profile, None).await else {
        return;
    };
    let app = &cloud.app;
    // Pointing the CLI at the mock, as a user does.
    let cli = Cli::blank(&c, "main");
    cli.particle(&["config", "set", "apiUrl", &app.base])
        .await
        .expect_ok("");
    assert_eq!(cli.config(), json!({"apiUrl": app.base}));

    // A wrong password, then the right one.
    cli.particle(&["login", "-u", USER, "-p", "wrong"])
        .await
        .expect(
        1,
        "! There was an error logging you in! \nIt seems we're having trouble with logging in.\n",
        "! User credentials are invalid\n",
    );
    cli.particle(&["login", "-u", USER, "-p", PASSWORD])
        .await
        .expect_ok("> Successfully completed login!\n");
    let token = cli.token();
    let h = app.history(&token).await;
    assert_eq!(
        (&h["status"], &h["issued"]["client"], &h["issued"]["grant"]),
        (&json!("valid"), &json!("CLI2"), &json!("password"))
    );
    assert_eq!(cli.config()["username"], USER);

    cli.particle(&["whoami"])
        .await
        .expect_ok("> user@example.com\n");

    // The list: the offline device first (newest handshake), then sim1 online with its
    // Describe. particle-cli fetches the detail only for connected devices, and the 2014
    // list entry has no variables or functions of its own.
    let ty = device_type(profile);
    let dormant_detail = match profile {
        Profile::Spark2014 => "",
        Profile::Particle => {
            "  Variables:\n    temp (int32)\n  Functions:\n    int led (String args) \n"
        }
    };
    cli.particle(&["list"]).await.expect_ok(&format!(
        "dormant [{DORMANT_ID}] ({ty}) is offline\n{dormant_detail}\
         sim1 [{SIM1_ID}] ({ty}) is online\n  Variables:\n    door (bool)\n    humidity (double)\n    \
         status (string)\n    temp (int32)\n  Functions:\n    int led (String args) \n"
    ));

    // Calls with their return value, and a variable of each type printed raw.
    cli.particle(&["call", "sim1", "led", "on"])
        .await
        .expect_ok("1\n");
    cli.particle(&["call", "sim1", "led", "off"])
        .await
        .expect_ok("0\n");
    for (var, printed) in [
        ("temp", "42\n"),
        ("humidity", "51.5\n"),
        ("door", "true\n"),
        ("status", "ok\n"),
    ] {
        cli.particle(&["get", "sim1", var]).await.expect_ok(printed);
    }

    // Subscribe, wait until the server holds the stream, publish: the event arrives.
    let mut sub = cli.spawn(&["subscribe", "--max", "1", "temp"]);
    wait_for_stream(app, "/v1/devices/events/temp", &mut sub).await;
    cli.particle(&["publish", "temp", "1"])
        .await
        .expect_ok("Published private event: temp\n\n");
    let out = tokio::task::spawn_blocking(move || sub.wait())
        .await
        .expect("subscriber");
    let lines: Vec<&str> = out.stdout.split('\n').collect();
    assert_eq!(lines.len(), 5, "{out:?}");
    let event: Value = serde_json::from_str(lines[3]).expect("one event as JSON");
    let published_at = event["published_at"].as_str().expect("published_at");
    assert!(
        published_at.len() == 24 && published_at.ends_with('Z'),
        "{published_at}"
    );
    let (ttl, coreid) = match profile {
        Profile::Spark2014 => {
            let id = app
                .state
                .db_read(|db| db.user(USER).map(|u| u.id.clone()))
                .expect("user");
            (json!("60"), id)
        }
        Profile::Particle => (json!(60), "api".to_string()),
    };
    let line = json!({"data": "1", "ttl": ttl, "published_at": published_at, "coreid": coreid, "name": "temp"});
    out.expect(
        0,
        &format!(
            "Subscribing to \"temp\" from my devices\nThis command will exit after receiving 1 \
             event(s)...\n\n{line}\n1 event(s) received. Exiting..."
        ),
        "",
    );

    // nyan: the device starts and stops signaling; the CLI prints nothing.
    let signaling = || app.state.devices().get(SIM1_ID).map(|d| d.signaling);
    cli.particle(&["nyan", "sim1"]).await.expect_ok("");
    assert_eq!(signaling(), Some(true));
    cli.particle(&["nyan", "sim1", "off"]).await.expect_ok("");
    assert_eq!(signaling(), Some(false));

    // Rename, use the new name, rename back.
    cli.particle(&["device", "rename", "sim1", "sim2"])
        .await
        .expect_ok("Renaming device sim1\nSuccessfully renamed device sim1 to: sim2\n");
    cli.particle(&["get", "sim2", "temp"])
        .await
        .expect_ok("42\n");
    cli.particle(&["device", "rename", "sim2", "sim1"])
        .await
        .expect_ok("Renaming device sim2\nSuccessfully renamed device sim2 to: sim1\n");

    // Claim the spare device, find it by name, release it.
    let owner = || app.state.devices().get(SPARE_ID).and_then(|d| d.owner);
    assert_eq!(owner(), None);
    cli.particle(&["device", "add", SPARE_ID])
        .await
        .expect_ok(&format!(
            "Claiming device {SPARE_ID}\nSuccessfully claimed device {SPARE_ID}\n"
        ));
    assert_eq!(owner().as_deref(), Some(USER));
    cli.particle(&["list", "spare"])
        .await
        .expect_ok(&format!("spare [{SPARE_ID}] ({ty}) is online\n"));
    cli.particle(&["device", "remove", "spare", "--yes"])
        .await
        .expect_ok("releasing device spare\nOkay!\n");
    assert_eq!(owner(), None);
    cli.particle(&["device", "remove", SPARE_ID, "--yes"])
        .await
        .expect(
            1,
            &format!("releasing device {SPARE_ID}\nDidn't remove the device: Permission Denied\n"),
            "",
        );

    // Log out: the token is revoked and the CLI forgets it.
    cli.particle(&["logout"])
        .await
        .expect_ok("> You have been logged out from user@example.com\n");
    let h = app.history(&token).await;
    assert_eq!(h["status"], "invalidated");
    let death = h["death"].as_str().expect("death");
    assert!(
        death.starts_with("revoked by DELETE /v1/access_tokens/current at "),
        "{death}"
    );
    assert_eq!(cli.config()["access_token"], Value::Null);
    cli.particle(&["whoami"]).await.expect(
        1,
        "You're not logged in. Please login using particle login before using this command\n",
        "",
    );
}

#[tokio::test]
async fn particle_session_devices_and_events() {
    session_devices_and_events(Profile::Particle).await;
}

#[tokio::test]
async fn spark_2014_session_devices_and_events() {
    session_devices_and_events(Profile::Spark2014).await;
}

// ---------------------------------------------------------------------------------------
// Error cases: unknown function, unknown variable, offline device, invalid token.

async fn error_cases(profile: Profile) {
    let test = format!("error_cases({profile})");
    let Some((c, cloud)) = setup(&test, profile, None).await else {
        return;
    };
    let app = &cloud.app;
    let base = &app.base;
    let cli = logged_in(&c, &cloud, "errors").await;

    // Unknown function: 404 in both profiles; the CLI names the function itself.
    cli.particle(&["call", "sim1", "nofn", "x"]).await.expect(
        1,
        &format!(
            "Function call failed: Function `nofn` not found: HTTP error 404 from \
             {base}/v1/devices/sim1/nofn\n"
        ),
        "",
    );
    // Unknown variable: 404 {"ok":false,"error":"Variable not found"}.
    cli.particle(&["get", "sim1", "novar"]).await.expect(
        1,
        "Error: Variable not found\nError while reading value: Some variables could not be read\n",
        "",
    );
    // The offline device: 408 {"error":"Timed out."} in spark-2014 (the CLI shows only the
    // status), 400 {"ok":false,"error":"Timed out."} in particle (it shows the text).
    let offline_call = match profile {
        Profile::Spark2014 => format!(
            "Error calling function: `led`: HTTP error 408 from \
             {base}/v1/devices/dormant/led\n"
        ),
        Profile::Particle => "Error calling function: `led`: Timed out.\n".to_string(),
    };
    cli.particle(&["call", "dormant", "led", "on"])
        .await
        .expect(1, &offline_call, "");
    cli.particle(&["get", "dormant", "temp"]).await.expect(
        1,
        "Error: Timed out.\nError while reading value: Some variables could not be read\n",
        "",
    );

    // An invalid token (a well-formed one the cloud never issued) stored in another HOME.
    // particle answers 401 invalid_token, which every CLI path recognises. spark-2014 answers
    // 400 invalid_grant, which the CLI's legacy paths (whoami, list, get) do not look for:
    // whoami even reports the stored username and exits 0.
    let stale = Cli::with_stored_token(
        &c,
        "invalid-token",
        base,
        "0123456789abcdef0123456789abcdef01234567",
    );
    // The commands built on the bundled particle-api-js (call, publish, subscribe) take a
    // 400 or a 401 and show its error_description, in both profiles.
    let refused = |what: &str| format!("{what}: {TOKEN_INVALID_TEXT}\n");
    match profile {
        Profile::Particle => {
            stale.particle(&["whoami"]).await.expect(
                1,
                &format!("{PLEASE_LOGIN}Failed to find username! Try: `particle login`\n"),
                "",
            );
            stale.particle(&["list"]).await.expect(
                1,
                &format!("{PLEASE_LOGIN}Failed to list device: Invalid token\n"),
                "",
            );
            stale.particle(&["get", "sim1", "temp"]).await.expect(
                1,
                &format!("{PLEASE_LOGIN}Error while reading value: Invalid token\n"),
                "",
            );
        }
        Profile::Spark2014 => {
            stale
                .particle(&["whoami"])
                .await
                .expect_ok("> user@example.com\n");
            stale.particle(&["list"]).await.expect(
                1,
                "Failed to list device: invalid_grant\n",
                "listDevices got error:  invalid_grant\n",
            );
            stale.particle(&["get", "sim1", "temp"]).await.expect(
                1,
                "Error: invalid_grant\nError while reading value: Some variables could not be read\n",
                "",
            );
        }
    }
    stale.particle(&["call", "sim1", "led", "on"]).await.expect(
        1,
        &refused("Error calling function: `led`"),
        "",
    );
    stale.particle(&["publish", "temp", "1"]).await.expect(
        1,
        &refused("Error publishing event"),
        "",
    );
    stale
        .particle(&["subscribe", "--max", "1", "temp"])
        .await
        .expect(
            1,
            &format!(
                "Subscribing to \"temp\" from my devices\nThis command will exit after receiving \
                 1 event(s)...\n{}",
                refused("Error fetching event stream")
            ),
            "",
        );
}

// ---------------------------------------------------------------------------------------
// Multi-factor login: `particle login --otp` answers the mfa_required challenge.

async fn mfa_login(profile: Profile) {
    let test = format!("mfa_login({profile})");
    let Some((c, cloud)) = setup(&test, profile, None).await else {
        return;
    };
    let app = &cloud.app;
    let cli = Cli::new(&c, "mfa", &app.base);
    if profile == Profile::Spark2014 {
        // 2014 had no second factor: the password alone logs in.
        cli.particle(&["login", "-u", MFA_USER, "-p", PASSWORD])
            .await
            .expect_ok("> Successfully completed login!\n");
        return;
    }
    let prompt = "Use your authenticator app on your mobile device to get a login code.\n\
                  Lost access to your phone? Visit https://login.particle.io/account-info\n";
    cli.particle(&["login", "-u", MFA_USER, "-p", PASSWORD, "--otp", "000000"])
        .await
        .expect(
            1,
            &format!(
                "{prompt}! This login code didn't work. \n\
                 ! There was an error logging you in! \n\
                 It seems we're having trouble with logging in.\n"
            ),
            "! Invalid otp\n! Recover your account at https://login.particle.io/account-info\n",
        );
    cli.particle(&["login", "-u", MFA_USER, "-p", PASSWORD, "--otp", MFA_OTP])
        .await
        .expect_ok(&format!("{prompt}> Successfully completed login!\n"));
    let token = cli.token();
    assert_eq!(
        app.history(&token).await["issued"]["grant"],
        "urn:custom:mfa-otp"
    );
    cli.particle(&["whoami"])
        .await
        .expect_ok("> mfa@example.com\n");
}

#[tokio::test]
async fn particle_mfa_login() {
    mfa_login(Profile::Particle).await;
}

#[tokio::test]
async fn spark_2014_mfa_login() {
    mfa_login(Profile::Spark2014).await;
}

#[tokio::test]
async fn particle_error_cases() {
    error_cases(Profile::Particle).await;
}

#[tokio::test]
async fn spark_2014_error_cases() {
    error_cases(Profile::Spark2014).await;
}

// ---------------------------------------------------------------------------------------
// token create (--expires-in, --never-expires), token revoke, logout.

/// `token create`, the password typed on stdin; returns the new token after checking the
/// output's last lines exactly.
async fn token_create(cli: &Cli, app: &TestApp, args: &[&str]) -> (String, Value) {
    let mut all = vec!["token", "create"];
    all.extend_from_slice(args);
    let out = cli
        .particle_stdin(&all, Some(&format!("{PASSWORD}\n")))
        .await;
    assert_eq!((out.code, out.stderr.as_str()), (Some(0), ""), "{out:?}");
    assert!(
        out.stdout.starts_with("? Using account user@example.com\n"),
        "{out:?}"
    );
    let lines: Vec<&str> = out.stdout.trim_end_matches('\n').split('\n').collect();
    assert!(lines.len() >= 3 && out.stdout.ends_with('\n'), "{out:?}");
    let tail = &lines[lines.len() - 3..];
    let token = tail[2].trim_start().to_string();
    assert!(is_token(&token), "{out:?}");
    let h = app.history(&token).await;
    assert_eq!(
        (&h["status"], &h["issued"]["client"], &h["issued"]["grant"]),
        (&json!("valid"), &json!("user"), &json!("password")),
        "{h}"
    );
    let expiry = match h["expires_at"].as_str() {
        None => "New access token never expires".to_string(),
        Some(at) => {
            // The CLI prints its own clock plus expires_in, a moment after the grant.
            let at = iso_secs(at);
            let printed = tail[1];
            (0..=2)
                .map(|d| format!("New access token expires on {}", js_date(at + d)))
                .find(|want| want == printed)
                .unwrap_or_else(|| panic!("{printed:?}: expected the expiry {at} (+0..2 s)"))
        }
    };
    assert_eq!(
        tail,
        [PROMPT_DONE, expiry.as_str(), &format!("    {token}")],
        "{out:?}"
    );
    (token, h)
}

async fn tokens(profile: Profile) {
    let test = format!("tokens({profile})");
    let Some((c, cloud)) = setup(&test, profile, None).await else {
        return;
    };
    let app = &cloud.app;
    let cli = logged_in(&c, &cloud, "tokens").await;
    let login = cli.token();

    let (hour, h) = token_create(&cli, app, &["--expires-in", "3600"]).await;
    let issued = iso_secs(h["issued"]["at"].as_str().expect("issued"));
    let expires = iso_secs(h["expires_at"].as_str().expect("expires_at"));
    assert_eq!(expires - issued, 3600);

    match profile {
        Profile::Particle => {
            // Tokens accumulate: the CLI's own login still works.
            cli.particle(&["whoami"])
                .await
                .expect_ok("> user@example.com\n");
            let (forever, h) = token_create(&cli, app, &["--never-expires"]).await;
            assert_eq!(h["expires_at"], Value::Null);
            // Revoke needs no auth: the token in the path is its own proof.
            cli.particle(&["token", "revoke", &hour])
                .await
                .expect_ok("Successfully revoked all provided tokens\n");
            let h = app.history(&hour).await;
            assert_eq!(h["status"], "invalidated");
            let death = h["death"].as_str().expect("death");
            let route = format!("revoked by DELETE /v1/access_tokens/{}… at ", &hour[..8]);
            assert!(death.starts_with(&route), "{death}");
            assert!(app.works(&forever).await);
            // The CLI refuses to revoke its own token without --force, and exits 0.
            cli.particle(&["token", "revoke", &login])
                .await
                .expect_ok(&format!(
                    "WARNING: {login} is this CLI's access token\nuse --force to delete it\n"
                ));
            assert!(app.works(&login).await);
        }
        Profile::Spark2014 => {
            // One token per user: `token create` (client "user") replaced the CLI's login,
            // exactly the 2014 story. The CLI finds out on its next call.
            let h = app.history(&login).await;
            let death = h["death"].as_str().expect("death");
            assert!(
                death.starts_with("replaced by a password grant from client user at "),
                "{death}"
            );
            assert_eq!(h["invalidated"]["replaced_by"], json!(hour));
            cli.particle(&["list"]).await.expect(
                1,
                "Failed to list device: invalid_grant\n",
                "listDevices got error:  invalid_grant\n",
            );
            let again = logged_in(&c, &cloud, "tokens-again").await;
            let (forever, h) = token_create(&again, app, &["--never-expires"]).await;
            assert_eq!(h["expires_at"], Value::Null);
            // DELETE /v1/access_tokens/:token wants HTTP Basic in 2014, and the CLI sends no
            // auth at all: the revoke fails, the CLI says why on stderr, and still exits 0.
            again.particle(&["token", "revoke", &forever]).await.expect(
                0,
                "",
                &format!(
                    "Failed to revoke the following access tokens:\n  token: {forever}; reason: \
                     HTTP error 401 from {}/v1/access_tokens/{forever}\n",
                    app.base
                ),
            );
            assert!(app.works(&forever).await);
        }
    }

    // Log out with a fresh login: DELETE /v1/access_tokens/current.
    let last = logged_in(&c, &cloud, "logout").await;
    let token = last.token();
    last.particle(&["logout"])
        .await
        .expect_ok("> You have been logged out from user@example.com\n");
    assert!(!app.works(&token).await);
    assert_eq!(last.config()["access_token"], Value::Null);
}

#[tokio::test]
async fn particle_tokens() {
    tokens(Profile::Particle).await;
}

#[tokio::test]
async fn spark_2014_tokens() {
    tokens(Profile::Spark2014).await;
}

// ---------------------------------------------------------------------------------------
// The seed story: under `single`, a login from one HOME invalidates the token of another.

async fn single_policy_story(profile: Profile) {
    let test = format!("single_policy_story({profile})");
    let Some((c, cloud)) = setup(&test, profile, Some(PolicyKind::Single)).await else {
        return;
    };
    let app = &cloud.app;
    let base = &app.base;

    // HOME 0 uses the token from the seed file.
    let seeded = Cli::new(&c, "seeded", base);
    seeded
        .particle(&["login", "--token", SEED_TOKEN])
        .await
        .expect_ok("> Successfully completed login!\n");
    seeded
        .particle(&["whoami"])
        .await
        .expect_ok("> user@example.com\n");

    // HOME 1 logs in with the password: the seeded token is gone. HOME 2 does the same: the
    // token HOME 1 stored is gone too.
    let first = logged_in(&c, &cloud, "first").await;
    let first_token = first.token();
    let refused_list = |out: clients::Output| match profile {
        Profile::Particle => out.expect(
            1,
            &format!("{PLEASE_LOGIN}Failed to list device: Invalid token\n"),
            "",
        ),
        Profile::Spark2014 => out.expect(
            1,
            "Failed to list device: invalid_grant\n",
            "listDevices got error:  invalid_grant\n",
        ),
    };
    refused_list(seeded.particle(&["list"]).await);
    let second = logged_in(&c, &cloud, "second").await;
    let second_token = second.token();
    refused_list(first.particle(&["list"]).await);
    // The latest login works.
    let out = second.particle(&["list"]).await;
    assert_eq!(out.code, Some(0), "{out:?}");
    assert!(out.stdout.contains("sim1 ["), "{out:?}");

    // /__mock/tokens says why each was refused, and where.
    for (token, replaced_by) in [(SEED_TOKEN, &first_token), (&first_token, &second_token)] {
        let h = app.history(token).await;
        assert_eq!(h["status"], "invalidated", "{h}");
        let death = h["death"].as_str().expect("death").to_string();
        let at = h["invalidated"]["at"].as_str().expect("at");
        assert_eq!(
            death,
            format!("replaced by a password grant from client CLI2 at {at}")
        );
        assert_eq!(h["invalidated"]["replaced_by"], json!(replaced_by));
        assert_eq!(h["rejected_count"], 1, "{h}");
        let refused = &h["rejected_uses"][0];
        assert_eq!(
            (
                &refused["route"],
                &refused["reason"],
                &refused["remote_addr"]
            ),
            (
                &json!("GET /v1/devices"),
                &json!(death),
                &json!("127.0.0.1")
            ),
            "{h}"
        );
        let story = h["story"].as_array().expect("story");
        let last = story.last().and_then(Value::as_str).expect("a story line");
        let tail = format!("refused on GET /v1/devices from 127.0.0.1: {death}");
        assert!(last.ends_with(&tail), "{last}");
    }
    assert!(app.works(&second_token).await);
}

#[tokio::test]
async fn particle_single_policy_story() {
    single_policy_story(Profile::Particle).await;
}

#[tokio::test]
async fn spark_2014_single_policy_story() {
    single_policy_story(Profile::Spark2014).await;
}

// ---------------------------------------------------------------------------------------
// Webhooks (particle): create from arguments and from a JSON file, list, a publish that
// reaches a local receiver with the answer arriving on `particle subscribe`, delete.

/// What `webhook create` prints before the answer: the request options it logs (Node's
/// `util.inspect`), with `fields` the lines of its JSON body.
fn sending(fields: &[String]) -> String {
    format!(
        "Sending webhook request  {{\n  uri: '/v1/webhooks',\n  method: 'POST',\n  json: {{\n    \
         {}\n  }}\n}}\n",
        fields.join(",\n    ")
    )
}

#[tokio::test]
async fn particle_webhooks() {
    let Some((c, cloud)) = setup("particle_webhooks", Profile::Particle, None).await else {
        return;
    };
    let app = &cloud.app;
    let cli = logged_in(&c, &cloud, "webhooks").await;
    let mut target = Receiver::start().await;
    target.answer(Answer::Reply(200, "noted".into()));
    let url = target.url("/hook");
    let ids = || -> Vec<String> {
        app.state
            .webhooks()
            .list(USER)
            .into_iter()
            .map(|h| h.id)
            .collect()
    };

    let out = cli.particle(&["webhook", "create", "temp", &url]).await;
    let first = ids().first().cloned().expect("a webhook");
    out.expect_ok(&format!(
        "{}Successfully created webhook with ID {first}\n",
        sending(&[
            "event: 'temp'".into(),
            format!("url: '{url}'"),
            "deviceid: undefined".into(),
            "requestType: undefined".into(),
        ])
    ));

    // From a file: a PUT with a JSON template, no default fields, its own response topic.
    let file = cli.home.join("hook.json");
    let settings = json!({"event": "sensor", "url": target.url("/sensor"), "requestType": "PUT",
        "json": {"value": "{{{PARTICLE_EVENT_VALUE}}}"}, "noDefaults": true,
        "responseTopic": "reply/{{PARTICLE_EVENT_NAME}}"});
    std::fs::write(&file, settings.to_string()).expect("hook.json");
    let file = file.to_string_lossy().to_string();
    let out = cli.particle(&["webhook", "create", &file]).await;
    let second = ids().get(1).cloned().expect("a second webhook");
    out.expect_ok(&format!(
        "Using settings from the file {file}\n{}Successfully created webhook with ID {second}\n",
        sending(&[
            "event: 'sensor'".into(),
            format!("url: '{}'", target.url("/sensor")),
            "deviceid: undefined".into(),
            "requestType: 'PUT'".into(),
            "json: { value: '{{{PARTICLE_EVENT_VALUE}}}' }".into(),
            "noDefaults: true".into(),
            "responseTopic: 'reply/{{PARTICLE_EVENT_NAME}}'".into(),
        ])
    ));

    let created: Vec<String> = app
        .state
        .webhooks()
        .list(USER)
        .iter()
        .map(|h| spark_mock_server::clock::iso_millis(h.created_at))
        .collect();
    cli.particle(&["webhook", "list"]).await.expect_ok(&format!(
        "Found 2 hooks registered\n\n    1.) Hook ID {first} is watching for \"temp\"\n        \
         and sending to: {url}\n        created at {}\n\n    2.) Hook ID {second} is watching \
         for \"sensor\"\n        and sending to: {}\n        created at {}\n\n",
        created[0],
        target.url("/sensor"),
        created[1]
    ));

    // A publish reaches the receiver; the answer arrives on `particle subscribe`.
    let mut sub = cli.spawn(&["subscribe", "--max", "1", "hook-response/temp"]);
    // The CLI encodes the slash of the prefix.
    wait_for_stream(app, "/v1/devices/events/hook-response%2Ftemp", &mut sub).await;
    cli.particle(&["publish", "temperature", "21.5"])
        .await
        .expect_ok("Published private event: temperature\n\n");
    let got = target.next().await;
    assert_eq!((got.method.as_str(), got.uri.as_str()), ("POST", "/hook"));
    assert!(
        got.body
            .starts_with("event=temperature&data=21.5&published_at="),
        "{got:?}"
    );
    let out = tokio::task::spawn_blocking(move || sub.wait())
        .await
        .expect("subscriber");
    let lines: Vec<&str> = out.stdout.split('\n').collect();
    assert_eq!(lines.len(), 5, "{out:?}");
    let event: Value = serde_json::from_str(lines[3]).expect("one event as JSON");
    let published_at = event["published_at"].as_str().expect("published_at");
    let line = json!({"data": "noted", "ttl": 60, "published_at": published_at,
        "coreid": "particle-internal", "name": "hook-response/temperature/0"});
    out.expect(
        0,
        &format!(
            "Subscribing to \"hook-response/temp\" from my devices\nThis command will exit after \
             receiving 1 event(s)...\n\n{line}\n1 event(s) received. Exiting..."
        ),
        "",
    );
    let journal = app.get_json("/__mock/requests").await;
    let delivery = journal["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .find(|e| e["kind"] == "webhook")
        .cloned()
        .expect("the delivery in the journal");
    assert_eq!(
        (&delivery["webhook"], &delivery["status"], &delivery["path"]),
        (&json!(first), &json!(200), &json!(url))
    );

    // The file's webhook: a PUT of the rendered JSON alone, answered under its own topic.
    cli.particle(&["publish", "sensor", "on"])
        .await
        .expect_ok("Published private event: sensor\n\n");
    let got = target.next().await;
    assert_eq!(
        (got.method.as_str(), got.uri.as_str(), got.body.as_str()),
        ("PUT", "/sensor", r#"{"value":"on"}"#)
    );

    for id in [&first, &second] {
        cli.particle(&["webhook", "delete", id])
            .await
            .expect_ok("Successfully deleted webhook!\n");
    }
    cli.particle(&["webhook", "delete", &first]).await.expect(
        1,
        "Error deleting webhook: no webhook found\n",
        "",
    );
    cli.particle(&["webhook", "list"])
        .await
        .expect_ok("Found 0 hooks registered\n\n");
}

/// spark-2014 had no webhooks: every route is a 404 `{"ok":false,"error":"Not Found"}`,
/// which the CLI reports as it can (`webhook list` takes the error body for the list and
/// prints `Found undefined hooks registered`).
#[tokio::test]
async fn spark_2014_webhooks() {
    let Some((c, cloud)) = setup("spark_2014_webhooks", Profile::Spark2014, None).await else {
        return;
    };
    let cli = logged_in(&c, &cloud, "webhooks-2014").await;
    cli.particle(&["webhook", "list"])
        .await
        .expect_ok("Found undefined hooks registered\n\n");
    let out = cli
        .particle(&["webhook", "create", "temp", "http://127.0.0.1:9/"])
        .await;
    out.expect(
        1,
        &format!(
            "{}Error creating webhook: Not Found\n",
            sending(&[
                "event: 'temp'".into(),
                "url: 'http://127.0.0.1:9/'".into(),
                "deviceid: undefined".into(),
                "requestType: undefined".into(),
            ])
        ),
        "",
    );
    cli.particle(&["webhook", "delete", "0123456789abcdef01234567"])
        .await
        .expect(1, "Error deleting webhook: Not Found\n", "");
}

// ---------------------------------------------------------------------------------------
// Dates, as the CLI prints them (JavaScript's Date#toString in UTC).

/// Days since 1970-01-01 of a civil date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Whole seconds since the epoch of `2026-11-28T19:47:33.525Z`.
fn iso_secs(s: &str) -> i64 {
    let n = |r: std::ops::Range<usize>| -> i64 {
        s.get(r)
            .and_then(|x| x.parse().ok())
            .unwrap_or_else(|| panic!("not an ISO time: {s}"))
    };
    days_from_civil(n(0..4), n(5..7), n(8..10)) * 86_400
        + n(11..13) * 3600
        + n(14..16) * 60
        + n(17..19)
}

/// `Sat Nov 28 2026 19:47:33 GMT+0000 (Coordinated Universal Time)`.
fn js_date(secs: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{} {} {d:02} {y} {:02}:{:02}:{:02} GMT+0000 (Coordinated Universal Time)",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(m - 1) as usize],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[test]
fn js_dates() {
    let t = iso_secs("2026-11-28T19:47:33.525Z");
    assert_eq!(
        js_date(t),
        "Sat Nov 28 2026 19:47:33 GMT+0000 (Coordinated Universal Time)"
    );
    assert_eq!(
        js_date(iso_secs("2024-02-29T23:59:59.000Z") + 1),
        "Fri Mar 01 2024 00:00:00 GMT+0000 (Coordinated Universal Time)"
    );
}
