//! `batchflow fetch RUN [TASK...]`: a run's outputs with repository destinations brought back
//! into the repository again, from where the run left them.

use super::{environment, eprint_line, print_out, usage_error, FOUND_ERRORS, OK};
use batchflow::exec::runs;
use batchflow::exec::stage::{Carrier, RunStore};

pub fn fetch(run: &str, tasks: &[String], json: bool) -> u8 {
    let (run_dir, st) = match super::status::open(run) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let plan = match runs::read_plan(&run_dir) {
        Ok(p) => p,
        Err(e) => return usage_error(&e.to_string()),
    };
    let carrier = if st.target == "local" {
        Carrier::Local
    } else {
        Carrier::Storage
    };
    let from: std::collections::HashMap<(String, String), String> = st
        .tasks
        .iter()
        .filter_map(|t| t.from.clone().map(|f| ((t.job.clone(), t.task.clone()), f)))
        .collect();
    let fetched = RunStore::open(&run_dir.path, &plan, carrier, &environment())
        .and_then(|store| store.fetch(&run_dir.path, &plan, &st.run_id, &from, tasks));
    let fetched = match fetched {
        Ok(f) => f,
        Err(e) => {
            eprint_line(&format!("error: {e}"));
            return FOUND_ERRORS;
        }
    };
    let repo = batchflow::exec::stage::repo_of(&run_dir.path);
    let shown = |p: &std::path::Path| p.strip_prefix(&repo).unwrap_or(p).display().to_string();
    if json {
        let all: Vec<serde_json::Value> = fetched
            .iter()
            .map(|f| {
                serde_json::json!({
                    "job": f.job,
                    "task": f.task,
                    "files": f.files.iter().map(|p| shown(p)).collect::<Vec<_>>(),
                    "missing": f.missing,
                })
            })
            .collect();
        let text = serde_json::to_string_pretty(&all).unwrap_or_default() + "\n";
        return print_out(&text).err().unwrap_or(OK);
    }
    let mut total = 0;
    let mut out = String::new();
    for f in &fetched {
        total += f.files.len();
        for p in &f.files {
            out.push_str(&format!("{}/{}  {}\n", f.job, f.task, shown(p)));
        }
        for m in &f.missing {
            out.push_str(&format!(
                "{}/{}  {m}  (not in the run's store: the task made no such file, or did not succeed)\n",
                f.job, f.task
            ));
        }
    }
    if let Err(code) = print_out(&out) {
        return code;
    }
    eprint_line(&format!(
        "brought back {total} file{} of {} task{} from run `{}`",
        if total == 1 { "" } else { "s" },
        fetched.len(),
        if fetched.len() == 1 { "" } else { "s" },
        st.run_id
    ));
    OK
}
