//! Backends execute a [`Plan`](crate::plan::Plan): the local one on this machine, the azure one
//! on Batch. They never re-interpret the language: what they run is what `plan` printed.

pub mod azure;
pub mod backend;
pub mod cache;
pub mod cloud;
pub mod driver;
#[cfg(test)]
mod driver_tests;
pub mod error;
pub mod identity;
pub mod inspect;
pub mod local;
pub mod plan_tasks;
pub mod policy;
mod preflight;
pub mod rerun;
pub mod runs;
pub mod stage;
pub mod state;
pub mod storage_error;

use std::time::Duration;

/// Where one task ended up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskState {
    /// Not started: waiting for dependencies, its job, a start task or a free slot.
    Waiting,
    Running,
    Succeeded,
    Failed,
    /// Never run because something it depends on failed.
    Blocked,
    /// Under way when the run was interrupted (Ctrl-C, SIGTERM): locally its process was
    /// stopped; on Azure Batch it had been sent, and Batch may still run it. A resumed run
    /// runs it (or, on Batch, watches it) to its end.
    Interrupted,
}

impl TaskState {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Waiting => "waiting",
            TaskState::Running => "running",
            TaskState::Succeeded => "succeeded",
            TaskState::Failed => "failed",
            TaskState::Blocked => "blocked",
            TaskState::Interrupted => "interrupted",
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, TaskState::Succeeded | TaskState::Failed | TaskState::Blocked)
    }
}

/// Counts of tasks per state, for progress displays.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub waiting: usize,
    pub running: usize,
    pub succeeded: usize,
    pub failed: usize,
    pub blocked: usize,
    pub interrupted: usize,
}

impl Counts {
    pub fn total(&self) -> usize {
        self.waiting + self.running + self.succeeded + self.failed + self.blocked + self.interrupted
    }

    pub fn done(&self) -> usize {
        self.succeeded + self.failed + self.blocked
    }

    pub fn add(&mut self, state: TaskState, n: isize) {
        let slot = match state {
            TaskState::Waiting => &mut self.waiting,
            TaskState::Running => &mut self.running,
            TaskState::Succeeded => &mut self.succeeded,
            TaskState::Failed => &mut self.failed,
            TaskState::Blocked => &mut self.blocked,
            TaskState::Interrupted => &mut self.interrupted,
        };
        *slot = slot.saturating_add_signed(n);
    }
}

/// What a backend tells the person watching: progress, one line at a time.
pub trait Observer {
    /// Counts changed (called often; displays throttle themselves).
    fn progress(&mut self, counts: &Counts);
    /// Something worth a line: a start task failed, a task is retried, a hook said abort.
    fn note(&mut self, line: &str);
    /// How a long wait stands, e.g. a pool allocating nodes; `key` names what is waited on
    /// (a later call with the same key replaces the earlier state), `None` ends the wait.
    fn waiting(&mut self, key: &str, line: Option<&str>) {
        let _ = (key, line);
    }
    /// A task succeeded (for staging, which brings its outputs back as it does).
    fn task_succeeded(&mut self, job: &str, task: &str) {
        let _ = (job, task);
    }
}

/// One task's result, for the summary table.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TaskReport {
    pub job: String,
    pub task: String,
    pub state: TaskState,
    pub exit_code: Option<i32>,
    pub attempts: u32,
    pub duration: Option<Duration>,
    /// The task directory holding `stdout.txt` and `stderr.txt`.
    pub output: Option<std::path::PathBuf>,
    /// Why it failed or was blocked, in a few words.
    pub reason: Option<String>,
    /// Not run: taken from the task cache.
    pub cached: bool,
}
