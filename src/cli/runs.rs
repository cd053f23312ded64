//! The run folders of a repository: new run ids, finding a run by id, prefix or `latest`,
//! `batchflow runs` and `batchflow logs`.

use super::{eprint_line, print_out, usage_error, OK};
use batchflow::exec::TaskState;
use batchflow::plan::Plan;
use batchflow::state::{self, RunDir, RunState, RunStatus, TaskRecord};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// A run to continue with `--resume`: its folder, its state and the plan it runs.
pub(super) struct Stopped {
    pub run_dir: RunDir,
    pub state: RunState,
    pub plan: Plan,
}

/// Opens run `which` (an id, a unique prefix, or `latest`) to continue it, reading its state
/// and plan once; a run whose process still runs is refused.
pub(super) fn open_stopped(root: &Path, which: &str) -> Result<Stopped, u8> {
    let dir = find_run(root, which).map_err(|e| usage_error(&e))?;
    let run_dir = RunDir::open(dir.clone());
    let (state, _) = run_dir
        .load()
        .map_err(|e| usage_error(&format!("cannot read the state of `{}`: {e}", dir.display())))?;
    if state.status_text() == "running" {
        return Err(usage_error(&format!(
            "run `{}` is still running (process {})",
            state.run_id, state.owner_pid
        )));
    }
    let plan_text = std::fs::read_to_string(run_dir.plan_path())
        .map_err(|e| usage_error(&format!("cannot read the plan of `{}`: {e}", dir.display())))?;
    let plan: Plan = serde_json::from_str(&plan_text)
        .map_err(|e| usage_error(&format!("the plan of `{}` is damaged: {e}", dir.display())))?;
    Ok(Stopped { run_dir, state, plan })
}

/// Creates the folder of a new run and writes its state and its plan (secrets as placeholders)
/// before anything runs: a run killed at any point after this can be resumed.
pub(super) fn create_run(
    root: &Path,
    file: &Path,
    params: &[String],
    plan: &Plan,
    target: String,
    tasks: Vec<TaskRecord>,
) -> Result<(RunDir, RunState), u8> {
    let run_id = new_run_id(root, &plan.workflow);
    let mut run_dir =
        RunDir::create(root.join(&run_id)).map_err(|e| usage_error(&format!("cannot create the run folder: {e}")))?;
    let started_ms = now_ms();
    let record = RunState {
        run_id,
        workflow: plan.workflow.clone(),
        file: file.display().to_string(),
        params: params.to_vec(),
        started: started_ms / 1000,
        started_ms,
        status: RunStatus::Running,
        owner_pid: std::process::id(),
        target,
        tasks,
    };
    run_dir
        .save(&record)
        .map_err(|e| usage_error(&format!("cannot write the run state: {e}")))?;
    let written = serde_json::to_string(plan)
        .map_err(std::io::Error::from)
        .and_then(|json| std::fs::write(run_dir.plan_path(), json));
    written.map_err(|e| usage_error(&format!("cannot write the plan into the run folder: {e}")))?;
    Ok((run_dir, record))
}

fn new_run_id(root: &Path, workflow: &str) -> String {
    let stamp = stamp(now_ms() / 1000);
    let base: String = workflow
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(40)
        .collect();
    let mut id = format!("{base}-{stamp}");
    let mut n = 1;
    while root.join(&id).exists() {
        n += 1;
        id = format!("{base}-{stamp}-{n}");
    }
    id
}

pub(super) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `20261123-141502` in UTC.
fn stamp(secs: u64) -> String {
    let date = batchflow::stdlib::Date::from_unix(secs);
    let t = secs % 86_400;
    format!(
        "{:04}{:02}{:02}-{:02}{:02}{:02}",
        date.year,
        date.month,
        date.day,
        t / 3600,
        (t % 3600) / 60,
        t % 60
    )
}

/// A run by id, by a unique prefix of it, or the newest one (`""` or `latest`).
pub fn find_run(root: &Path, which: &str) -> Result<PathBuf, String> {
    let runs = state::list_runs(root);
    if runs.is_empty() {
        return Err(format!("there are no runs in {}", root.display()));
    }
    if which.is_empty() || which == "latest" {
        return runs.first().map(|(p, _)| p.clone()).ok_or_else(|| "no runs".into());
    }
    let name = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    if let Some((p, _)) = runs.iter().find(|(p, _)| name(p) == which) {
        return Ok(p.clone());
    }
    let matches: Vec<&PathBuf> = runs
        .iter()
        .map(|(p, _)| p)
        .filter(|p| name(p).starts_with(which))
        .collect();
    match matches.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(format!("no run `{which}`; `batchflow runs` lists them")),
        many => Err(format!("`{which}` matches {} runs; give more of the id", many.len())),
    }
}

/// `batchflow runs`: every run, newest first.
pub fn runs() -> u8 {
    let root = match std::env::current_dir() {
        Ok(d) => state::runs_root(&d),
        Err(e) => return usage_error(&format!("cannot read the current directory: {e}")),
    };
    let runs = state::list_runs(&root);
    if runs.is_empty() {
        eprint_line(&format!("no runs yet in {}", root.display()));
        return OK;
    }
    let mut out = String::from(
        "run                                          status       tasks  succeeded  failed  blocked  workflow              target\n",
    );
    for (path, st) in runs {
        let id = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        match st {
            Some(s) => {
                let n = |state: TaskState| s.tasks.iter().filter(|t| t.state == state).count();
                let status = s.status_text();
                // The account's host (and port) says which one; the scheme adds nothing.
                let target = s.target.split("://").nth(1).unwrap_or(&s.target);
                out.push_str(&format!(
                    "{id:<44} {status:<12} {:>5}  {:>9}  {:>6}  {:>7}  {:<20}  {target}\n",
                    s.tasks.len(),
                    n(TaskState::Succeeded),
                    n(TaskState::Failed),
                    n(TaskState::Blocked),
                    s.workflow
                ));
            }
            None => out.push_str(&format!("{id:<44} (no readable state)\n")),
        }
    }
    print_out(&out).err().unwrap_or(OK)
}

/// `batchflow logs RUN TASK`: a task's `stdout.txt` (and `stderr.txt` with `--stderr`).
pub fn logs(run: &str, task: &str, stderr: bool) -> u8 {
    let root = match std::env::current_dir() {
        Ok(d) => state::runs_root(&d),
        Err(e) => return usage_error(&format!("cannot read the current directory: {e}")),
    };
    let dir = match find_run(&root, run) {
        Ok(d) => d,
        Err(e) => return usage_error(&e),
    };
    let Ok((st, _)) = RunDir::open(dir.clone()).load() else {
        return usage_error(&format!("cannot read the state of `{}`", dir.display()));
    };
    let (job, name) = match task.split_once('/') {
        Some((j, t)) => (Some(j), t),
        None => (None, task),
    };
    let found: Vec<&TaskRecord> = st
        .tasks
        .iter()
        .filter(|t| t.task.eq_ignore_ascii_case(name) && job.is_none_or(|j| t.job == j))
        .collect();
    let rec = match found.as_slice() {
        [one] => *one,
        [] => {
            let names = st.tasks.iter().map(|t| t.task.as_str());
            let hint = batchflow::suggest::did_you_mean(name, names).unwrap_or_default();
            return usage_error(&format!("run `{}` has no task `{task}` {hint}", st.run_id));
        }
        _ => return usage_error(&format!("`{task}` is in several jobs; write it as JOB/{task}")),
    };
    let file = if stderr { "stderr.txt" } else { "stdout.txt" };
    if st.target != "local" {
        return super::status::remote_log(&RunDir::open(dir), &st, rec, file);
    }
    let Some(node) = &rec.node else {
        return usage_error(&format!(
            "`{}` never ran in this run ({})",
            rec.task,
            rec.state.as_str()
        ));
    };
    let task_dir = dir
        .join("nodes")
        .join(node)
        .join("workitems")
        .join(&rec.job)
        .join("job-1")
        .join(&rec.task);
    match std::fs::read(task_dir.join(file)) {
        Ok(bytes) => print_out(&String::from_utf8_lossy(&bytes)).err().unwrap_or(OK),
        Err(e) => usage_error(&format!("cannot read {}: {e}", task_dir.join(file).display())),
    }
}
