//! Every bundled story (scenarios/stories) runs in-process and passes.

mod support;

use support::story;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_login_kills_script_token() {
    story("a-phone-login-kills-script-token.toml").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn b_build_login_keeps_token() {
    story("b-build-login-keeps-token.toml").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn c_reset_token_kills_script() {
    story("c-reset-token-kills-script.toml").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn d_login_each_time() {
    story("d-login-each-time.toml").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e_per_client_nothing_breaks() {
    story("e-per-client-nothing-breaks.toml").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn f_multi_expires_after_90_days() {
    story("f-multi-expires-after-90-days.toml").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn g_new_wifi_changes_no_token() {
    story("g-new-wifi-changes-no-token.toml").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h_offline_mid_call_times_out() {
    story("h-offline-mid-call-times-out.toml").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i_other_user_cannot_call() {
    story("i-other-user-cannot-call.toml").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn j_restart_keeps_tokens() {
    story("j-restart-keeps-tokens.toml").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn k_enabling_mfa_kills_script_token() {
    story("k-enabling-mfa-kills-script-token.toml").await;
}

#[test]
fn every_story_has_a_test() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("stories");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .expect("stories")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|f| f.ends_with(".toml"))
        .collect();
    files.sort();
    let this = include_str!("bundled.rs");
    for f in files {
        assert!(this.contains(&format!("story(\"{f}\")")), "{f} has no test");
    }
}
