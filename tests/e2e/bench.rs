//! `spark-mock bench`: each benchmark runs end to end (tiny sizes, a debug build) and prints
//! its figures with nothing lost. Timings are never asserted here; they belong to the
//! benchmark's own output.

use crate::common;

use common::bin::command;

fn run(args: &[&str]) -> String {
    let out = command(args, &[]).output().expect("run spark-mock");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{args:?} exited {:?}\nstdout:\n{stdout}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn bench_calls_reports_both_kinds_at_each_concurrency_without_errors() {
    let out = run(&[
        "bench",
        "calls",
        "--devices",
        "2",
        "--seconds",
        "0.3",
        "--concurrency",
        "1,4",
    ]);
    let rows: Vec<Vec<&str>> = out
        .lines()
        .filter(|l| l.starts_with("function call") || l.starts_with("variable read"))
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows.len(), 4, "{out}");
    for row in &rows {
        // what(2 words) concurrency calls/s p50 ms p99 ms errors
        let calls: f64 = row[3].parse().unwrap_or(0.0);
        assert!(calls > 0.0, "no calls completed: {out}");
        assert_eq!(row.last(), Some(&"0"), "errors: {out}");
    }
}

#[test]
fn bench_events_delivers_every_event_to_every_subscriber_and_to_the_baseline() {
    let out = run(&[
        "bench",
        "events",
        "--subscribers",
        "5",
        "--events",
        "4",
        "--gap-ms",
        "1",
        "--baseline",
        "--runs",
        "2",
    ]);
    let delivered: Vec<&str> = out.lines().filter(|l| l.contains("delivered")).collect();
    assert_eq!(delivered.len(), 4, "{out}");
    for pair in delivered.chunks(2) {
        assert!(pair[0].starts_with("bare TCP"), "{out}");
        assert!(pair[1].starts_with("publish → receive over SSE"), "{out}");
    }
    for line in delivered {
        assert!(line.contains("20 of 20 delivered"), "{out}");
    }
    // With --runs, the spread of the p99 closes each kind's figures.
    assert!(
        out.contains("bare TCP, no HTTP (baseline), p99 over 2 runs: min "),
        "{out}"
    );
    assert!(
        out.contains("publish → receive over SSE, p99 over 2 runs: min "),
        "{out}"
    );
}

#[test]
fn bench_grants_reports_each_history_size_and_concurrency_without_errors() {
    let dir = std::env::temp_dir().join(format!("spark-mock-bench-grants-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let out = run(&[
        "bench",
        "grants",
        "--state-dir",
        dir.to_str().unwrap(),
        "--tokens",
        "5,50",
        "--grants",
        "12",
        "--concurrency",
        "1,3",
    ]);
    // state tokens concurrency grants/s p50 ms p99 ms errors
    let rows: Vec<Vec<&str>> = out
        .lines()
        .filter(|l| l.starts_with("--state-dir") || l.starts_with("in memory"))
        .map(|l| l.split_whitespace().collect())
        .collect();
    let sizes: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r[r.len() - 8], r[r.len() - 7]))
        .collect();
    assert_eq!(
        sizes,
        [
            ("0", "1"),
            ("0", "3"),
            ("5", "1"),
            ("5", "3"),
            ("50", "1"),
            ("50", "3")
        ],
        "{out}"
    );
    for row in &rows {
        let rate: f64 = row[row.len() - 6].parse().unwrap_or(0.0);
        assert!(rate > 0.0, "no grant completed: {out}");
        assert_eq!(row.last(), Some(&"0"), "errors: {out}");
    }
    assert!(out.contains("state.json holds 50 tokens"), "{out}");
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert!(left.is_empty(), "the bench removes its state directories");
    let _ = std::fs::remove_dir_all(&dir);
}
