//! The npm side of the tests, shared by the conformance suites and the browser test:
//! `tests/clients/package.json` and its `package-lock.json` pin particle-cli, particle-api-js,
//! playwright-core, @sparticuz/chromium (a Chromium inside an npm package) and every
//! transitive package, so nothing drifts. `npm ci` installs exactly that into `target/clients`
//! on the first run, then `tests/clients/unpack-chromium.mjs` unpacks the browser into
//! `target/clients/chromium`; no root, no apt. Later runs find the lock file's copy
//! (`target/clients/installed-lock.json`) equal to the repository's and skip it all.
//!
//! One install at a time across parallel test binaries (`target/clients.lock`); whoever gets
//! the lock second finds the packages there. Node 20 or later and npm are required, and the
//! npm registry on the first run; otherwise every test that needs them fails saying so.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::clients::Running;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
/// The longest `npm ci` may take (30 s to 2 minutes here with an empty npm cache).
const INSTALL_TIMEOUT: Duration = Duration::from_secs(600);
/// The longest unpacking Chromium may take (a few seconds).
const UNPACK_TIMEOUT: Duration = Duration::from_secs(120);

/// Writes one line to the process's real stderr. The test harness captures `eprintln!`
/// (shown only for failing tests), but not writes to the stream itself, so a skip or an
/// install in progress shows in a plain `cargo test`.
pub fn tell(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// Whether `var` asks to skip (set, non-empty, not `0`).
pub fn skip_requested(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// `tests/clients`: package.json, package-lock.json and the scripts.
pub fn sources() -> PathBuf {
    Path::new(ROOT).join("tests").join("clients")
}

/// `target/clients`, the npm prefix.
pub fn clients_dir() -> PathBuf {
    Path::new(ROOT).join("target").join("clients")
}

/// Installs the pinned clients if they are not there yet (blocking; once per process) and
/// returns `target/clients`, or why they cannot be installed.
pub fn ensure() -> Result<PathBuf, String> {
    static DONE: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    DONE.get_or_init(|| {
        let dir = clients_dir();
        check_node()?;
        if up_to_date(&dir).is_ok() {
            return Ok(dir);
        }
        tool_version("npm").map_err(needs_node)?;
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let result = with_file_lock(&dir.with_file_name("clients.lock"), || {
            match up_to_date(&dir) {
                Ok(()) => Ok(()),
                Err(_) => install(&dir),
            }
        })?;
        result.map(|()| dir)
    })
    .clone()
}

fn needs_node(detail: String) -> String {
    format!(
        "the real-client tests need node 20 or later and npm: {detail}. They install the \
         clients pinned in tests/clients/package-lock.json (particle-cli, particle-api-js, \
         playwright-core, a Chromium) from the npm registry into target/clients on the first \
         run. Install Node.js 20 with npm, or skip: SPARK_MOCK_SKIP_CLIENTS=1 (conformance) \
         and SPARK_MOCK_SKIP_BROWSER=1 (browser test)"
    )
}

/// `<tool> --version`, trimmed.
fn tool_version(tool: &str) -> Result<String, String> {
    let out = Command::new(tool)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("`{tool} --version` could not run ({e})"))?;
    if !out.status.success() {
        return Err(format!(
            "`{tool} --version` failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Node 20 or later (particle-cli 3.43.1 is the newest release that runs on Node 20).
fn check_node() -> Result<(), String> {
    let version = tool_version("node").map_err(needs_node)?;
    let major = version
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok());
    match major {
        Some(m) if m >= 20 => Ok(()),
        _ => Err(needs_node(format!("found node {version}"))),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// The install matches the repository's lock file, and every pinned package and the unpacked
/// browser are in place.
fn up_to_date(dir: &Path) -> Result<(), String> {
    let wanted = read(&sources().join("package-lock.json"))?;
    if read(&dir.join("installed-lock.json"))? != wanted {
        return Err("installed from another package-lock.json".into());
    }
    complete(dir)
}

/// Each direct dependency at the version package.json pins, and the browser unpacked.
fn complete(dir: &Path) -> Result<(), String> {
    let manifest: serde_json::Value = serde_json::from_slice(&read(&dir.join("package.json"))?)
        .map_err(|e| format!("package.json: {e}"))?;
    let deps = manifest["dependencies"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for (package, version) in deps {
        let path = dir.join("node_modules").join(&package).join("package.json");
        let installed: serde_json::Value = serde_json::from_slice(&read(&path)?)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if installed["version"] != version {
            return Err(format!(
                "{package} is {} in {}, not {version}",
                installed["version"],
                dir.display()
            ));
        }
    }
    for needed in ["node_modules/.bin/particle", "chromium/chromium"] {
        if !dir.join(needed).exists() {
            return Err(format!("{} is missing", dir.join(needed).display()));
        }
    }
    Ok(())
}

/// `npm ci` from the repository's lock, then the browser unpacked; the lock file's copy is
/// written last, so an interrupted install is redone.
fn install(dir: &Path) -> Result<(), String> {
    let started = Instant::now();
    let _ = std::fs::remove_file(dir.join("installed-lock.json"));
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(sources().join(file), dir.join(file))
            .map_err(|e| format!("cannot copy tests/clients/{file} to {}: {e}", dir.display()))?;
    }
    tell(&format!(
        "test clients: installing {} into {} with npm ci (first run only; about 150 MB from \
         the npm registry, 30 s to 2 minutes)",
        pinned(dir),
        dir.display()
    ));
    let mut npm = Command::new("npm");
    npm.args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(dir);
    run(npm, "npm ci", INSTALL_TIMEOUT)?;
    let mut unpack = Command::new("node");
    unpack.arg(sources().join("unpack-chromium.mjs")).arg(dir);
    run(unpack, "unpacking Chromium", UNPACK_TIMEOUT)?;
    complete(dir).map_err(|e| format!("after npm ci: {e}"))?;
    std::fs::copy(
        sources().join("package-lock.json"),
        dir.join("installed-lock.json"),
    )
    .map_err(|e| format!("cannot write {}/installed-lock.json: {e}", dir.display()))?;
    tell(&format!(
        "test clients: installed in {:.0} s ({} MB in {})",
        started.elapsed().as_secs_f64(),
        size(dir) / 1_000_000,
        dir.display()
    ));
    Ok(())
}

/// "particle-cli 3.43.1, …" from package.json.
fn pinned(dir: &Path) -> String {
    let manifest: serde_json::Value = std::fs::read(dir.join("package.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let deps = manifest["dependencies"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let list: Vec<String> = deps
        .iter()
        .map(|(p, v)| format!("{p} {}", v.as_str().unwrap_or("?")))
        .collect();
    list.join(", ")
}

/// Runs an install step to the end, or says why it failed with the end of its output.
fn run(cmd: Command, what: &str, limit: Duration) -> Result<(), String> {
    let out = Running::spawn(cmd, None, what).wait_for(limit);
    let why = match out.code {
        Some(0) => return Ok(()),
        Some(code) => format!("`{what}` exited with {code}"),
        None if out.timed_out => format!(
            "`{what}` did not finish within {} s and was killed",
            limit.as_secs()
        ),
        None => format!("`{what}` was killed by a signal"),
    };
    Err(format!(
        "could not install the test clients into {}: {why}\n--- stdout:\n{}\n--- stderr:\n{}\n\
         Check that node, npm and the registry (`npm config get registry`) are reachable, or \
         skip: SPARK_MOCK_SKIP_CLIENTS=1 (conformance) and SPARK_MOCK_SKIP_BROWSER=1 (browser)",
        clients_dir().display(),
        tail(&out.stdout),
        tail(&out.stderr),
    ))
}

/// The last 40 lines.
fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// Bytes under `path`, symlinks not followed.
fn size(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if !meta.is_dir() {
        return meta.len();
    }
    std::fs::read_dir(path)
        .map(|entries| entries.flatten().map(|e| size(&e.path())).sum())
        .unwrap_or(0)
}

/// How the browser test starts Chromium: the executable, and what its process needs.
#[derive(Clone, Debug)]
pub struct Browser {
    pub executable: PathBuf,
    pub env: Vec<(String, String)>,
}

/// The unpacked Chromium, with its bundled libraries on `LD_LIBRARY_PATH` and its fonts
/// configuration; or `SPARK_MOCK_CHROMIUM` (e.g. Debian's `/usr/bin/chromium`) as it is.
pub fn browser(dir: &Path) -> Browser {
    if let Some(exe) = std::env::var_os("SPARK_MOCK_CHROMIUM").filter(|v| !v.is_empty()) {
        return Browser {
            executable: PathBuf::from(exe),
            env: Vec::new(),
        };
    }
    let base = dir.join("chromium");
    let libs = base.join("al2023").join("lib").display().to_string();
    let ld_path = match std::env::var("LD_LIBRARY_PATH") {
        Ok(old) if !old.is_empty() => format!("{libs}:{old}"),
        _ => libs,
    };
    Browser {
        executable: base.join("chromium"),
        env: vec![
            ("LD_LIBRARY_PATH".into(), ld_path),
            (
                "FONTCONFIG_PATH".into(),
                base.join("fonts").display().to_string(),
            ),
        ],
    }
}

/// Runs `f` holding an exclusive lock on the file `lock_path` (created if missing), so
/// concurrent test processes install one at a time.
pub fn with_file_lock<T>(
    lock_path: &Path,
    f: impl FnOnce() -> Result<T, String>,
) -> Result<Result<T, String>, String> {
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock_path)
        .map_err(|e| format!("cannot open {}: {e}", lock_path.display()))?;
    lock.lock()
        .map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;
    let result = f();
    let _ = lock.unlock();
    Ok(result)
}
