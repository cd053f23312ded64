//! Run-time hooks: `on_task_failed(task, result)` answers "retry", "continue" or "abort";
//! `on_complete(summary)` runs once at the end. Same sandbox as at compile time.

use crate::exec::TaskReport;
use crate::hooks::Hooks;
use crate::source::Span;
use rhai::{Dynamic, Map};

/// What `on_task_failed` decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// No hook, or it returned nothing: dependents are blocked.
    Default,
    Retry,
    /// Leave the task failed but let its dependents run.
    Continue,
    Abort,
}

pub fn on_task_failed(hooks: Option<&Hooks>, task: &TaskReport, origin: Span) -> Result<Decision, String> {
    let Some(h) = hooks.filter(|h| h.has_fn("on_task_failed")) else {
        return Ok(Decision::Default);
    };
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
    let out = h
        .call(
            "on_task_failed",
            vec![Dynamic::from_map(t), Dynamic::from_map(r)],
            origin,
        )
        .map_err(|d| d.message)?;
    if out.is_unit() {
        return Ok(Decision::Default);
    }
    match out.into_string().as_deref() {
        Ok("retry") => Ok(Decision::Retry),
        Ok("continue") => Ok(Decision::Continue),
        Ok("abort") => Ok(Decision::Abort),
        Ok(other) => Err(format!(
            "on_task_failed returned \"{other}\"; it may return \"retry\", \"continue\" or \"abort\""
        )),
        Err(t) => Err(format!(
            "on_task_failed returned a {t}; it may return \"retry\", \"continue\" or \"abort\""
        )),
    }
}

pub fn on_complete(hooks: Option<&Hooks>, workflow: &str, reports: &[TaskReport], origin: Span) -> Result<(), String> {
    let Some(h) = hooks.filter(|h| h.has_fn("on_complete")) else {
        return Ok(());
    };
    let mut summary = Map::new();
    summary.insert("workflow".into(), Dynamic::from(workflow.to_string()));
    let count = |s: crate::exec::TaskState| Dynamic::from_int(reports.iter().filter(|r| r.state == s).count() as i64);
    summary.insert("succeeded".into(), count(crate::exec::TaskState::Succeeded));
    summary.insert("failed".into(), count(crate::exec::TaskState::Failed));
    summary.insert("blocked".into(), count(crate::exec::TaskState::Blocked));
    let failed: rhai::Array = reports
        .iter()
        .filter(|r| r.state == crate::exec::TaskState::Failed)
        .map(|r| Dynamic::from(r.task.clone()))
        .collect();
    summary.insert("failed_tasks".into(), Dynamic::from_array(failed));
    h.call("on_complete", vec![Dynamic::from_map(summary)], origin)
        .map(|_| ())
        .map_err(|d| d.message)
}
