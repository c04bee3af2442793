//! A run's report: numbered steps anyone can read (what each actor did, the HTTP status,
//! which token died and why, each check), a timeline of every token, and the verdict. As
//! text ([`Report::text`]) or JSON (the report serialized).

use std::fmt::Write as _;

use serde::Serialize;

use crate::format::{Scenario, Step};
use crate::tokens::TokenLife;
use crate::ScenarioError;

/// One expectation, held or not (or skipped, with the reason).
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    pub what: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Check {
    pub fn new(ok: bool, what: String, detail: Option<String>) -> Self {
        Check {
            ok,
            skipped: None,
            what,
            detail,
        }
    }

    pub fn skipped(what: String, why: &str) -> Self {
        Check {
            ok: true,
            skipped: Some(why.to_string()),
            what,
            detail: None,
        }
    }
}

/// One step of the transcript.
#[derive(Debug, Clone, Serialize)]
pub struct StepRecord {
    pub n: usize,
    pub line: usize,
    pub kind: String,
    /// What happened: "phone (spark-ios) logs in as … → 200, new token 9f2c41d0…".
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// What it did to tokens: "killed python's 1a2b3c4d… (replaced by …)".
    pub effects: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Why the step did not run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// Why the step could not be carried out (a failure).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub checks: Vec<Check>,
}

impl StepRecord {
    pub(crate) fn new(n: usize, step: &Step) -> Self {
        StepRecord {
            n,
            line: step.line,
            kind: step.action.kind().to_string(),
            text: String::new(),
            note: step.note.clone(),
            effects: Vec::new(),
            status: None,
            skipped: None,
            error: None,
            checks: Vec::new(),
        }
    }

    fn failures(&self) -> impl Iterator<Item = String> + '_ {
        let error = self
            .error
            .iter()
            .map(move |e| format!("step {}: {e}", self.n));
        let checks = self.checks.iter().filter(|c| !c.ok).map(move |c| {
            let detail = c
                .detail
                .as_deref()
                .map(|d| format!(": {d}"))
                .unwrap_or_default();
            format!(
                "step {} (line {}): expected {}{detail}",
                self.n, self.line, c.what
            )
        });
        error.chain(checks)
    }
}

/// The result of one scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub file: String,
    pub name: String,
    pub description: String,
    /// How the run was set up (server, target, devices, users).
    pub setup: Vec<String>,
    pub steps: Vec<StepRecord>,
    /// Every token the run saw.
    pub timeline: Vec<TokenLife>,
    /// Every expectation that did not hold, and every step that could not run.
    pub failures: Vec<String>,
    /// Steps skipped (under `--target`), with the reason.
    pub skipped: Vec<String>,
    /// A file that does not parse, or a server that does not start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fatal: Option<String>,
    pub passed: bool,
}

impl Report {
    pub(crate) fn new(sc: &Scenario) -> Self {
        Report {
            file: sc.file.clone(),
            name: sc.name.clone(),
            description: sc.description.clone(),
            setup: Vec::new(),
            steps: Vec::new(),
            timeline: Vec::new(),
            failures: Vec::new(),
            skipped: Vec::new(),
            fatal: None,
            passed: false,
        }
    }

    /// The report of a file that does not parse.
    pub fn unparsable(file: &str, e: &ScenarioError) -> Self {
        let mut r = Report {
            file: file.to_string(),
            name: String::new(),
            description: String::new(),
            setup: Vec::new(),
            steps: Vec::new(),
            timeline: Vec::new(),
            failures: Vec::new(),
            skipped: Vec::new(),
            fatal: Some(e.to_string()),
            passed: false,
        };
        r.finish();
        r
    }

    pub(crate) fn finish(&mut self) {
        self.failures = self.steps.iter().flat_map(StepRecord::failures).collect();
        self.failures.extend(self.fatal.clone());
        self.skipped = (self.steps.iter())
            .filter_map(|s| {
                s.skipped
                    .as_ref()
                    .map(|why| format!("step {} ({}): {why}", s.n, s.kind))
            })
            .collect();
        self.passed = self.failures.is_empty();
    }

    /// The transcript: setup, numbered steps, timeline, verdict.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let title = if self.name.is_empty() {
            self.file.clone()
        } else {
            format!("{} ({})", self.name, self.file)
        };
        let _ = writeln!(out, "Scenario: {title}");
        for line in self.description.lines() {
            let _ = writeln!(out, "  {line}");
        }
        for s in &self.setup {
            let _ = writeln!(out, "  · {s}");
        }
        for s in &self.steps {
            write_step(&mut out, s);
        }
        if !self.timeline.is_empty() {
            let _ = writeln!(out, "Timeline:");
            for t in &self.timeline {
                let _ = writeln!(out, "  {}", timeline_line(t));
            }
        }
        if let Some(f) = &self.fatal {
            let _ = writeln!(out, "Error: {f}");
        }
        let checks: usize = self.steps.iter().map(|s| s.checks.len()).sum();
        let skipped = if self.skipped.is_empty() {
            String::new()
        } else {
            format!(", {} skipped", self.skipped.len())
        };
        let verdict = if self.passed { "PASS" } else { "FAIL" };
        let _ = writeln!(
            out,
            "{verdict}: {} steps{skipped}, {checks} checks, {} failed",
            self.steps.len(),
            self.failures.len()
        );
        for f in &self.failures {
            let _ = writeln!(out, "  ✗ {f}");
        }
        out
    }
}

/// Reports as a pretty JSON array, one object per scenario.
pub fn json(reports: &[Report]) -> String {
    serde_json::to_string_pretty(reports).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

fn write_step(out: &mut String, s: &StepRecord) {
    if let Some(why) = &s.skipped {
        let _ = writeln!(out, "{}. [skipped] {}: {why}", s.n, s.text);
        return;
    }
    let mut line = s.text.clone();
    for e in &s.effects {
        let _ = write!(line, "; {e}");
    }
    let _ = writeln!(out, "{}. {line}", s.n);
    if let Some(note) = &s.note {
        for l in note.lines() {
            let _ = writeln!(out, "   ({l})");
        }
    }
    if let Some(e) = &s.error {
        let _ = writeln!(out, "   ✗ could not run: {e}");
    }
    let held: Vec<String> = (s.checks.iter())
        .filter(|c| c.ok)
        .map(|c| match &c.skipped {
            Some(why) => format!("– {} (skipped: {why})", c.what),
            None => format!("✓ {}", c.what),
        })
        .collect();
    if !held.is_empty() {
        let _ = writeln!(out, "   {}", held.join("  "));
    }
    for c in s.checks.iter().filter(|c| !c.ok) {
        let detail = c
            .detail
            .as_deref()
            .map(|d| format!(" — {d}"))
            .unwrap_or_default();
        let _ = writeln!(out, "   ✗ expected {}{detail}", c.what);
    }
}

/// "python's 1a2b3c4d… from step 1 (password grant by client python-script), used at 2 → 200,
/// 4 → 400; died at step 3: replaced by a password grant from client spark-ios at …".
fn timeline_line(t: &TokenLife) -> String {
    let mut s = match t.born_at_step {
        0 => format!("{} ({})", t.label(), t.origin),
        n => format!("{} from step {n} ({})", t.label(), t.origin),
    };
    if !t.uses.is_empty() {
        let uses: Vec<String> = t.uses.iter().map(|(n, st)| format!("{n} → {st}")).collect();
        let _ = write!(s, ", used at {}", uses.join(", "));
    }
    match (t.died_at_step, &t.death) {
        (Some(n), Some(d)) => {
            let _ = write!(s, "; died at step {n}: {d}");
        }
        (Some(n), None) => {
            let _ = write!(s, "; died at step {n}");
        }
        (None, _) => s.push_str("; still valid"),
    }
    s
}
