//! What a run shows while it goes and when it ends: a progress bar on a terminal, a line
//! every few seconds otherwise, notes as they happen, and the summary (a table, or JSON).

use super::eprint_line;
use batchflow::exec::plan_tasks::Labels;
use batchflow::exec::{Counts, Observer, TaskReport, TaskState};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// At most this many rows in the summary table; beyond, only tasks that did not succeed.
const TABLE_ROWS: usize = 40;

/// The table printed when a run ends; sweep instances get an `instance` column saying what
/// each stands for.
pub fn summary_table(reports: &[TaskReport], labels: &Labels) -> String {
    let counts = tally(reports);
    let shown: Vec<&TaskReport> = if reports.len() <= TABLE_ROWS {
        reports.iter().collect()
    } else {
        reports
            .iter()
            .filter(|r| r.state != TaskState::Succeeded)
            .take(TABLE_ROWS)
            .collect()
    };
    let mut out = String::new();
    if !shown.is_empty() {
        let with_labels = shown.iter().any(|r| label(labels, r).is_some());
        let mut head = vec!["task", "state", "exit", "time", "why", "output"];
        if with_labels {
            head.insert(1, "instance");
        }
        let rows: Vec<Vec<String>> = shown
            .iter()
            .map(|r| {
                let mut row = vec![
                    format!("{}/{}", r.job, r.task),
                    state_of(r).to_string(),
                    r.exit_code.map_or_else(|| "-".into(), |c| c.to_string()),
                    r.duration.map_or_else(|| "-".into(), local_human),
                    why(r.reason.as_deref()),
                    r.output
                        .as_ref()
                        .map_or_else(|| "-".into(), |p| relative(p).display().to_string()),
                ];
                if with_labels {
                    row.insert(1, label(labels, r).unwrap_or("-").to_string());
                }
                row
            })
            .collect();
        out.push_str(&columns(&head, &rows));
    }
    if reports.len() > TABLE_ROWS {
        out.push_str(&format!(
            "({} more tasks succeeded)\n",
            counts
                .succeeded
                .saturating_sub(shown.iter().filter(|r| r.state == TaskState::Succeeded).count())
        ));
    }
    let cached = reports.iter().filter(|r| r.cached).count();
    out.push_str(&format!(
        "{} tasks: {}\n",
        counts.total(),
        outcome_counts(&counts, cached)
    ));
    out
}

/// A task's state as the summary shows it: `cached` for one taken from the task cache.
fn state_of(r: &TaskReport) -> &'static str {
    if r.cached {
        "cached"
    } else {
        r.state.as_str()
    }
}

/// `1 succeeded, 0 failed, 0 blocked`, then the interrupted and waiting tasks when there are.
fn outcome_counts(c: &Counts, cached: usize) -> String {
    let mut parts = vec![
        if cached > 0 {
            format!("{} succeeded ({cached} cached)", c.succeeded)
        } else {
            format!("{} succeeded", c.succeeded)
        },
        format!("{} failed", c.failed),
        format!("{} blocked", c.blocked),
    ];
    for (n, what) in [(c.interrupted, "interrupted"), (c.waiting, "waiting")] {
        if n > 0 {
            parts.push(format!("{n} {what}"));
        }
    }
    parts.join(", ")
}

/// The counts of a run's final reports.
pub fn final_counts(reports: &[TaskReport]) -> Counts {
    tally(reports)
}

/// Rows under a header, each column as wide as its widest cell, the last one unpadded.
pub fn columns(head: &[&str], rows: &[Vec<String>]) -> String {
    let width = |i: usize| {
        rows.iter()
            .filter_map(|r| r.get(i))
            .map(|c| c.chars().count())
            .chain([head.get(i).map_or(0, |h| h.len())])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..head.len()).map(width).collect();
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut l = String::new();
        for (i, c) in cells.enumerate() {
            if i + 1 == head.len() {
                l.push_str(c);
            } else {
                l.push_str(&format!("{c:<w$}  ", w = widths.get(i).copied().unwrap_or(0)));
            }
        }
        l.trim_end().to_string() + "\n"
    };
    let mut out = line(&mut head.iter().copied());
    for r in rows {
        out.push_str(&line(&mut r.iter().map(String::as_str)));
    }
    out
}

/// What a task stands for, when it is a sweep instance.
fn label<'a>(labels: &'a Labels, r: &TaskReport) -> Option<&'a str> {
    labels.get(&(r.job.clone(), r.task.clone())).map(String::as_str)
}

/// The summary as one JSON object, for `run --format json`: every task, not only the first rows.
pub fn summary_json(
    run_id: &str,
    target: &str,
    status: &str,
    reports: &[TaskReport],
    labels: &Labels,
    rerun_of: Option<&str>,
) -> String {
    let counts = tally(reports);
    let tasks: Vec<serde_json::Value> = reports
        .iter()
        .map(|r| {
            serde_json::json!({
                "job": r.job,
                "task": r.task,
                "instance": label(labels, r),
                "state": state_of(r),
                "exit_code": r.exit_code,
                "attempts": r.attempts,
                "duration_ms": r.duration.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                "reason": r.reason,
                "output": r.output.as_ref().map(|p| relative(p).display().to_string()),
            })
        })
        .collect();
    let summary = serde_json::json!({
        "run": run_id,
        "target": target,
        "status": status,
        "rerun_of": rerun_of,
        "counts": {
            "total": counts.total(),
            "succeeded": counts.succeeded,
            "cached": reports.iter().filter(|r| r.cached).count(),
            "failed": counts.failed,
            "blocked": counts.blocked,
            "waiting": counts.waiting,
            "running": counts.running,
            "interrupted": counts.interrupted,
        },
        "tasks": tasks,
    });
    summary.to_string() + "\n"
}

/// How many reports are in each state.
fn tally(reports: &[TaskReport]) -> Counts {
    let mut counts = Counts::default();
    for r in reports {
        counts.add(r.state, 1);
    }
    counts
}

fn local_human(d: Duration) -> String {
    batchflow::exec::local::human(d)
}

/// The progress display: a bar on a terminal, a line every few seconds otherwise.
pub struct Progress {
    bar: Option<ProgressBar>,
    quiet: bool,
    last_line: Instant,
    last: Counts,
    /// Long waits under way (pools allocating), shown before the bar: how each stands, and
    /// when it last had a line of its own (without a bar).
    waits: std::collections::BTreeMap<String, (String, Option<Instant>)>,
    log: Option<std::fs::File>,
}

impl Progress {
    pub fn new(total: usize, quiet: bool, run_dir: &Path) -> Progress {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::new(total as u64);
            let style =
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {prefix} {bar:30} {pos}/{len} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar());
            b.set_style(style);
            b.enable_steady_tick(Duration::from_millis(200));
            b
        });
        Progress {
            bar,
            quiet,
            last_line: Instant::now(),
            last: Counts::default(),
            waits: std::collections::BTreeMap::new(),
            log: std::fs::File::create(run_dir.join("run.log")).ok(),
        }
    }

    /// Ends the display with the counts line: of the run's final reports when there are
    /// (after an interrupt, the tasks it stopped), else as last shown.
    pub fn finish(&mut self, last: Option<Counts>) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
        if !self.quiet {
            eprint_line(&counts_line(&last.unwrap_or(self.last)));
        }
    }
}

fn counts_line(c: &Counts) -> String {
    let mut line = format!(
        "{}/{} done: {} running, {} waiting, {} succeeded, {} failed, {} blocked",
        c.done(),
        c.total(),
        c.running,
        c.waiting,
        c.succeeded,
        c.failed,
        c.blocked
    );
    if c.interrupted > 0 {
        line.push_str(&format!(", {} interrupted", c.interrupted));
    }
    line
}

impl Observer for Progress {
    fn progress(&mut self, counts: &Counts) {
        self.last = *counts;
        match &self.bar {
            Some(b) => {
                b.set_position(counts.done() as u64);
                b.set_message(format!(
                    "{} running, {} waiting, {} ok, {} failed, {} blocked",
                    counts.running, counts.waiting, counts.succeeded, counts.failed, counts.blocked
                ));
            }
            None if !self.quiet && self.last_line.elapsed() >= Duration::from_secs(10) => {
                self.last_line = Instant::now();
                eprint_line(&counts_line(counts));
            }
            None => {}
        }
    }

    fn waiting(&mut self, key: &str, line: Option<&str>) {
        match line {
            Some(line) => {
                let (shown, printed) = self.waits.entry(key.to_string()).or_insert((String::new(), None));
                let changed = shown != line;
                *shown = line.to_string();
                // Without a bar: a line when the state changed, at most every 10 s per wait.
                let due = printed.is_none_or(|t| t.elapsed() >= Duration::from_secs(10));
                if self.bar.is_none() && !self.quiet && changed && due {
                    *printed = Some(Instant::now());
                    eprint_line(line);
                }
            }
            None => {
                self.waits.remove(key);
            }
        }
        if let Some(b) = &self.bar {
            let waits: Vec<&str> = self.waits.values().map(|(line, _)| line.as_str()).collect();
            b.set_prefix(waits.join("; "));
        }
    }

    fn note(&mut self, line: &str) {
        if let Some(f) = &mut self.log {
            use std::io::Write;
            let _ = writeln!(f, "{line}");
        }
        if self.quiet {
            return;
        }
        match &self.bar {
            Some(b) => b.println(line),
            None => eprint_line(line),
        }
    }
}

/// The first line of a reason, short enough for a table cell.
fn why(reason: Option<&str>) -> String {
    let first = reason.unwrap_or("").lines().next().unwrap_or("");
    if first.chars().count() <= 100 {
        return if first.is_empty() {
            "-".into()
        } else {
            first.to_string()
        };
    }
    let cut: String = first.chars().take(99).collect();
    format!("{cut}…")
}

/// A path relative to the current directory when it is below it.
pub fn relative(p: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| p.strip_prefix(&cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| p.to_path_buf())
}
