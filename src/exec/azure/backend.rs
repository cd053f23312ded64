//! The azure backend behind the run driver: the plan sent to Batch by the runner, then the run
//! ended there (jobs terminated, the pools it created deleted) and every task's final state
//! read back; failures become problems at the lines that declare them.

use super::arm::pools::ArmAccount;
use super::client::BatchClient;
use super::control::{self, TaskStatus};
use super::reach::Reach;
use super::release::{self, RunEnd};
use super::runner::{self, Env, FailedTask, Findings};
use crate::diagnostics::Problem;
use crate::exec::backend::{Backend, Outcome, Results, Run};
use crate::exec::error::RunError;
use crate::exec::identity::{batch_job, RunIds};
use crate::exec::plan_tasks::Origins;
use crate::exec::state::{RunState, RunStatus};
use crate::exec::{TaskReport, TaskState};
use crate::plan::estimate::PoolHours;
use crate::plan::{Plan, StepKind};
use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

/// How often a run asks Batch how pools and jobs stand (BATCHFLOW_POLL_MS overrides it).
const POLL: Duration = Duration::from_secs(5);
/// Resizes re-issued for a pool that stops short of its target.
const RESIZE_RETRIES: u32 = 3;
/// Failed or refused tasks shown one by one; the rest are counted.
const SHOWN: usize = 20;

/// What `run --target azure` takes.
pub struct AzureSettings {
    /// `--max-in-flight` (default 16).
    pub max_in_flight: Option<usize>,
    pub keep_pools: bool,
    /// The environment: secrets, `BATCHFLOW_POLL_MS`.
    pub env: HashMap<String, String>,
}

pub struct AzureBackend {
    endpoint: String,
    client: BatchClient,
    /// For pools created through Azure Resource Manager, when the plan has any.
    arm: Option<ArmAccount>,
    runtime: Arc<tokio::runtime::Runtime>,
    settings: AzureSettings,
    origins: Origins,
    report: Findings,
}

impl AzureBackend {
    /// The backend for `plan` on the target `reach` reaches, or why it cannot run (refused
    /// before anything starts). A plan with pools created through Azure Resource Manager finds
    /// the Batch account there first.
    pub fn new(plan: &Plan, reach: &Reach, settings: AzureSettings) -> Result<AzureBackend, RunError> {
        crate::exec::preflight::secrets_set(plan, &settings.env)?;
        let client = BatchClient::new(&reach.endpoint, &plan.api_version, reach.credentials())?;
        let through_arm = plan
            .steps
            .iter()
            .any(|s| matches!(s.kind, StepKind::CreateArmPool { .. }));
        let arm = through_arm.then(|| reach.arm_account()).transpose()?;
        Ok(AzureBackend {
            endpoint: reach.endpoint.clone(),
            client,
            arm,
            runtime: reach.runtime(),
            settings,
            origins: Origins::of(plan),
            report: Findings::default(),
        })
    }

    fn options(
        &self,
        ids: RunIds,
        interrupt: Arc<AtomicBool>,
        links: Arc<crate::exec::stage::Links>,
        carried: std::collections::HashSet<(String, String)>,
    ) -> runner::RunnerOptions {
        let poll = self
            .settings
            .env
            .get("BATCHFLOW_POLL_MS")
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(POLL, Duration::from_millis);
        runner::RunnerOptions {
            max_in_flight: self.settings.max_in_flight.unwrap_or(16).max(1),
            poll,
            resize_retries: RESIZE_RETRIES,
            interrupt,
            ids,
            secrets: self.settings.env.clone(),
            links,
            carried: Arc::new(carried),
        }
    }

    /// Every task's final state as Batch has it, for the jobs this run created.
    fn final_states(&self, plan: &Plan, run: &mut Run<'_, '_>) -> HashMap<String, Vec<TaskStatus>> {
        let done = run.dir.steps_done();
        let (_, jobs) = control::created(plan);
        self.runtime.block_on(async {
            let mut all = HashMap::new();
            for job in jobs
                .iter()
                .filter(|j| done.contains(&StepKind::CreateJob { job: j.to_string() }.id()))
            {
                match control::task_states(&self.client, batch_job(run.record, job), true).await {
                    Ok(list) => {
                        all.insert(job.clone(), list);
                    }
                    Err(e) => run
                        .observer
                        .note(&RunError::batch(format!("read the tasks of job `{job}`"), e).to_string()),
                }
            }
            all
        })
    }

    /// Failed and refused tasks at the lines that declare them, failed steps at theirs, and
    /// steps that did not run grouped by why.
    fn problems(&self, plan: &Plan) -> Vec<Problem> {
        let r = &self.report;
        let mut out = Vec::new();
        for (job, task, why) in r.rejected.iter().take(SHOWN) {
            out.push(
                Problem::error(format!("Batch refused task `{task}` of job `{job}`: {why}"))
                    .at(Some(self.origins.get(job, task))),
            );
        }
        for f in r.failed_tasks.iter().take(SHOWN) {
            out.push(failed_task(f, &self.origins));
        }
        let more = (r.rejected.len() + r.failed_tasks.len()).saturating_sub(2 * SHOWN);
        if more > 0 {
            out.push(Problem::error(format!("... and {more} more failed or refused tasks")));
        }
        for (step, error) in &r.failed_steps {
            let origin = plan.steps.iter().find(|s| &s.id == step).map(|s| s.origin);
            out.push(error.problem(origin).with_note(format!("step `{step}`")));
        }
        for line in skipped_lines(&r.skipped) {
            out.push(Problem::error(line));
        }
        out
    }
}

fn failed_task(f: &FailedTask, origins: &Origins) -> Problem {
    let mut p = Problem::error(format!("task `{}` of job `{}` failed: {}", f.task, f.job, f.reason))
        .at(Some(origins.get(&f.job, &f.task)));
    if let Some((file, lines)) = &f.tail {
        p = p.with_note(format!("{file} (last lines):"));
        for line in lines.lines() {
            p = p.with_note(format!("  {line}"));
        }
    }
    p
}

impl Backend for AzureBackend {
    fn target(&self) -> String {
        self.endpoint.clone()
    }

    fn carrier(&self) -> crate::exec::stage::Carrier {
        crate::exec::stage::Carrier::Storage
    }

    /// A run that ended has its jobs terminated: it cannot go on. A run of another account
    /// goes on only there.
    fn resumable(&self, old: &RunState) -> Result<(), RunError> {
        if matches!(
            old.status,
            RunStatus::Succeeded | RunStatus::Failed | RunStatus::Cancelled
        ) {
            return Err(RunError::Refused(format!(
                "run `{}` on Azure Batch has ended ({}); its jobs are terminated: start a new run (its jobs get ids of their own)",
                old.run_id,
                old.status_text()
            )));
        }
        if old.target != self.endpoint {
            return Err(RunError::Refused(format!(
                "run `{}` ran on {}, and the target now is {}; set AZURE_BATCH_ENDPOINT to resume it",
                old.run_id, old.target, self.endpoint
            )));
        }
        Ok(())
    }

    fn execute(&mut self, run: &mut Run<'_, '_>) -> Result<Outcome, RunError> {
        let opts = self.options(
            RunIds::of(run.record),
            Arc::clone(&run.interrupt),
            run.stage.links(),
            run.record.carried(),
        );
        let env = Env {
            run_dir: run.dir,
            policy: run.policy,
            observer: run.observer,
            origins: &self.origins,
        };
        let plan = run.plan;
        let client = self.client.clone();
        let arm = self.arm.clone();
        let (outcome, report) = self.runtime.block_on(runner::run(plan, client, arm, opts, env));
        self.report = report;
        Ok(outcome)
    }

    fn finish(&mut self, run: &mut Run<'_, '_>, outcome: &Outcome) -> Result<Results, RunError> {
        if matches!(outcome, Outcome::Interrupted) {
            // Pools and jobs stay on Batch for `--resume` (or `batchflow cancel`).
            return Ok(Results {
                reports: interrupted_reports(run),
                problems: Vec::new(),
                usage: usage(&self.report),
            });
        }
        let states = self.final_states(run.plan, run);
        let done = run.dir.steps_done();
        let end = RunEnd {
            client: &self.client,
            plan: run.plan,
            run_id: &run.record.run_id,
            job_ids: &run.record.batch_jobs,
            done: &done,
            keep_pools: self.settings.keep_pools,
            arm: self.arm.as_ref(),
        };
        for line in self.runtime.block_on(release::end_run(&end)) {
            run.observer.note(&line);
        }
        let usage = usage(&self.report);
        let reports = reports(run.record, &states, &self.report);
        let mut problems = self.problems(run.plan);
        if let Outcome::Aborted(e) = outcome {
            problems.push(e.problem(None));
        }
        Ok(Results {
            reports,
            problems,
            usage,
        })
    }
}

/// The record's tasks after an interrupt, asking Batch nothing: those sent to Batch (their
/// collection sent, or being sent) and not known to have ended are `interrupted`, the rest as
/// recorded.
fn interrupted_reports(run: &Run<'_, '_>) -> Vec<TaskReport> {
    let mut steps = run.dir.steps_sent();
    steps.extend(run.dir.steps_done());
    let sent = crate::exec::plan_tasks::tasks_of_steps(run.plan, &steps);
    run.record
        .tasks
        .iter()
        .map(|rec| {
            let mut r = rec.report();
            if !r.state.is_final() && sent.contains(&(rec.job.clone(), rec.task.clone())) {
                r.state = TaskState::Interrupted;
            }
            r
        })
        .collect()
}

/// Node-hours of the pools that became ready in this process, from then until now (the end
/// of the run, its pools deleted).
fn usage(report: &Findings) -> Vec<PoolHours> {
    report
        .ready
        .iter()
        .map(|r| {
            let hours = r.at.elapsed().as_secs_f64() / 3600.0;
            PoolHours {
                pool: r.pool.clone(),
                dedicated_hours: hours * f64::from(r.dedicated),
                low_priority_hours: hours * f64::from(r.low_priority),
            }
        })
        .collect()
}

/// Each task of the record as Batch last reported it, with the runner's reasons.
fn reports(record: &RunState, states: &HashMap<String, Vec<TaskStatus>>, report: &Findings) -> Vec<TaskReport> {
    let mut reasons: HashMap<(&str, &str), &str> = HashMap::new();
    for f in &report.failed_tasks {
        reasons.insert((f.job.as_str(), f.task.as_str()), f.reason.as_str());
    }
    for (job, task, why) in &report.rejected {
        reasons.insert((job.as_str(), task.as_str()), why.as_str());
    }
    let by_id: HashMap<(&str, &str), &TaskStatus> = states
        .iter()
        .flat_map(|(job, list)| list.iter().map(move |t| ((job.as_str(), t.task.as_str()), t)))
        .collect();
    record
        .tasks
        .iter()
        .map(|rec| {
            let key = (rec.job.as_str(), rec.task.as_str());
            let mut r = rec.report();
            match by_id.get(&key) {
                Some(t) => {
                    r.state = t.state;
                    r.exit_code = t.exit_code;
                    r.attempts = t.attempts;
                    r.duration = t.duration;
                }
                // Never created (refused by Batch, or after a failure): it did not run.
                None => r.state = TaskState::Blocked,
            }
            r.reason = reasons.get(&key).map(|s| s.to_string());
            r
        })
        .collect()
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
