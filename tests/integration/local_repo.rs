//! What the local-run tests add to the builder's temporary repository (`support.rs`):
//! workflows with placeholders, and helpers to read what a run left: its state, its summary
//! rows, its node folders. Every test gets its own repository (an empty `.git` marks its
//! root), so its runs land in that folder's `.batchflow/runs/`. Tasks record what they saw in
//! files of the repository; concurrency is measured from start and end times the tasks write
//! themselves.

pub use crate::support::{show, Output, Repo, Test};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A plain Linux pool's attributes (no container runtime).
pub const LINUX: &str = r#"  vm_size    = "Standard_D2s_v5"
  image      = marketplace("Canonical", "ubuntu-24_04-lts", "server")
  node_agent = "batch.node.ubuntu 24.04""#;

/// A container-capable pool's attributes (the `containers { }` block comes separately).
pub const CONTAINER_HOST: &str = r#"  vm_size    = "Standard_D2s_v5"
  image      = marketplace("microsoft-dsvm", "ubuntu-hpc", "2404")
  node_agent = "batch.node.ubuntu 24.04""#;

/// The image of the container tests; the stand-in CLI looks for it in its arguments.
pub const IMAGE: &str = "docker.io/library/busybox:1.36";

/// A command that sleeps and records when it ran: `<start ns> <end ns>` in
/// `@DIR@/times/<task id>`.
pub const TIMED: &str =
    "/bin/sh -c 's=$(date +%s%N); sleep 0.4; e=$(date +%s%N); echo $s $e > @DIR@/times/$AZ_BATCH_TASK_ID'";

/// A temporary repository for local runs, with the folders its tasks record into.
pub fn local_repo() -> Repo {
    let repo = Repo::new();
    for sub in ["times", "marks", "argv", "used"] {
        repo.mkdir(sub);
    }
    repo
}

/// What the local-run tests do with their repository, on top of the builder's.
pub trait LocalRepo {
    /// Writes a workflow (or any file), filling in `@DIR@` (this repository), `@LINUX@`,
    /// `@CONTAINER_HOST@`, `@TIMED@` and `@IMAGE@`.
    fn workflow(&self, name: &str, text: &str) -> PathBuf;
    /// An executable `sh` script, with the same placeholders.
    fn script(&self, name: &str, text: &str) -> PathBuf;
    /// `batchflow run ARGS`, to end with `.success()`, `.failure()` or `.status(n)`.
    fn run(&self, args: &[&str]) -> Test;
    fn runs_root(&self) -> PathBuf;
    /// The run folders, sorted by name.
    fn run_dirs(&self) -> Vec<PathBuf>;
    /// The one run of the test.
    fn only_run(&self) -> PathBuf;
    /// How many lines a marker file has (0 when it does not exist).
    fn count(&self, rel: &str) -> usize;
    /// `(task id, start ns, end ns)` of every timed task, by task id.
    fn intervals(&self) -> Vec<(String, u128, u128)>;
}

impl LocalRepo for Repo {
    fn workflow(&self, name: &str, text: &str) -> PathBuf {
        self.write(name, fill(self, text))
    }

    fn script(&self, name: &str, text: &str) -> PathBuf {
        self.executable(name, fill(self, text))
    }

    fn run(&self, args: &[&str]) -> Test {
        self.test().arg("run").args(args)
    }

    fn runs_root(&self) -> PathBuf {
        self.path().join(".batchflow/runs")
    }

    fn run_dirs(&self) -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = std::fs::read_dir(self.runs_root())
            .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        out.sort();
        out
    }

    fn only_run(&self) -> PathBuf {
        let runs = self.run_dirs();
        assert_eq!(runs.len(), 1, "{runs:?}");
        runs.into_iter().next().expect("a run")
    }

    fn count(&self, rel: &str) -> usize {
        std::fs::read_to_string(self.path().join(rel)).map_or(0, |t| t.lines().count())
    }

    fn intervals(&self) -> Vec<(String, u128, u128)> {
        let mut out: Vec<(String, u128, u128)> = std::fs::read_dir(self.path().join("times"))
            .expect("times/")
            .filter_map(|e| e.ok())
            .map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let text = std::fs::read_to_string(e.path()).expect("times file");
                let mut it = text.split_whitespace().map(|n| n.parse::<u128>().expect("ns"));
                let start = it.next().expect("start");
                let end = it.next().expect("end");
                (name, start, end)
            })
            .collect();
        out.sort();
        out
    }
}

fn fill(repo: &Repo, text: &str) -> String {
    text.replace("@LINUX@", LINUX)
        .replace("@CONTAINER_HOST@", CONTAINER_HOST)
        .replace("@TIMED@", TIMED)
        .replace("@IMAGE@", IMAGE)
        .replace("@DIR@", &repo.path().display().to_string())
}

/// Most intervals that overlap at one moment (an end at the same instant as a start does not
/// overlap it).
pub fn max_overlap(intervals: &[(String, u128, u128)]) -> usize {
    let mut events: Vec<(u128, i32)> = intervals.iter().flat_map(|(_, s, e)| [(*s, 1), (*e, -1)]).collect();
    events.sort_unstable();
    let (mut now, mut max) = (0i32, 0i32);
    for (_, d) in events {
        now += d;
        max = max.max(now);
    }
    usize::try_from(max).unwrap_or(0)
}

pub fn overlaps(a: &(String, u128, u128), b: &(String, u128, u128)) -> bool {
    a.1 < b.2 && b.1 < a.2
}

pub fn state(run: &Path) -> Value {
    let text = std::fs::read_to_string(run.join("state.json")).expect("state.json");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("state.json is not JSON ({e}): {text}"))
}

/// One task's record in `state.json`.
pub fn record<'a>(state: &'a Value, task: &str) -> &'a Value {
    state["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .find(|t| t["task"] == task)
        .unwrap_or_else(|| panic!("no task `{task}` in {state}"))
}

pub fn task_state(state: &Value, task: &str) -> String {
    record(state, task)["state"].as_str().unwrap_or("").to_string()
}

/// The summary table's row of `job/task`.
pub fn row<'a>(out: &'a Output, job_task: &str) -> &'a str {
    out.stdout
        .lines()
        .find(|l| l.starts_with(&format!("{job_task} ")))
        .unwrap_or_else(|| panic!("no row for {job_task}:\n{}", show(out)))
}

/// A task's directory on a node of a run.
pub fn task_dir(run: &Path, node: &str, job: &str, task: &str) -> PathBuf {
    run.join("nodes")
        .join(node)
        .join("workitems")
        .join(job)
        .join("job-1")
        .join(task)
}

/// Every file below a folder.
pub fn files_below(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else { continue };
        for e in rd.filter_map(|e| e.ok()) {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

pub fn named(files: &[PathBuf], name: &str) -> Vec<PathBuf> {
    files
        .iter()
        .filter(|p| p.file_name().is_some_and(|n| n == name))
        .cloned()
        .collect()
}
