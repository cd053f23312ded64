//! The run folders of a repository: a new run's folder (its state, its plan and the workflow
//! text it was planned from, written before anything runs), finding a run by id, unique
//! prefix or `latest`, the run `run FILE --resume` continues (the newest stopped run of that
//! file's workflow), and removing old ones (`batchflow clean`).

use super::error::RunError;
use super::identity::{self, RunIds};
use super::state::{self, RunDir, RunState, RunStatus, TaskRecord};
use crate::plan::Plan;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// The copy of the workflow file a run was planned from, in its folder: a resumed run points
/// at these lines even after the file changed.
pub const WORKFLOW_COPY: &str = "workflow.batchflow";
/// The copy of the hook script, when the workflow has one.
pub const HOOKS_COPY: &str = "hooks.rhai";
/// What `.batchflow/.gitignore` holds when batchflow writes it: nothing in `.batchflow/` (run
/// folders, local state) is for version control, the ignore file included.
const GITIGNORE: &str = "# Written by batchflow: run folders and local state, not for version control.\n*\n";

/// What a new run is made from.
pub struct NewRun<'a> {
    pub root: &'a Path,
    /// The workflow file as given on the command line, and its text as compiled.
    pub file: &'a Path,
    pub text: &'a str,
    /// The hook script's text, when the workflow has one.
    pub hooks: Option<&'a str>,
    pub params: &'a [String],
    pub plan: &'a Plan,
    /// `local`, or the Batch endpoint.
    pub target: String,
    pub tasks: Vec<TaskRecord>,
    /// The run this one reruns (`--rerun-failed`).
    pub rerun_of: Option<String>,
}

/// A stopped run, opened to continue it: its folder, its state, the plan it runs and the
/// workflow (and hook script) text that plan came from.
pub struct Stopped {
    pub run_dir: RunDir,
    pub state: RunState,
    pub plan: Plan,
    /// `None` for a run made before runs kept a copy.
    pub text: Option<String>,
    pub hooks: Option<String>,
}

/// Creates the folder of a new run and writes its state, its plan (secrets as placeholders)
/// and the workflow's text before anything runs: a run killed at any point after this can be
/// resumed.
pub fn create(new: NewRun<'_>) -> Result<(RunDir, RunState), RunError> {
    ignore_state_folder(new.root);
    let (run_id, mut run_dir) =
        claim_run_dir(new.root, &new.plan.workflow).map_err(|e| RunError::io("cannot create the run folder", e))?;
    let started_ms = now_ms();
    let ids = RunIds {
        run_id: run_id.clone(),
        suffix: Some(identity::new_suffix(started_ms)),
    };
    // An azure run records its jobs' Batch ids before anything is sent (`status`, `cancel`
    // and a later run read them); a local run's jobs keep the workflow's names.
    let batch_jobs = if new.target == "local" {
        Default::default()
    } else {
        identity::batch_jobs(new.plan, &ids)
    };
    let record = RunState {
        run_id,
        workflow: new.plan.workflow.clone(),
        file: new.file.display().to_string(),
        repo_file: repo_key(&repo_of(new.root), new.file),
        params: new.params.to_vec(),
        started: started_ms / 1000,
        started_ms,
        status: RunStatus::Running,
        owner_pid: std::process::id(),
        target: new.target,
        suffix: ids.suffix,
        batch_jobs,
        rerun_of: new.rerun_of,
        tasks: new.tasks,
    };
    run_dir
        .save(&record)
        .map_err(|e| RunError::io("cannot write the run state", e))?;
    let plan_json = serde_json::to_string(new.plan).map_err(std::io::Error::from);
    plan_json
        .and_then(|json| std::fs::write(run_dir.plan_path(), json))
        .map_err(|e| RunError::io("cannot write the plan into the run folder", e))?;
    std::fs::write(run_dir.path.join(WORKFLOW_COPY), new.text)
        .map_err(|e| RunError::io("cannot copy the workflow into the run folder", e))?;
    if let Some(hooks) = new.hooks {
        std::fs::write(run_dir.path.join(HOOKS_COPY), hooks)
            .map_err(|e| RunError::io("cannot copy the hook script into the run folder", e))?;
    }
    Ok((run_dir, record))
}

/// Opens a stopped run to continue it, reading its state, plan and workflow copy once: run
/// `which` (an id, a unique prefix, or `latest`/`""`), or with `file` and no run named, the
/// newest stopped run of that workflow file. A run whose process still runs is refused, and
/// so is a named run of another file than `file`.
pub fn open_stopped(root: &Path, which: &str, file: Option<&Path>) -> Result<Stopped, RunError> {
    let latest = which.is_empty() || which == "latest";
    let dir = match file {
        Some(file) if latest => newest_stopped_of(root, file)?,
        _ => find(root, which)?,
    };
    let run_dir = RunDir::open(dir.clone());
    let (state, _) = run_dir
        .load()
        .map_err(|e| RunError::io(format!("cannot read the state of `{}`", dir.display()), e))?;
    if let Some(file) = file.filter(|f| !is_run_of(&state, &repo_of(root), f)) {
        return Err(RunError::Refused(format!(
            "run `{}` is a run of `{}`, not of `{}`; give no run to resume the newest run of `{}`",
            state.run_id,
            state.file,
            file.display(),
            file.display()
        )));
    }
    if state.status_text() == "running" {
        return Err(RunError::Refused(format!(
            "run `{}` is still running (process {})",
            state.run_id, state.owner_pid
        )));
    }
    let plan = read_plan(&run_dir)?;
    let text = std::fs::read_to_string(dir.join(WORKFLOW_COPY)).ok();
    let hooks = std::fs::read_to_string(dir.join(HOOKS_COPY)).ok();
    Ok(Stopped {
        run_dir,
        state,
        plan,
        text,
        hooks,
    })
}

/// Gives `.batchflow/` (the parent of `root`) its own `.gitignore` when it has none, so a
/// repository never commits run folders; one the user wrote is left alone.
fn ignore_state_folder(root: &Path) {
    let Some(folder) = root.parent() else { return };
    let file = folder.join(".gitignore");
    if !file.exists() && std::fs::create_dir_all(folder).is_ok() {
        // Best effort: a run does not fail for want of an ignore file.
        let _ = std::fs::write(file, GITIGNORE);
    }
}

/// What `clean` did: the runs it removed, and those it kept with why.
#[derive(Debug, Default)]
pub struct Cleaned {
    pub removed: Vec<String>,
    pub kept: Vec<(String, String)>,
}

/// Removes the run folders under `root` that started more than `older_than` seconds before
/// `now` (every one, without `older_than`), newest first, except a run whose process still
/// runs and an azure run that did not end (its pools and jobs may still be on Batch).
pub fn clean(root: &Path, older_than: Option<u64>, now: u64) -> Cleaned {
    let mut out = Cleaned::default();
    for (path, state) in state::list_runs(root) {
        let id = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let started = state.as_ref().map(|s| s.started).or_else(|| modified(&path));
        if older_than.is_some_and(|age| started.is_some_and(|t| now.saturating_sub(t) < age)) {
            continue;
        }
        let keep = state.as_ref().and_then(|s| match s.status_text() {
            "running" => Some(format!("it is still running (process {})", s.owner_pid)),
            "stopped" | "interrupted" if s.target != "local" => Some(format!(
                "its pools and jobs may still be on Azure Batch; end them with `batchflow cancel {id}`, then clean"
            )),
            _ => None,
        });
        match keep {
            Some(why) => out.kept.push((id, why)),
            None => match std::fs::remove_dir_all(&path) {
                Ok(()) => out.removed.push(id),
                Err(e) => out.kept.push((id, format!("cannot remove it: {e}"))),
            },
        }
    }
    out
}

/// When a folder was last modified, in seconds since the epoch.
fn modified(path: &Path) -> Option<u64> {
    let time = path.metadata().and_then(|m| m.modified()).ok()?;
    time.duration_since(UNIX_EPOCH).ok().map(|d| d.as_secs())
}

/// The plan a run runs, from its folder.
pub fn read_plan(run_dir: &RunDir) -> Result<Plan, RunError> {
    let what = || format!("the plan of `{}`", run_dir.path.display());
    let text =
        std::fs::read_to_string(run_dir.plan_path()).map_err(|e| RunError::io(format!("cannot read {}", what()), e))?;
    serde_json::from_str(&text).map_err(|e| RunError::Body { what: what(), error: e })
}

/// The newest run of the workflow file `file` whose process is not running: what
/// `run FILE --resume` continues. Runs of other workflows, however new, are not candidates.
pub fn newest_stopped_of(root: &Path, file: &Path) -> Result<PathBuf, RunError> {
    let repo = repo_of(root);
    let mine: Vec<(PathBuf, RunState)> = state::list_runs(root)
        .into_iter()
        .filter_map(|(p, s)| s.filter(|s| is_run_of(s, &repo, file)).map(|s| (p, s)))
        .collect();
    if let Some((path, _)) = mine.iter().find(|(_, s)| s.status_text() != "running") {
        return Ok(path.clone());
    }
    Err(RunError::Refused(match mine.first() {
        Some((_, s)) => format!(
            "no stopped run of `{}` to resume: run `{}` is still running (process {})",
            file.display(),
            s.run_id,
            s.owner_pid
        ),
        None => format!(
            "no stopped run of `{}` to resume; start one with `batchflow run {}`",
            file.display(),
            file.display()
        ),
    }))
}

/// The newest run of the workflow file `file`, whatever its state: what `--rerun-failed`
/// reruns when no run is named.
pub fn newest_of(root: &Path, file: &Path) -> Option<PathBuf> {
    let repo = repo_of(root);
    state::list_runs(root)
        .into_iter()
        .find(|(_, s)| s.as_ref().is_some_and(|s| is_run_of(s, &repo, file)))
        .map(|(p, _)| p)
}

impl Stopped {
    /// The workflow file, when its text is no longer the text this run was planned from:
    /// `file` when given, else the file the run was started with.
    pub fn changed_file(&self, root: &Path, file: Option<&Path>) -> Option<PathBuf> {
        let planned = self.text.as_deref()?;
        let path = match (file, &self.state.repo_file) {
            (Some(f), _) => f.to_path_buf(),
            (None, Some(rel)) => repo_of(root).join(rel),
            (None, None) => PathBuf::from(&self.state.file),
        };
        let now = std::fs::read_to_string(&path).ok()?;
        (now != planned).then(|| file.map_or_else(|| PathBuf::from(&self.state.file), Path::to_path_buf))
    }
}

/// Whether `state` is a run of the workflow file `file`: the same file of the repository (for
/// a run from before runs kept that, the file it was given as, seen from here).
pub fn is_run_of(state: &RunState, repo: &Path, file: &Path) -> bool {
    match &state.repo_file {
        Some(key) => repo_key(repo, file).as_ref() == Some(key),
        None => same_file(Path::new(&state.file), file),
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

/// The repository whose runs are under `root` (`REPO/.batchflow/runs`).
pub fn repo_of(root: &Path) -> PathBuf {
    let depth = Path::new(state::RUNS_DIR).components().count();
    root.ancestors().nth(depth).unwrap_or(root).to_path_buf()
}

/// `file` relative to the repository root, `/`-separated (absolute when outside it).
fn repo_key(repo: &Path, file: &Path) -> Option<String> {
    let file = file.canonicalize().ok()?;
    let inside = repo.canonicalize().ok().and_then(|r| crate::repo::below(&r, &file));
    Some(inside.unwrap_or_else(|| file.display().to_string()))
}

/// A run by id, by a unique prefix of it, or the newest one (`""` or `latest`).
pub fn find(root: &Path, which: &str) -> Result<PathBuf, RunError> {
    let runs = state::list_runs(root);
    if runs.is_empty() {
        return Err(RunError::Refused(format!("there are no runs in {}", root.display())));
    }
    if which.is_empty() || which == "latest" {
        return runs
            .first()
            .map(|(p, _)| p.clone())
            .ok_or_else(|| RunError::Refused("no runs".into()));
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
        [] => Err(RunError::Refused(format!(
            "no run `{which}`; `batchflow runs` lists them"
        ))),
        many => Err(RunError::Refused(format!(
            "`{which}` matches {} runs; give more of the id",
            many.len()
        ))),
    }
}

/// Opens run `which` to read it (`status`, `logs`, `cancel`).
pub fn open(root: &Path, which: &str) -> Result<(RunDir, RunState), RunError> {
    let dir = find(root, which)?;
    let run_dir = RunDir::open(dir.clone());
    let (st, _) = run_dir
        .load()
        .map_err(|e| RunError::io(format!("cannot read the state of `{}`", dir.display()), e))?;
    Ok((run_dir, st))
}

/// A new run's id and its folder, claimed (`RunDir::claim`) so that two runs started in the
/// same second get two: `WORKFLOW-YYYYMMDD-HHMMSS`, then `-2`, `-3`, ...
fn claim_run_dir(root: &Path, workflow: &str) -> std::io::Result<(String, RunDir)> {
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
    loop {
        match RunDir::claim(root.join(&id)) {
            Ok(dir) => return Ok((id, dir)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 10_000 => {
                n += 1;
                id = format!("{base}-{stamp}-{n}");
            }
            Err(e) => return Err(e),
        }
    }
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `20261123-141502` in UTC: [`super::inspect::utc`] without its separators.
fn stamp(secs: u64) -> String {
    super::inspect::utc(secs).replace(['-', ':', 'Z'], "").replace('T', "-")
}

#[cfg(test)]
mod tests {
    #[test]
    fn run_stamps_are_utc_without_separators() {
        // 2026-11-23T14:15:02Z
        assert_eq!(super::stamp(1_795_443_302), "20261123-141502");
        assert_eq!(super::stamp(0), "19700101-000000");
    }
}
