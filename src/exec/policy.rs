//! The hook policy both backends follow: `on_task_failed(task, result)` decides what happens
//! to a task that failed for good ("retry", "continue" or "abort", at most [`HOOK_RETRIES`]
//! retries per task), and `on_complete(summary)` runs once when the run ends. Same sandbox
//! as at compile time.

use crate::diagnostics::{Code, Diagnostic};
use crate::exec::{TaskReport, TaskState};
use crate::hooks::Hooks;
use crate::source::Span;
use rhai::{Dynamic, Map};
use std::collections::HashMap;

/// How many times `on_task_failed` may answer "retry" for one task.
pub const HOOK_RETRIES: u32 = 10;

/// What happens to a task that failed for good.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// It stays failed and its dependents are blocked (no hook, the hook said nothing, or it
    /// used up its retries).
    Fail,
    /// Run it again.
    Retry,
    /// It stays failed, but its dependents run.
    Continue,
    /// Stop the whole run.
    Abort,
}

/// A decision, and a line for the person watching when there is something to explain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub decision: Decision,
    pub note: Option<String>,
}

impl Verdict {
    fn plain(decision: Decision) -> Verdict {
        Verdict { decision, note: None }
    }
}

pub struct HookPolicy<'h> {
    hooks: Option<&'h Hooks>,
    /// Retries granted per (job, task).
    retried: HashMap<(String, String), u32>,
    completed: bool,
}

impl<'h> HookPolicy<'h> {
    pub fn new(hooks: Option<&'h Hooks>) -> HookPolicy<'h> {
        HookPolicy {
            hooks,
            retried: HashMap::new(),
            completed: false,
        }
    }

    /// Whether the hook script has `on_task_failed` (a backend may then hold a job open).
    pub fn decides_failures(&self) -> bool {
        self.hooks.is_some_and(|h| h.has_fn("on_task_failed"))
    }

    /// What to do with `task`, which failed after its own retries; `origin` is its declaration.
    pub fn task_failed(&mut self, task: &TaskReport, origin: Span) -> Verdict {
        let Some(h) = self.hooks.filter(|h| h.has_fn("on_task_failed")) else {
            return Verdict::plain(Decision::Fail);
        };
        let decision = match ask(h, task, origin) {
            Ok(d) => d,
            Err(e) => {
                return Verdict {
                    decision: Decision::Fail,
                    note: Some(format!("on_task_failed failed: {}", e.message)),
                }
            }
        };
        if decision != Decision::Retry {
            return Verdict::plain(decision);
        }
        let n = self.retried.entry((task.job.clone(), task.task.clone())).or_insert(0);
        if *n >= HOOK_RETRIES {
            return Verdict {
                decision: Decision::Fail,
                note: Some(format!(
                    "`{}` failed; on_task_failed said retry {HOOK_RETRIES} times: leaving it failed",
                    task.task
                )),
            };
        }
        *n += 1;
        Verdict::plain(Decision::Retry)
    }

    /// Runs `on_complete` with the run's summary, once per run: a second call does nothing.
    /// Returns the hook's error (BF011, in the script), if it failed.
    pub fn complete(&mut self, workflow: &str, reports: &[TaskReport], origin: Span) -> Result<(), Box<Diagnostic>> {
        if std::mem::replace(&mut self.completed, true) {
            return Ok(());
        }
        let Some(h) = self.hooks.filter(|h| h.has_fn("on_complete")) else {
            return Ok(());
        };
        let mut summary = Map::new();
        summary.insert("workflow".into(), Dynamic::from(workflow.to_string()));
        let count = |s: TaskState| Dynamic::from_int(reports.iter().filter(|r| r.state == s).count() as i64);
        summary.insert("succeeded".into(), count(TaskState::Succeeded));
        summary.insert("failed".into(), count(TaskState::Failed));
        summary.insert("blocked".into(), count(TaskState::Blocked));
        // Taken from the task cache: among `succeeded`, not run by this run.
        summary.insert(
            "cached".into(),
            Dynamic::from_int(reports.iter().filter(|r| r.cached).count() as i64),
        );
        let failed: rhai::Array = reports
            .iter()
            .filter(|r| r.state == TaskState::Failed)
            .map(|r| Dynamic::from(r.task.clone()))
            .collect();
        summary.insert("failed_tasks".into(), Dynamic::from_array(failed));
        h.call("on_complete", vec![Dynamic::from_map(summary)], origin)
            .map(|_| ())
            .map_err(Box::new)
    }
}

/// Calls `on_task_failed(task, result)` and reads its answer.
fn ask(h: &Hooks, task: &TaskReport, origin: Span) -> Result<Decision, Diagnostic> {
    let mut t = Map::new();
    t.insert("id".into(), Dynamic::from(task.task.clone()));
    t.insert("job".into(), Dynamic::from(task.job.clone()));
    t.insert("attempts".into(), Dynamic::from_int(i64::from(task.attempts)));
    let mut r = Map::new();
    r.insert(
        "exit_code".into(),
        task.exit_code
            .map_or(Dynamic::UNIT, |c| Dynamic::from_int(i64::from(c))),
    );
    r.insert(
        "reason".into(),
        task.reason.clone().map_or(Dynamic::UNIT, Dynamic::from),
    );
    let out = h.call(
        "on_task_failed",
        vec![Dynamic::from_map(t), Dynamic::from_map(r)],
        origin,
    )?;
    if out.is_unit() {
        return Ok(Decision::Fail);
    }
    let wrong = |what: String| {
        Diagnostic::new(Code::BF011, origin, format!("on_task_failed returned {what}"))
            .with_help("return \"retry\", \"continue\" or \"abort\", or nothing for the default")
    };
    match out.into_string().as_deref() {
        Ok("retry") => Ok(Decision::Retry),
        Ok("continue") => Ok(Decision::Continue),
        Ok("abort") => Ok(Decision::Abort),
        Ok(other) => Err(wrong(format!("\"{other}\""))),
        Err(t) => Err(wrong(format!("a {t}"))),
    }
}
