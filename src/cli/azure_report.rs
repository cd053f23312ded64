//! The end of an azure run as the user sees it: task records merged with what Batch says,
//! failures at the lines that declare them, steps that did not run grouped by cause.

use super::eprint_line;
use batchflow::exec::azure::control;
use batchflow::exec::azure::runner::Report;
use batchflow::exec::{TaskReport, TaskState};
use batchflow::source::{SourceMap, Span};
use batchflow::state::RunState;
use std::collections::HashMap;

/// Task records and reports from what Batch says, the runner's reasons added.
pub(super) fn merge(
    record: &mut RunState,
    states: &HashMap<String, Vec<control::TaskStatus>>,
    report: &Report,
) -> Vec<TaskReport> {
    let mut reasons: HashMap<(&str, &str), &str> = HashMap::new();
    for f in &report.failed_tasks {
        reasons.insert((f.job.as_str(), f.task.as_str()), f.reason.as_str());
    }
    for (job, task, why) in &report.rejected {
        reasons.insert((job.as_str(), task.as_str()), why.as_str());
    }
    let by_id: HashMap<(&str, &str), &control::TaskStatus> = states
        .iter()
        .flat_map(|(job, list)| list.iter().map(move |t| ((job.as_str(), t.task.as_str()), t)))
        .collect();
    let mut reports = Vec::with_capacity(record.tasks.len());
    for rec in &mut record.tasks {
        let key = (rec.job.as_str(), rec.task.as_str());
        match by_id.get(&key) {
            Some(t) => {
                rec.state = t.state;
                rec.exit_code = t.exit_code;
                rec.attempts = t.attempts;
                rec.duration_ms = t.duration.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
            }
            // Never created (refused by Batch, or after a failure): it did not run.
            None => rec.state = TaskState::Blocked,
        }
        rec.reason = reasons.get(&key).map(|r| r.to_string());
        reports.push(rec.report());
    }
    reports
}

/// Failed and refused tasks with the line that declares them; skipped steps with why.
pub(super) fn explain_failures(report: &Report, sources: &SourceMap, origin_of: &dyn Fn(&str, &str) -> Span) {
    let at = |job: &str, task: &str| {
        let span = origin_of(job, task);
        match sources.get(span.src) {
            Some(file) if span != Span::default() => {
                let (line, col) = file.line_col(span.start);
                format!("{}:{line}:{col}: ", sources.name(span.src))
            }
            _ => String::new(),
        }
    };
    for (job, task, why) in report.rejected.iter().take(20) {
        eprint_line(&format!(
            "{}Batch refused task `{task}` of job `{job}`: {why}",
            at(job, task)
        ));
    }
    for f in report.failed_tasks.iter().take(20) {
        eprint_line(&format!(
            "{}task `{}` of job `{}` failed: {}",
            at(&f.job, &f.task),
            f.task,
            f.job,
            f.reason
        ));
        if let Some((file, lines)) = &f.tail {
            eprint_line(&format!("  {file} (last lines):"));
            for line in lines.lines() {
                eprint_line(&format!("    {line}"));
            }
        }
    }
    let more = (report.rejected.len() + report.failed_tasks.len()).saturating_sub(40);
    if more > 0 {
        eprint_line(&format!("... and {more} more"));
    }
    for line in skipped_lines(&report.skipped) {
        eprint_line(&line);
    }
}

/// Steps that did not run, grouped by why: a job that could not be created leaves thousands of
/// collections behind it, and one line says so.
fn skipped_lines(skipped: &[(String, String)]) -> Vec<String> {
    let mut by_why: Vec<(&str, Vec<&str>)> = Vec::new();
    for (step, why) in skipped {
        match by_why.iter_mut().find(|(w, _)| *w == why.as_str()) {
            Some((_, steps)) => steps.push(step),
            None => by_why.push((why, vec![step])),
        }
    }
    by_why
        .into_iter()
        .map(|(why, steps)| match steps.as_slice() {
            [one] => format!("step `{one}` did not run: {why}"),
            [first, .., last] => format!("{} steps (`{first}` ... `{last}`) did not run: {why}", steps.len()),
            [] => String::new(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::skipped_lines;

    #[test]
    fn skipped_steps_are_grouped_by_why() {
        let why = "`create-job-j` did not finish".to_string();
        let mut skipped: Vec<(String, String)> = (0..1000).map(|i| (format!("add-tasks-j-{i}"), why.clone())).collect();
        skipped.push(("wait-job-j".into(), "a step it comes after did not finish".into()));
        assert_eq!(
            skipped_lines(&skipped),
            [
                "1000 steps (`add-tasks-j-0` ... `add-tasks-j-999`) did not run: `create-job-j` did not finish",
                "step `wait-job-j` did not run: a step it comes after did not finish",
            ]
        );
    }
}
