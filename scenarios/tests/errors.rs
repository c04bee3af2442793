//! Broken scenario files: every error names the file and the line and says what was
//! expected; nothing panics, whatever the file holds.

use std::path::Path;

use spark_mock_scenarios::{parse_file, parse_str, ScenarioError};

const HEAD: &str = r#"name = "broken"
profile = "spark-2014"

[[user]]
email = "marcel@example.com"
password = "pw"

[[actor]]
name = "python"
client = "python-script"
"#;

/// Parses HEAD + `tail` as `story.toml`; the error's line and text.
fn error(tail: &str) -> (usize, String) {
    let text = format!("{HEAD}{tail}");
    match parse_str(&text, "story.toml", Path::new(".")) {
        Ok(_) => panic!("parsed:\n{text}"),
        Err(e) => {
            let shown = e.to_string();
            let line = e.line().expect("a line");
            assert!(
                shown.starts_with(&format!("story.toml:{line}: ")),
                "{shown}"
            );
            (line, shown)
        }
    }
}

const STEP_LINE: usize = 12;

#[test]
fn an_unknown_step_names_the_line_and_the_steps_there_are() {
    let (line, msg) = error("\n[[step]]\ndo = \"dance\"\nactor = \"python\"\n");
    assert_eq!(line, STEP_LINE + 1, "{msg}");
    assert!(
        msg.contains(
            "unknown step \"dance\" (expected one of signup, login, build-login, reset-token, call"
        ),
        "{msg}"
    );
}

#[test]
fn a_missing_field_names_the_step_and_the_field() {
    let (line, msg) = error("\n[[step]]\ndo = \"login\"\n");
    assert_eq!(line, STEP_LINE, "{msg}");
    assert!(
        msg.ends_with("step \"login\": missing field `actor`"),
        "{msg}"
    );
    let (_, msg) = error("\n[[step]]\nactor = \"python\"\n");
    assert!(msg.contains("missing field `do`"), "{msg}");
    let (line, msg) = error("\n[[step]]\ndo = \"call\"\nactor = \"python\"\nfunction = \"brew\"\n");
    assert_eq!(line, STEP_LINE, "{msg}");
    assert!(
        msg.ends_with("step \"call\": missing field `device`"),
        "{msg}"
    );
    let (line, msg) = error("\n[[user]]\nemail = \"bob@example.com\"\n");
    assert_eq!(line, STEP_LINE, "{msg}");
    assert!(msg.ends_with("[[user]]: missing field `password`"), "{msg}");
}

#[test]
fn a_wrong_type_names_the_key_and_the_type_expected() {
    let (line, msg) =
        error("\n[[step]]\ndo = \"login\"\nactor = \"python\"\nexpect = { status = \"200\" }\n");
    assert_eq!(line, STEP_LINE + 3, "{msg}");
    assert!(
        msg.contains("wrong type for `status`: expected u16, found string \"200\""),
        "{msg}"
    );
    let (line, msg) = error("\n[[step]]\ndo = \"advance-clock\"\ndays = \"ninety\"\n");
    assert_eq!(line, STEP_LINE + 2, "{msg}");
    assert!(msg.contains("wrong type for `days`"), "{msg}");
    let (line, msg) = error(
        "\n[[step]]\ndo = \"publish\"\nactor = \"python\"\nevent = \"x\"\nprivate = \"yes\"\n",
    );
    assert_eq!(line, STEP_LINE + 4, "{msg}");
    assert!(
        msg.contains("wrong type for `private`: expected a boolean"),
        "{msg}"
    );
}

#[test]
fn unknown_keys_and_fields_a_step_does_not_take() {
    let (line, msg) = error("\n[[step]]\ndo = \"login\"\nactor = \"python\"\ncolour = \"red\"\n");
    assert_eq!(line, STEP_LINE + 3, "{msg}");
    assert!(msg.contains("unknown field `colour`"), "{msg}");
    let (line, msg) =
        error("\n[[step]]\ndo = \"login\"\nactor = \"python\"\nfunction = \"brew\"\n");
    assert_eq!(line, STEP_LINE + 3, "{msg}");
    assert!(
        msg.contains("step \"login\" does not take `function`"),
        "{msg}"
    );
    let (_, msg) =
        error("\n[[step]]\ndo = \"list\"\nactor = \"python\"\nexpect = { token = \"new\" }\n");
    assert!(
        msg.contains("`expect.token` does not apply to step \"list\""),
        "{msg}"
    );
}

#[test]
fn references_to_undeclared_things() {
    let (line, msg) = error("\n[[step]]\ndo = \"login\"\nactor = \"phone\"\n");
    assert_eq!(line, STEP_LINE + 2, "{msg}");
    assert!(
        msg.contains("unknown actor \"phone\" (declared: python)"),
        "{msg}"
    );
    let (_, msg) = error(
        "\n[[step]]\ndo = \"get\"\nactor = \"python\"\ndevice = \"core\"\nvariable = \"t\"\n",
    );
    assert!(msg.contains("unknown device \"core\""), "{msg}");
    let (_, msg) = error("\n[[step]]\ndo = \"list\"\nactor = \"python\"\ntoken = \"first\"\n");
    assert!(msg.contains("unknown token \"first\""), "{msg}");
    let (_, msg) = error("\n[[step]]\ndo = \"await\"\nlabel = \"brewing\"\n");
    assert!(
        msg.contains("no earlier step runs in the background as \"brewing\""),
        "{msg}"
    );
    let (_, msg) = error("\n[[step]]\ndo = \"change-policy\"\npolicy = \"sometimes\"\n");
    assert!(msg.contains("unknown token policy `sometimes`"), "{msg}");
}

#[test]
fn device_entries_are_checked_by_sim_device_at_their_line() {
    let (line, msg) = error(
        "\n[[device]]\nid = \"53ff6f065067544840551187\"\n\n[[device.function]]\nname = \"brew\"\nbehaviour = \"dance\"\n",
    );
    assert_eq!(line, STEP_LINE, "{msg}");
    assert!(msg.contains("device:") && msg.contains("dance"), "{msg}");
    let (_, msg) = error("\n[[device]]\nid = \"not-hex\"\n");
    assert!(msg.contains("device:"), "{msg}");
}

#[test]
fn toml_syntax_errors_name_the_line() {
    let (line, msg) = error("\n[[step]\ndo = \"login\"\n");
    assert_eq!(line, STEP_LINE, "{msg}");
}

#[test]
fn a_missing_file_is_a_read_error() {
    let e = parse_file("/nonexistent/story.toml").unwrap_err();
    assert!(matches!(e, ScenarioError::Read { .. }), "{e}");
    assert!(
        e.to_string()
            .starts_with("cannot read /nonexistent/story.toml"),
        "{e}"
    );
}

/// Every truncation, every deleted line and every value turned into a wrong type of every
/// bundled story parses or fails with a located error; none panics.
#[test]
fn broken_stories_never_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("stories");
    let mut tried = 0;
    for entry in std::fs::read_dir(&dir).expect("stories") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("story");
        parse_str(&text, "story.toml", &dir).expect("bundled stories parse");
        let lines: Vec<&str> = text.lines().collect();
        let mut variants = Vec::new();
        for i in 0..lines.len() {
            variants.push(lines[..i].join("\n"));
            let mut deleted = lines.clone();
            deleted.remove(i);
            variants.push(deleted.join("\n"));
            if let Some((key, _)) = lines[i].split_once(" = ") {
                for wrong in ["1", "\"x\"", "true", "[]", "{}"] {
                    let mut changed = lines.clone();
                    let line = format!("{key} = {wrong}");
                    changed[i] = &line;
                    variants.push(changed.join("\n"));
                }
            }
        }
        for v in variants {
            tried += 1;
            if let Err(e) = parse_str(&v, "story.toml", &dir) {
                if let ScenarioError::Invalid { line, .. } = e {
                    assert!(line >= 1 && line <= lines.len() + 1, "{e}");
                }
            }
        }
    }
    assert!(tried > 1000, "{tried}");
}
