//! Run state on disk, so an interrupted run resumes without running a finished task again:
//! `.batchflow/runs/<run-id>/state.json` (rewritten atomically: temporary file, then rename)
//! and `events.jsonl`, a line appended as each task starts and ends, which a killed run
//! leaves behind complete up to its last moment.

use crate::exec::TaskState;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

/// Folder of all runs, under the repository root.
pub const RUNS_DIR: &str = ".batchflow/runs";

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
    Interrupted,
    /// Ended by `batchflow cancel`.
    Cancelled,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TaskRecord {
    pub job: String,
    pub task: String,
    pub state: TaskState,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Process id of the attempt under way, while the task is running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// A task this run did not run because it succeeded in an earlier one (a rerun): the run
    /// whose outputs it is, which are used where they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Taken from the task cache (`from` is the run whose outputs it is), not carried over
    /// by a rerun.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cached: bool,
}

impl TaskRecord {
    /// What the summary shows of this record (the task directory is the backend's to add).
    pub fn report(&self) -> crate::exec::TaskReport {
        crate::exec::TaskReport {
            job: self.job.clone(),
            task: self.task.clone(),
            state: self.state,
            exit_code: self.exit_code,
            attempts: self.attempts,
            duration: self.duration_ms.map(std::time::Duration::from_millis),
            output: None,
            reason: self.reason.clone(),
            cached: self.cached,
        }
    }

    /// A task that has not started.
    pub fn waiting(job: String, task: String) -> TaskRecord {
        TaskRecord {
            job,
            task,
            state: TaskState::Waiting,
            attempts: 0,
            exit_code: None,
            node: None,
            duration_ms: None,
            reason: None,
            pid: None,
            from: None,
            cached: false,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunState {
    pub run_id: String,
    pub workflow: String,
    /// The workflow file as given on the command line.
    pub file: String,
    /// The workflow file from the repository root (absolute outside it); `None` in older runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo_file: Option<String>,
    /// `--param` values, to show what was run (the plan in `plan.json` is what runs).
    pub params: Vec<String>,
    /// Seconds since the Unix epoch.
    pub started: u64,
    /// Milliseconds since the Unix epoch: orders runs started within the same second.
    #[serde(default)]
    pub started_ms: u64,
    pub status: RunStatus,
    /// The `batchflow` process running it, to tell a live run from a killed one.
    #[serde(default)]
    pub owner_pid: u32,
    /// `local`, or the Batch endpoint an azure run talks to.
    #[serde(default = "local_target")]
    pub target: String,
    /// The token that makes this run's Batch job ids its own (`<run-suffix>` in the plan);
    /// `None` in runs from before job ids had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suffix: Option<String>,
    /// An azure run: the Batch id each of the workflow's jobs got, by job name.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub batch_jobs: std::collections::BTreeMap<String, String>,
    /// The run this one reran (`run --rerun-failed`): its tasks that succeeded are this run's
    /// too, not run again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rerun_of: Option<String>,
    pub tasks: Vec<TaskRecord>,
}

fn local_target() -> String {
    "local".into()
}

impl RunState {
    /// The tasks this run takes as they were from an earlier run, by (job, task).
    pub fn carried(&self) -> std::collections::HashSet<(String, String)> {
        carried(&self.tasks)
    }

    /// The tasks this run took from the task cache.
    pub fn cached(&self) -> usize {
        self.tasks.iter().filter(|t| t.cached).count()
    }

    /// `running` only while its process lives; a run whose process died is `stopped`.
    pub fn status_text(&self) -> &'static str {
        match self.status {
            RunStatus::Running if self.owner_alive() => "running",
            RunStatus::Running => "stopped",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Cancelled => "cancelled",
        }
    }

    /// Whether the process that ran it still lives.
    pub fn owner_alive(&self) -> bool {
        i32::try_from(self.owner_pid)
            .ok()
            .filter(|p| *p > 0)
            .is_some_and(|p| nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), None).is_ok() && !zombie(p))
    }
}

/// A process that has exited but whose parent has not collected it yet (Linux).
fn zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| rest.starts_with('Z')))
        .unwrap_or(false)
}

/// One line of `events.jsonl`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Event {
    /// Index into `RunState::tasks`.
    pub task: usize,
    pub state: TaskState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Process id of a started attempt, to find it again after a crash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(default)]
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Tasks started and never seen to end: index into `RunState::tasks`, and process id.
pub type Unfinished = Vec<(usize, Option<u32>)>;

/// How `steps.log` marks a step about to be sent (done steps are bare ids).
const SENDING: &str = "sending ";

pub struct RunDir {
    pub path: PathBuf,
    journal: Option<File>,
}

impl RunDir {
    pub fn create(path: PathBuf) -> std::io::Result<RunDir> {
        std::fs::create_dir_all(&path)?;
        Ok(RunDir { path, journal: None })
    }

    /// Creates the folder `path` as a new run's, failing with `AlreadyExists` when another
    /// run has it: two runs started in the same second never share one.
    pub fn claim(path: PathBuf) -> std::io::Result<RunDir> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::create_dir(&path)?;
        Ok(RunDir { path, journal: None })
    }

    pub fn open(path: PathBuf) -> RunDir {
        RunDir { path, journal: None }
    }

    pub fn state_path(&self) -> PathBuf {
        self.path.join("state.json")
    }

    pub fn plan_path(&self) -> PathBuf {
        self.path.join("plan.json")
    }

    fn steps_path(&self) -> PathBuf {
        self.path.join("steps.log")
    }

    /// Records that a plan step is done (an azure run): one line appended, kept by a crash.
    pub fn mark_step(&self, step: &str) -> std::io::Result<()> {
        let mut f = OpenOptions::new().create(true).append(true).open(self.steps_path())?;
        f.write_all(format!("{step}\n").as_bytes())
    }

    /// The plan steps recorded as done.
    pub fn steps_done(&self) -> std::collections::HashSet<String> {
        std::fs::read_to_string(self.steps_path())
            .map(|t| {
                t.lines()
                    .filter(|l| !l.starts_with(SENDING))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Records that a step's request is about to be sent: after a crash, whatever it creates
    /// may exist without the step being recorded as done.
    pub fn mark_sending(&self, step: &str) -> std::io::Result<()> {
        self.mark_step(&format!("{SENDING}{step}"))
    }

    /// The steps whose requests were sent (or about to be) by any process of this run.
    pub fn steps_sent(&self) -> std::collections::HashSet<String> {
        std::fs::read_to_string(self.steps_path())
            .map(|t| {
                t.lines()
                    .filter_map(|l| l.strip_prefix(SENDING))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    }

    fn events_path(&self) -> PathBuf {
        self.path.join("events.jsonl")
    }

    /// Writes `state.json` through a temporary file and a rename: never half a file. The
    /// journal is folded in, so it starts empty again.
    pub fn save(&mut self, state: &RunState) -> std::io::Result<()> {
        let tmp = self.path.join("state.json.tmp");
        {
            // Buffered: serde writes token by token, and a large run's state is megabytes.
            let mut f = std::io::BufWriter::with_capacity(1 << 20, File::create(&tmp)?);
            serde_json::to_writer(&mut f, state).map_err(std::io::Error::from)?;
            f.flush()?;
            f.get_ref().sync_data()?;
        }
        std::fs::rename(&tmp, self.state_path())?;
        self.journal = None;
        File::create(self.events_path())?;
        Ok(())
    }

    /// Appends one event; written straight through, so a killed process keeps it.
    pub fn append(&mut self, event: &Event) -> std::io::Result<()> {
        if self.journal.is_none() {
            self.journal = Some(OpenOptions::new().create(true).append(true).open(self.events_path())?);
        }
        let mut line = serde_json::to_string(event).map_err(std::io::Error::from)?;
        line.push('\n');
        match self.journal.as_mut() {
            Some(f) => f.write_all(line.as_bytes()),
            None => Ok(()),
        }
    }

    /// `state.json` with the journal's events applied; the second value lists tasks that
    /// were started and never seen to end, with the process id they had.
    pub fn load(&self) -> std::io::Result<(RunState, Unfinished)> {
        let text = std::fs::read_to_string(self.state_path())?;
        let mut state: RunState = serde_json::from_str(&text).map_err(std::io::Error::from)?;
        let mut started: Vec<(usize, Option<u32>)> = Vec::new();
        if let Ok(f) = File::open(self.events_path()) {
            // A line cut short by a crash is the only one that fails to parse: skip it.
            for line in BufReader::new(f).lines().map_while(Result::ok) {
                let Ok(e) = serde_json::from_str::<Event>(&line) else {
                    continue;
                };
                let Some(rec) = state.tasks.get_mut(e.task) else {
                    continue;
                };
                rec.state = e.state;
                rec.attempts = e.attempts;
                rec.exit_code = e.exit_code;
                rec.node = e.node.clone().or(rec.node.take());
                rec.duration_ms = e.duration_ms;
                rec.reason = e.reason.clone();
                rec.pid = e.pid;
                started.retain(|(t, _)| *t != e.task);
                if e.state == TaskState::Running {
                    started.push((e.task, e.pid));
                }
            }
        }
        // Saved as running in state.json itself, with no journal line since: started too.
        let also: Vec<(usize, Option<u32>)> = state
            .tasks
            .iter()
            .enumerate()
            .filter(|(i, r)| r.state == TaskState::Running && !started.iter().any(|(t, _)| t == i))
            .map(|(i, r)| (i, r.pid))
            .collect();
        started.extend(also);
        Ok((state, started))
    }
}

/// The folder runs live in: `.batchflow/runs` at the repository root (the first folder up
/// from `start` with `pipelines/`, `batchflow.toml` or `.git`), else under `start`.
pub fn runs_root(start: &Path) -> PathBuf {
    repo_root(start).join(RUNS_DIR)
}

/// The tasks of `tasks` taken as they were from an earlier run (a rerun's, the cache's),
/// by (job, task).
pub fn carried(tasks: &[TaskRecord]) -> std::collections::HashSet<(String, String)> {
    tasks
        .iter()
        .filter(|t| t.from.is_some())
        .map(|t| (t.job.clone(), t.task.clone()))
        .collect()
}

/// The repository `start` is in (see [`crate::repo_scan::repo_root`]).
pub fn repo_root(start: &Path) -> PathBuf {
    crate::repo_scan::repo_root(start)
}

/// Every run, newest first.
pub fn list_runs(root: &Path) -> Vec<(PathBuf, Option<RunState>)> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut runs: Vec<(PathBuf, Option<RunState>)> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .map(|p| {
            let state = RunDir::open(p.clone()).load().ok().map(|(s, _)| s);
            (p, state)
        })
        .collect();
    runs.sort_by(|a, b| {
        let key = |r: &(PathBuf, Option<RunState>)| r.1.as_ref().map_or(0, |s| s.started_ms.max(s.started * 1000));
        key(b).cmp(&key(a)).then_with(|| b.0.cmp(&a.0))
    });
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> RunState {
        RunState {
            run_id: "r".into(),
            workflow: "w".into(),
            file: "w.batchflow".into(),
            repo_file: None,
            params: Vec::new(),
            started: 1,
            started_ms: 1_000,
            status: RunStatus::Running,
            owner_pid: 0,
            target: "local".into(),
            suffix: None,
            batch_jobs: Default::default(),
            rerun_of: None,
            tasks: (0..3)
                .map(|i| TaskRecord::waiting("j".into(), format!("t-{i}")))
                .collect(),
        }
    }

    #[test]
    fn steps_sent_and_steps_done_are_told_apart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let run = RunDir::create(dir.path().join("r")).expect("create");
        run.mark_sending("create-pool-cpu").expect("mark");
        run.mark_step("create-pool-cpu").expect("mark");
        run.mark_sending("create-job-j").expect("mark");
        let done = run.steps_done();
        assert_eq!(done.into_iter().collect::<Vec<_>>(), ["create-pool-cpu"]);
        let mut sent: Vec<String> = run.steps_sent().into_iter().collect();
        sent.sort();
        assert_eq!(sent, ["create-job-j", "create-pool-cpu"]);
    }

    #[test]
    fn the_journal_survives_without_a_save() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut run = RunDir::create(dir.path().join("r")).expect("create");
        run.save(&state()).expect("save");
        let ev = |task, state, pid| Event {
            task,
            state,
            node: Some("n".into()),
            pid,
            exit_code: None,
            attempts: 1,
            duration_ms: None,
            reason: None,
        };
        run.append(&ev(0, TaskState::Running, Some(11))).expect("append");
        run.append(&ev(0, TaskState::Succeeded, None)).expect("append");
        run.append(&ev(1, TaskState::Running, Some(12))).expect("append");
        // A torn last line, as a crash mid-write leaves it.
        std::fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join("r/events.jsonl"))
            .and_then(|mut f| f.write_all(b"{\"task\":2,\"sta"))
            .expect("torn line");
        let (loaded, started) = RunDir::open(dir.path().join("r")).load().expect("load");
        assert_eq!(loaded.tasks[0].state, TaskState::Succeeded);
        assert_eq!(loaded.tasks[1].state, TaskState::Running);
        assert_eq!(started, vec![(1, Some(12))]);
        assert_eq!(loaded.tasks[2].state, TaskState::Waiting);
    }
}
