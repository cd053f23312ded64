//! `batchflow runs` and `batchflow logs`: the runs of a repository, and a task's output.

use super::{environment, eprint_line, print_out, usage_error, FOUND_ERRORS, OK};
use batchflow::exec::stage::{Carrier, RunStore};
use batchflow::exec::state;
use batchflow::exec::TaskState;
use batchflow::exec::{inspect, runs};

/// `batchflow runs`: every run, newest first, as a table or JSON.
pub fn runs(json: bool) -> u8 {
    let root = match std::env::current_dir() {
        Ok(d) => state::runs_root(&d),
        Err(e) => return usage_error(&format!("cannot read the current directory: {e}")),
    };
    let runs = state::list_runs(&root);
    if json {
        let all: Vec<inspect::RunSummary> = runs
            .iter()
            .filter_map(|(_, s)| s.as_ref())
            .map(inspect::RunSummary::of)
            .collect();
        let text = serde_json::to_string_pretty(&all).map_or_else(|e| format!("{{\"error\": \"{e}\"}}"), |t| t + "\n");
        return print_out(&text).err().unwrap_or(OK);
    }
    if runs.is_empty() {
        eprint_line(&format!("no runs yet in {}", root.display()));
        return OK;
    }
    let head = [
        "run",
        "status",
        "tasks",
        "succeeded",
        "cached",
        "failed",
        "blocked",
        "interrupted",
        "workflow",
        "target",
        "params",
        "reran",
    ];
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|(path, st)| {
            let id = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let Some(s) = st else {
                return vec![id, "(no readable state)".into()];
            };
            let c = inspect::TaskCounts::of(s);
            // The account's host (and port) says which one; the scheme adds nothing.
            let target = s.target.split("://").nth(1).unwrap_or(&s.target);
            vec![
                id,
                s.status_text().to_string(),
                c.total.to_string(),
                c.succeeded.to_string(),
                c.cached.to_string(),
                c.failed.to_string(),
                c.blocked.to_string(),
                c.interrupted.to_string(),
                s.workflow.clone(),
                target.to_string(),
                s.params.join(" "),
                s.rerun_of.clone().unwrap_or_default(),
            ]
        })
        .collect();
    print_out(&super::progress::columns(&head, &rows)).err().unwrap_or(OK)
}

/// `batchflow logs [RUN] TASK`: a task's `stdout.txt` (and `stderr.txt` with `--stderr`); for a
/// task that never started, why it did not (exit 1).
pub fn logs(run: &str, task: &str, stderr: bool) -> u8 {
    let (run_dir, st) = match super::status::open(run) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let rec = match inspect::find_task(&st, task) {
        Ok(rec) => rec,
        Err(e) => return usage_error(&e.to_string()),
    };
    if let Some(from) = &rec.from {
        // A rerun took it from an earlier run: its output is that run's.
        eprint_line(&format!(
            "`{}/{}` was not run in run `{}`: it succeeded in run `{from}`, whose output this is",
            rec.job, rec.task, st.run_id
        ));
        return logs(from, &format!("{}/{}", rec.job, rec.task), stderr);
    }
    if inspect::never_started(rec) {
        let plan = runs::read_plan(&run_dir).ok();
        eprint_line(&format!(
            "`{}/{}` never started in run `{}`: {}",
            rec.job,
            rec.task,
            st.run_id,
            inspect::why_not_started(&st, plan.as_ref(), rec)
        ));
        return FOUND_ERRORS;
    }
    let file = if stderr { "stderr.txt" } else { "stdout.txt" };
    if st.target != "local" {
        if let Some(code) = stored_log(&run_dir, &st, rec, file) {
            return code;
        }
        return super::status::remote_log(&run_dir, &st, rec, file);
    }
    let Some(node) = &rec.node else {
        return usage_error(&format!(
            "`{}` has no node recorded in this run ({})",
            rec.task,
            rec.state.as_str()
        ));
    };
    let task_dir = run_dir
        .path
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

/// A finished azure task's log from the run's storage (uploaded when storage is configured,
/// so it outlives the pool); `None` to ask Batch instead.
fn stored_log(run_dir: &state::RunDir, st: &state::RunState, rec: &state::TaskRecord, file: &str) -> Option<u8> {
    if !matches!(rec.state, TaskState::Succeeded | TaskState::Failed) {
        return None;
    }
    let plan = runs::read_plan(run_dir).ok()?;
    if !plan.staging.storage.configured {
        return None;
    }
    let store = RunStore::open(&run_dir.path, &plan, Carrier::Storage, &environment()).ok()?;
    match store.log(&st.run_id, &rec.job, &rec.task, file) {
        Ok(Some(bytes)) => Some(print_out(&String::from_utf8_lossy(&bytes)).err().unwrap_or(OK)),
        Ok(None) => None,
        Err(e) => {
            eprint_line(&format!("note: cannot read {file} from storage ({e}); asking Batch"));
            None
        }
    }
}
