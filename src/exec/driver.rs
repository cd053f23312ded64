//! The one run loop both backends share: the run folder (a new one, or a stopped run opened
//! again), the hook policy (`on_task_failed` through the backend, `on_complete` once), the
//! run record's final state and the summary. The CLI only chooses the backend and prints.
//!
//! Data staging lives here, above both backends (`stage`): it checks and uploads a run's
//! inputs before `execute`, brings each task's outputs back as it succeeds, and what is still
//! due after `finish`. The task cache is to plug in the same way: it marks the tasks it can
//! reuse as succeeded in the record before `execute`, so neither backend runs them.

use super::backend::{Backend, Outcome, Run};
use super::cache::{self, Consulted};
use super::error::RunError;
use super::plan_tasks;
use super::policy::HookPolicy;
use super::runs::{self, NewRun};
use super::stage::{self, Opening, Stage};
use super::state::{RunDir, RunState, RunStatus, TaskRecord};
use super::{Observer, TaskReport};
use crate::diagnostics::Problem;
use crate::exit;
use crate::hooks::Hooks;
use crate::plan::task_graph::TaskRef;
use crate::plan::Plan;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// How a run starts.
pub enum Start<'a> {
    /// A new run of a workflow that compiled and planned.
    Fresh {
        root: &'a Path,
        file: &'a Path,
        /// The workflow's text as compiled, and its hook script's.
        text: &'a str,
        hooks: Option<&'a str>,
        params: &'a [String],
        /// `--rerun-failed`: the earlier run's succeeded tasks, carried over.
        rerun: Option<super::rerun::Rerun>,
        /// Consult the task cache (`--no-cache` turns it off).
        cache: bool,
    },
    /// A stopped run (its folder and its record), continued where it stopped.
    Resume { run_dir: RunDir, state: RunState },
}

/// A run whose folder exists, about to execute.
pub struct Driver<'p> {
    plan: &'p Plan,
    dir: RunDir,
    record: RunState,
    resumed: Option<RunState>,
    /// Storage credentials for staging (the Azure CLI's variables).
    env: HashMap<String, String>,
    /// The task keys the run records its succeeded tasks under (none: the cache is off).
    keys: HashMap<TaskRef, String>,
    /// What the cache had to say, told once the run starts.
    notes: Vec<String>,
}

/// How a run ended, for the summary and the exit code.
#[derive(Debug)]
pub struct Finished {
    pub run_id: String,
    pub target: String,
    pub run_path: PathBuf,
    pub status: RunStatus,
    pub reports: Vec<TaskReport>,
    /// Failed tasks, refused steps, a hook's error: at the lines that declare them.
    pub problems: Vec<Problem>,
    /// What stopped the whole run, if something did.
    pub aborted: Option<RunError>,
    /// Node-hours each pool used, where the backend measures them.
    pub usage: Vec<crate::plan::estimate::PoolHours>,
    /// The run this one reran, whose succeeded tasks it took as they were.
    pub rerun_of: Option<String>,
}

impl Finished {
    pub fn exit_code(&self) -> u8 {
        match (&self.status, &self.aborted) {
            (RunStatus::Interrupted, _) => exit::INTERRUPTED,
            (RunStatus::Succeeded, None) => exit::OK,
            _ => exit::FOUND_ERRORS,
        }
    }
}

impl<'p> Driver<'p> {
    /// Creates the run's folder (a new run) or takes over a stopped run's: from here on the
    /// run can be resumed whatever happens.
    pub fn start(
        plan: &'p Plan,
        start: Start<'_>,
        backend: &dyn Backend,
        env: HashMap<String, String>,
    ) -> Result<Driver<'p>, RunError> {
        let repo = match &start {
            Start::Fresh { root, .. } => runs::repo_of(root),
            Start::Resume { run_dir, .. } => stage::repo_of(&run_dir.path),
        };
        stage::precheck(plan, backend.carrier(), &repo, &env)?;
        match start {
            Start::Fresh {
                root,
                file,
                text,
                hooks,
                params,
                rerun,
                cache,
            } => {
                let (mut tasks, rerun_of) = match rerun {
                    Some(r) => (r.tasks, Some(r.of)),
                    None => (
                        plan_tasks::tasks(plan)
                            .into_iter()
                            .map(|(job, task, _)| TaskRecord::waiting(job, task))
                            .collect(),
                        None,
                    ),
                };
                let consulted = from_cache(plan, &repo, &env, &mut tasks, cache);
                let (dir, record) = runs::create(NewRun {
                    root,
                    file,
                    text,
                    hooks,
                    params,
                    plan,
                    target: backend.target(),
                    tasks,
                    rerun_of,
                })?;
                if !consulted.keys.is_empty() {
                    cache::save_keys(&dir.path, &consulted.keys)?;
                }
                Ok(Driver {
                    plan,
                    dir,
                    record,
                    resumed: None,
                    env,
                    keys: consulted.keys,
                    notes: consulted.notes,
                })
            }
            Start::Resume { run_dir, state } => {
                backend.resumable(&state)?;
                let mut record = state.clone();
                record.status = RunStatus::Running;
                record.owner_pid = std::process::id();
                let keys = cache::load_keys(&run_dir.path);
                Ok(Driver {
                    plan,
                    dir: run_dir,
                    record,
                    resumed: Some(state),
                    env,
                    keys,
                    notes: Vec::new(),
                })
            }
        }
    }

    pub fn record(&self) -> &RunState {
        &self.record
    }

    pub fn path(&self) -> &Path {
        &self.dir.path
    }

    /// Executes the plan on `backend`, then ends the run there, runs `on_complete` once and
    /// writes the record's final state.
    pub fn run(
        mut self,
        backend: &mut dyn Backend,
        hooks: Option<&Hooks>,
        observer: &mut dyn Observer,
        interrupt: Arc<AtomicBool>,
    ) -> Result<Finished, RunError> {
        let mut policy = HookPolicy::new(hooks);
        for n in &self.notes {
            observer.note(n);
        }
        // A rerun's carried tasks are succeeded in its record: handed over as a resumed run's
        // are, so the backend does not run them.
        let carried = self.record.carried();
        if self.resumed.is_none() && !carried.is_empty() {
            self.resumed = Some(self.record.clone());
        }
        let opening = Opening {
            plan: self.plan,
            carrier: backend.carrier(),
            run_dir: &self.dir.path,
            run_id: &self.record.run_id,
            env: &self.env,
            carried: &carried,
        };
        let stage = match Stage::open(opening, observer) {
            Ok(s) => s,
            Err(e) => {
                self.record.status = RunStatus::Failed;
                let _ = self.dir.save(&self.record);
                return Err(e);
            }
        };
        let mut delivering = Delivering {
            inner: observer,
            stage: &stage,
        };
        let mut run = Run {
            plan: self.plan,
            dir: &mut self.dir,
            record: &mut self.record,
            resumed: self.resumed.take(),
            policy: &mut policy,
            stage: &stage,
            observer: &mut delivering,
            interrupt,
        };
        let outcome = match backend.execute(&mut run) {
            Ok(o) => o,
            Err(e) => {
                // The folder says the run failed rather than that it still runs.
                run.record.status = RunStatus::Failed;
                let _ = run.dir.save(run.record);
                return Err(e);
            }
        };
        let mut results = backend.finish(&mut run, &outcome)?;
        carried_over(run.record, &mut results.reports);
        let mut problems = results.problems;
        problems.extend(stage.finish(&results.reports, run.observer));
        let clean = problems.is_empty();
        merge(run.record, &results.reports);
        if !self.keys.is_empty() {
            let brought_back = stage.brought_back();
            let ended = cache::Ended {
                plan: self.plan,
                repo: &stage::repo_of(&run.dir.path),
                env: &self.env,
                run_id: &run.record.run_id,
                tasks: &run.record.tasks,
                keys: &self.keys,
                brought_back: &brought_back,
            };
            for n in cache::remember(&ended) {
                run.observer.note(&n);
            }
        }
        let interrupted = matches!(outcome, Outcome::Interrupted);
        if !interrupted {
            let origin = self.plan.steps.first().map(|s| s.origin).unwrap_or_default();
            if let Err(d) = run.policy.complete(&run.record.workflow, &results.reports, origin) {
                let mut p = Problem::error(format!("on_complete failed: {}", d.message)).at(Some(d.span));
                if let Some(h) = d.help {
                    p = p.with_help(h);
                }
                problems.push(p);
            }
        }
        let all_succeeded = results.reports.iter().all(|r| r.state == super::TaskState::Succeeded);
        let aborted = match outcome {
            Outcome::Aborted(e) => Some(e),
            _ => None,
        };
        run.record.status = if interrupted {
            RunStatus::Interrupted
        } else if all_succeeded && aborted.is_none() && clean {
            RunStatus::Succeeded
        } else {
            RunStatus::Failed
        };
        run.dir
            .save(run.record)
            .map_err(|e| RunError::io("cannot write the run state", e))?;
        Ok(Finished {
            run_id: self.record.run_id.clone(),
            target: self.record.target.clone(),
            run_path: self.dir.path.clone(),
            status: self.record.status.clone(),
            reports: results.reports,
            problems,
            aborted,
            usage: results.usage,
            rerun_of: self.record.rerun_of.clone(),
        })
    }
}

/// The observer the backend sees: the caller's, and staging told of each task that succeeds.
struct Delivering<'o, 's> {
    inner: &'o mut dyn Observer,
    stage: &'s Stage,
}

impl Observer for Delivering<'_, '_> {
    fn progress(&mut self, counts: &super::Counts) {
        self.inner.progress(counts);
    }
    fn note(&mut self, line: &str) {
        self.inner.note(line);
    }
    fn waiting(&mut self, key: &str, line: Option<&str>) {
        self.inner.waiting(key, line);
    }
    fn task_succeeded(&mut self, job: &str, task: &str) {
        self.stage.task_succeeded(job, task);
        self.inner.task_succeeded(job, task);
    }
}

/// The tasks a rerun took from an earlier run stay as that run left them: succeeded, with
/// where their outputs are as the reason.
fn carried_over(record: &RunState, reports: &mut [TaskReport]) {
    let from: HashMap<(&str, &str), (&str, &TaskRecord)> = record
        .tasks
        .iter()
        .filter_map(|t| t.from.as_deref().map(|f| ((t.job.as_str(), t.task.as_str()), (f, t))))
        .collect();
    for r in reports {
        if let Some((run, rec)) = from.get(&(r.job.as_str(), r.task.as_str())).copied() {
            *r = rec.report();
            r.reason = Some(if rec.cached {
                format!("cached: the same task succeeded in run `{run}`")
            } else {
                format!("succeeded in run `{run}`; not run again")
            });
        }
    }
}

/// Marks the tasks the cache can take as they are: succeeded, in the run whose outputs
/// they are. Tasks a rerun carries over stay as they are.
fn from_cache(
    plan: &Plan,
    repo: &Path,
    env: &HashMap<String, String>,
    tasks: &mut [TaskRecord],
    reuse: bool,
) -> Consulted {
    let carried = super::state::carried(tasks);
    let consulted = cache::consult(&cache::Asked {
        plan,
        repo,
        env,
        carried: &carried,
        restore: true,
        reuse,
        offline: false,
    });
    for t in tasks.iter_mut() {
        if let Some(run) = consulted.reused.get(&(t.job.clone(), t.task.clone())) {
            t.state = super::TaskState::Succeeded;
            t.from = Some(run.clone());
            t.cached = true;
        }
    }
    consulted
}

/// The record's tasks as the backend last reported them.
fn merge(record: &mut RunState, reports: &[TaskReport]) {
    let by_id: HashMap<(&str, &str), &TaskReport> =
        reports.iter().map(|r| ((r.job.as_str(), r.task.as_str()), r)).collect();
    for rec in &mut record.tasks {
        if let Some(r) = by_id.get(&(rec.job.as_str(), rec.task.as_str())) {
            rec.state = r.state;
            rec.exit_code = r.exit_code;
            rec.attempts = r.attempts;
            rec.duration_ms = r.duration.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
            rec.reason.clone_from(&r.reason);
        }
    }
}
