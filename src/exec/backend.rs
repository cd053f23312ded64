//! What a backend is to the run driver: something that executes a plan's steps on its target
//! and says how every task ended. The driver owns everything both share (the run folder,
//! resuming, the hook policy, `on_complete`, the summary); a backend owns only its target.

use super::error::RunError;
use super::policy::HookPolicy;
use super::stage::{Carrier, Stage};
use super::state::{RunDir, RunState};
use super::{Observer, TaskReport};
use crate::diagnostics::Problem;
use crate::plan::Plan;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// How `execute` ended.
#[derive(Debug)]
pub enum Outcome {
    /// Every task reached a final state (succeeded, failed or blocked).
    Finished,
    /// Ctrl-C or SIGTERM: stopped with everything left to resume.
    Interrupted,
    /// Something stopped the whole run: `on_task_failed` said abort, a pool exists with
    /// another configuration, a pool never came up.
    Aborted(RunError),
}

/// What a backend found: every task's report, in the order of the run record, and the problems
/// to show (failed tasks, refused steps) at the lines that declare them.
#[derive(Debug, Default)]
pub struct Results {
    pub reports: Vec<TaskReport>,
    pub problems: Vec<Problem>,
    /// Node-hours each pool used, where the backend measures them (the azure one).
    pub usage: Vec<crate::plan::estimate::PoolHours>,
}

/// One run, as the driver hands it to its backend.
pub struct Run<'a, 'h> {
    pub plan: &'a Plan,
    pub dir: &'a mut RunDir,
    /// The run record: a backend keeps its tasks up to date as they move (the local backend
    /// journals each change; the azure backend writes what Batch says at the end).
    pub record: &'a mut RunState,
    /// The stopped run's record, when this one continues it.
    pub resumed: Option<RunState>,
    pub policy: &'a mut HookPolicy<'h>,
    /// The run's staging: placeholders filled in as bodies are sent, a local run's files.
    pub stage: &'a Stage,
    pub observer: &'a mut dyn Observer,
    /// Set by Ctrl-C or SIGTERM.
    pub interrupt: Arc<AtomicBool>,
}

pub trait Backend {
    /// Where the run goes, as the run record keeps it: `local`, or the Batch endpoint.
    fn target(&self) -> String;

    /// Where the tasks will run, for the line that starts a run: the simulated nodes of a
    /// local run, the account of an azure one.
    fn describe(&self) -> String {
        self.target()
    }

    /// How tasks reach their files: copied on this machine, or through storage.
    fn carrier(&self) -> Carrier {
        Carrier::Local
    }

    /// Whether the stopped run `old` can be continued here.
    fn resumable(&self, old: &RunState) -> Result<(), RunError> {
        let _ = old;
        Ok(())
    }

    /// Runs the steps of `run.plan` that are not done yet: pools and their start tasks, jobs,
    /// tasks in dependency order, retries; a task that fails for good goes to
    /// `run.policy.task_failed`. Returns when every task is final, or on an interrupt or an
    /// abort.
    ///
    /// Leaves behind: every step it finished recorded in `run.dir`, so a resumed run starts
    /// after it; the local backend, no process of its own (an interrupted one stops its
    /// tasks' process groups) and each task's files under the run's `nodes/`; the azure
    /// backend, the pools and jobs as they are on Batch.
    fn execute(&mut self, run: &mut Run<'_, '_>) -> Result<Outcome, RunError>;

    /// After `execute`, however it ended: the report of every task, and the problems to show.
    ///
    /// Leaves behind: after an interrupt, everything as it was, to resume; otherwise the
    /// target ended: the azure backend terminates the run's jobs and deletes the pools this
    /// run created (not those it found, nor any with `--keep-pools`); the local one has
    /// nothing left to end.
    fn finish(&mut self, run: &mut Run<'_, '_>, outcome: &Outcome) -> Result<Results, RunError>;
}
