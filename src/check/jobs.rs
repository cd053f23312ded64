//! Job preparation and release tasks: a release task needs a preparation task (BF220), its
//! timeout is at most 15 minutes (BF119), and no task may take their ids (BF003).

use crate::diagnostics::{Code, Diagnostic};
use crate::graph::{Job, Workflow};
use crate::value::format_duration;

/// `JobReleaseTask.maxWallClockTime`: "You may not specify a timeout longer than 15 minutes."
const RELEASE_MAX_TIMEOUT: u64 = 15 * 60;

/// The ids Batch gives the preparation and release tasks when none is sent (batchflow sends
/// none): "the Batch service assigns a default value of 'jobpreparation'" / "'jobrelease'".
const PREP_ID: &str = "jobpreparation";
const RELEASE_ID: &str = "jobrelease";

pub fn check(wf: &Workflow, out: &mut Vec<Diagnostic>) {
    for job in &wf.jobs {
        if let (Some(release), None) = (&job.release_task, &job.prep_task) {
            out.push(
                Diagnostic::new(Code::BF220, release.span, "a `release_task` without a `prep_task`")
                    .with_label(job.name.span, "in this job")
                    .with_help("Batch refuses a job release task unless the job also has a preparation task: add `prep_task { command = ... }`, or move the clean-up into the tasks"),
            );
        }
        if let Some(release) = &job.release_task {
            if let Some(t) = release.spec.timeout.filter(|t| *t > RELEASE_MAX_TIMEOUT) {
                out.push(
                    Diagnostic::new(
                        Code::BF119,
                        release.attrs.or("timeout", release.span),
                        format!("the release task's `timeout = {}` is over 15 minutes", format_duration(t)),
                    )
                    .with_help("Batch rejects a job release task timeout over 15m: shorten the clean-up, or move long work into a task"),
                );
            }
        }
        reserved_ids(wf, job, out);
    }
}

/// BF003: a task whose id is the preparation or release task's (ids compare without case).
fn reserved_ids(wf: &Workflow, job: &Job, out: &mut Vec<Diagnostic>) {
    let reserved = [
        (job.prep_task.as_ref(), PREP_ID, "preparation"),
        (job.release_task.as_ref(), RELEASE_ID, "release"),
    ];
    for &template in &job.templates {
        let Some(t) = wf.template(template) else { continue };
        // Sweep instances end in `-N`, so only a plain task can take a reserved id.
        if t.is_sweep {
            continue;
        }
        for (aux, id, what) in reserved {
            let Some(aux) = aux else { continue };
            if t.name.value.eq_ignore_ascii_case(id) {
                out.push(
                    Diagnostic::new(
                        Code::BF003,
                        t.name.span,
                        format!("task `{}` has the id Batch gives the job's {what} task", t.name.value),
                    )
                    .with_label(aux.span, format!("the {what} task, `{id}` on Batch"))
                    .with_help(format!("Batch refuses a task with the id `{id}` (ids ignore case) in a job with a {what} task: rename the task")),
                );
            }
        }
    }
}
