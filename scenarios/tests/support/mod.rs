//! Shared by the scenario tests: run options with a key cache under the target directory.

#![allow(dead_code)]

use std::path::PathBuf;

use spark_mock_scenarios::{run_file, Report, RunOptions};

/// Keys (the server's RSA-2048, the cores' RSA-1024) are made once and kept here.
pub fn opts() -> RunOptions {
    RunOptions {
        key_dir: Some(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("scenario-keys")),
        ..RunOptions::default()
    }
}

pub fn story_path(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("stories")
        .join(file)
}

/// Runs a bundled story in-process and asserts that it passes.
pub async fn story(file: &str) -> Report {
    let report = run_file(story_path(file), &opts()).await;
    let text = report.text();
    println!("{text}");
    assert!(report.passed, "{file} failed:\n{text}");
    report
}
