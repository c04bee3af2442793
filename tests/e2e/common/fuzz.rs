//! schemathesis for `tests/openapi_fuzz.rs`: a Python venv in `target/schemathesis` with
//! the pinned release from PyPI, made on the first run (about 10 s) and reused while its
//! version file matches. One install at a time across test binaries
//! (`target/schemathesis.lock`). Needs `python3` with `venv` and PyPI on the first run;
//! `SPARK_MOCK_SKIP_FUZZ=1` skips the fuzz test for people without them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::clients::Running;
use super::install::tell;

pub const SKIP_VAR: &str = "SPARK_MOCK_SKIP_FUZZ";
/// The schemathesis release the test runs (PyPI).
pub const VERSION: &str = "4.32.5";
const INSTALL_TIMEOUT: Duration = Duration::from_secs(600);

/// `target/schemathesis`, the venv.
pub fn venv() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("schemathesis")
}

fn installed(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("installed-version")).is_ok_and(|v| v.trim() == VERSION)
        && dir.join("bin").join("schemathesis").exists()
}

/// The `schemathesis` executable, installing it first if needed (once per process), or
/// why it cannot be installed.
pub fn ensure() -> Result<PathBuf, String> {
    static DONE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    DONE.get_or_init(|| {
        let dir = venv();
        let exe = dir.join("bin").join("schemathesis");
        if installed(&dir) {
            return Ok(exe);
        }
        let parent = dir.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        let result = super::install::with_file_lock(&parent.join("schemathesis.lock"), || {
            if installed(&dir) {
                Ok(())
            } else {
                install(&dir)
            }
        })?;
        result.map(|()| exe)
    })
    .clone()
}

/// `python3 -m venv`, then `pip install schemathesis==VERSION`; the version file is
/// written last, so an interrupted install is redone.
fn install(dir: &Path) -> Result<(), String> {
    let started = Instant::now();
    let _ = std::fs::remove_file(dir.join("installed-version"));
    tell(&format!(
        "openapi fuzz: installing schemathesis {VERSION} from PyPI into {} (first run only, \
         about 10 s)",
        dir.display()
    ));
    let mut venv = Command::new("python3");
    venv.args(["-m", "venv", "--clear"]).arg(dir);
    run(venv, "python3 -m venv")?;
    let mut pip = Command::new(dir.join("bin").join("pip"));
    pip.args([
        "install",
        "--quiet",
        "--disable-pip-version-check",
        &format!("schemathesis=={VERSION}"),
    ]);
    run(pip, "pip install schemathesis")?;
    std::fs::write(dir.join("installed-version"), VERSION)
        .map_err(|e| format!("cannot write {}/installed-version: {e}", dir.display()))?;
    tell(&format!(
        "openapi fuzz: installed schemathesis {VERSION} in {:.0} s",
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

fn run(cmd: Command, what: &str) -> Result<(), String> {
    let out = Running::spawn(cmd, None, what).wait_for(INSTALL_TIMEOUT);
    if out.code == Some(0) {
        return Ok(());
    }
    Err(format!(
        "could not install schemathesis {VERSION} into {}: `{what}` failed ({:?}{})\n\
         --- stdout:\n{}\n--- stderr:\n{}\nThe fuzz test needs python3 with venv and pip, and \
         PyPI on its first run; or skip it: {SKIP_VAR}=1",
        venv().display(),
        out.code,
        if out.timed_out { ", timed out" } else { "" },
        out.stdout,
        out.stderr,
    ))
}
