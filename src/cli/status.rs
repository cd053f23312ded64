//! `batchflow status RUN` and `batchflow cancel RUN`: how a run stands (asking Batch for an
//! azure run), and stopping one (its process, and on Batch its jobs and pools).

use super::{eprint_line, print_out, usage_error, OK};
use batchflow::exec::azure::client::BatchClient;
use batchflow::exec::azure::config;
use batchflow::exec::azure::control;
use batchflow::exec::azure::release::{self, RunEnd};
use batchflow::exec::state::{self, RunDir, RunState, RunStatus, TaskRecord};
use batchflow::exec::TaskState;
use batchflow::exec::{inspect, runs};
use batchflow::plan::Plan;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long `cancel` waits for the run's process to stop after SIGINT.
const STOP_WAIT: Duration = Duration::from_secs(60);

/// The run `which` names (an id, a unique prefix, `latest`) in this repository.
pub(super) fn open(which: &str) -> Result<(RunDir, RunState), u8> {
    let cwd = std::env::current_dir().map_err(|e| usage_error(&format!("cannot read the current directory: {e}")))?;
    runs::open(&state::runs_root(&cwd), which).map_err(|e| usage_error(&e.to_string()))
}

/// The account an azure run used: a client, the run's saved plan, a runtime to send with.
pub(super) struct Remote {
    pub(super) client: BatchClient,
    pub(super) plan: Plan,
    pub(super) rt: tokio::runtime::Runtime,
}

pub(super) fn connect(run_dir: &RunDir, st: &RunState) -> Result<Remote, u8> {
    let cwd = std::env::current_dir().map_err(|e| usage_error(&format!("cannot read the current directory: {e}")))?;
    let mut env: HashMap<String, String> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    config::default_endpoint(&mut env, &st.target);
    let file = config::read_file(&state::repo_root(&cwd)).map_err(|e| usage_error(&e.to_string()))?;
    let target = config::resolve(&file, &env).map_err(|e| usage_error(&e.to_string()))?;
    if target.endpoint != st.target {
        return Err(usage_error(&format!(
            "run `{}` ran on {}, and the target now is {}; set AZURE_BATCH_ENDPOINT to reach it",
            st.run_id, st.target, target.endpoint
        )));
    }
    let text = std::fs::read_to_string(run_dir.plan_path())
        .map_err(|e| usage_error(&format!("cannot read the plan of `{}`: {e}", st.run_id)))?;
    let plan: Plan = serde_json::from_str(&text)
        .map_err(|e| usage_error(&format!("the plan of `{}` is damaged: {e}", st.run_id)))?;
    let client =
        BatchClient::new(&target.endpoint, &plan.api_version, target.auth).map_err(|e| usage_error(&e.to_string()))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| usage_error(&format!("cannot start the async runtime: {e}")))?;
    Ok(Remote { client, plan, rt })
}

/// `batchflow logs` of an azure run: the task's file as Batch has it, from the node that ran it.
pub fn remote_log(run_dir: &RunDir, st: &RunState, rec: &TaskRecord, file: &str) -> u8 {
    let remote = match connect(run_dir, st) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let path = format!(
        "/jobs/{}/tasks/{}/files/{file}",
        batchflow::exec::identity::batch_job(st, &rec.job),
        rec.task
    );
    match remote
        .rt
        .block_on(remote.client.send(reqwest::Method::GET, &path, &[], None))
    {
        Ok(reply) => print_out(&String::from_utf8_lossy(&reply.body)).err().unwrap_or(OK),
        Err(e) => usage_error(&format!(
            "cannot read {file} of `{}/{}` from Batch ({}): {e}",
            rec.job,
            rec.task,
            rec.state.as_str()
        )),
    }
}

#[derive(serde::Serialize)]
struct Summary<'a> {
    run: &'a str,
    workflow: &'a str,
    target: &'a str,
    status: &'a str,
    /// The run this one reran (`run --rerun-failed`), and how many of its tasks it took.
    #[serde(skip_serializing_if = "Option::is_none")]
    rerun_of: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reused: Option<usize>,
    /// Tasks taken from the task cache (among the succeeded ones).
    cached: usize,
    /// Task counts from the run folder, by state.
    tasks: HashMap<&'static str, usize>,
    /// The failed tasks, with their exit codes and reasons.
    failed: Vec<inspect::FailedTask>,
    /// For an azure run: pools and jobs as Batch has them now.
    #[serde(skip_serializing_if = "Option::is_none")]
    batch: Option<control::Status>,
}

pub fn status(which: &str, json: bool) -> u8 {
    let (run_dir, st) = match open(which) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let mut tasks: HashMap<&'static str, usize> = HashMap::new();
    for t in &st.tasks {
        *tasks.entry(t.state.as_str()).or_default() += 1;
    }
    let batch = if st.target == "local" {
        None
    } else {
        let remote = match connect(&run_dir, &st) {
            Ok(r) => r,
            Err(code) => return code,
        };
        match remote
            .rt
            .block_on(control::status(&remote.client, &remote.plan, &st.batch_jobs))
        {
            Ok(s) => Some(s),
            Err(e) => return usage_error(&format!("cannot ask Batch about run `{}`: {e}", st.run_id)),
        }
    };
    let summary = Summary {
        run: &st.run_id,
        workflow: &st.workflow,
        target: &st.target,
        status: st.status_text(),
        rerun_of: st.rerun_of.as_deref(),
        reused: st.rerun_of.as_ref().map(|_| st.carried().len() - st.cached()),
        cached: st.cached(),
        tasks,
        failed: inspect::failed_tasks(&st, runs::read_plan(&run_dir).ok().as_ref()),
        batch,
    };
    let text = if json {
        serde_json::to_string_pretty(&summary).map_or_else(|e| format!("{{\"error\": \"{e}\"}}"), |t| t + "\n")
    } else {
        human(&summary)
    };
    print_out(&text).err().unwrap_or(OK)
}

fn human(s: &Summary<'_>) -> String {
    let mut out = format!("run {} of `{}` on {}: {}\n", s.run, s.workflow, s.target, s.status);
    if let Some(of) = s.rerun_of {
        out.push_str(&format!(
            "a rerun of run {of}: {} succeeded task(s) taken from it, not run again\n",
            s.reused.unwrap_or(0)
        ));
    }
    if s.cached > 0 {
        out.push_str(&format!(
            "{} succeeded task(s) taken from the task cache, not run again\n",
            s.cached
        ));
    }
    let order = [
        TaskState::Waiting,
        TaskState::Running,
        TaskState::Succeeded,
        TaskState::Failed,
        TaskState::Blocked,
        TaskState::Interrupted,
    ];
    let parts: Vec<String> = order
        .iter()
        .filter_map(|st| s.tasks.get(st.as_str()).map(|n| format!("{n} {}", st.as_str())))
        .collect();
    out.push_str(&format!("tasks (as last recorded): {}\n", parts.join(", ")));
    if !s.failed.is_empty() {
        out.push_str("failed tasks:\n");
        let sweeps = s.failed.iter().any(|f| f.instance.is_some());
        let rows: Vec<Vec<String>> = s
            .failed
            .iter()
            .map(|f| {
                let mut row = vec![format!("  {}/{}", f.job, f.task)];
                if sweeps {
                    row.push(f.instance.clone().unwrap_or_else(|| "-".into()));
                }
                row.push(f.exit_code.map_or_else(|| "-".into(), |c| format!("exit {c}")));
                row.push(
                    f.reason
                        .as_deref()
                        .and_then(|r| r.lines().next())
                        .unwrap_or("-")
                        .to_string(),
                );
                row
            })
            .collect();
        // Aligned like a table, without its header line.
        let head = vec![""; rows.first().map_or(0, Vec::len)];
        let text = super::progress::columns(&head, &rows);
        out.push_str(text.split_once('\n').map_or("", |(_, rest)| rest));
    }
    if let Some(b) = &s.batch {
        out.push_str("\non Batch now:\n");
        for p in &b.pools {
            out.push_str(&format!(
                "  pool {:<24} {:<10} {:<10} {}/{} nodes\n",
                p.id, p.state, p.allocation, p.nodes, p.target
            ));
        }
        for j in &b.jobs {
            out.push_str(&format!(
                "  job  {:<24} {:<10} {} active, {} running, {} succeeded, {} failed (Batch id `{}`)\n",
                j.name, j.state, j.active, j.running, j.succeeded, j.failed, j.id
            ));
        }
    }
    out
}

pub fn cancel(which: &str, keep_pools: bool) -> u8 {
    let (mut run_dir, st) = match open(which) {
        Ok(x) => x,
        Err(code) => return code,
    };
    if st.owner_alive() && st.status == RunStatus::Running {
        if let Err(code) = stop_owner(&st) {
            return code;
        }
    }
    // The owner wrote its last state as it stopped.
    let mut st = run_dir.load().map(|(s, _)| s).unwrap_or(st);
    if st.target != "local" {
        let remote = match connect(&run_dir, &st) {
            Ok(r) => r,
            Err(code) => return code,
        };
        let done = run_dir.steps_done();
        let end = RunEnd {
            client: &remote.client,
            plan: &remote.plan,
            run_id: &st.run_id,
            job_ids: &st.batch_jobs,
            done: &done,
            keep_pools,
            arm: None,
        };
        for line in remote.rt.block_on(release::end_run(&end)) {
            eprint_line(&line);
        }
    } else if st.status != RunStatus::Running && st.status != RunStatus::Interrupted {
        eprint_line(&format!(
            "run `{}` is not running ({}): nothing to cancel",
            st.run_id,
            st.status_text()
        ));
        return OK;
    }
    st.status = RunStatus::Cancelled;
    if let Err(e) = run_dir.save(&st) {
        return usage_error(&format!("cannot write the run state: {e}"));
    }
    eprint_line(&format!("run `{}` cancelled", st.run_id));
    OK
}

/// SIGINT to the run's process (as Ctrl-C would), then wait for it to stop.
fn stop_owner(st: &RunState) -> Result<(), u8> {
    let pid = i32::try_from(st.owner_pid).map_err(|_| usage_error("the run's process id is not valid"))?;
    let pid = nix::unistd::Pid::from_raw(pid);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT)
        .map_err(|e| usage_error(&format!("cannot signal the run's process {pid}: {e}")))?;
    eprint_line(&format!("stopping the run's process {pid}..."));
    let started = Instant::now();
    while st.owner_alive() {
        if started.elapsed() > STOP_WAIT {
            return Err(usage_error(&format!(
                "the run's process {pid} did not stop within {}s",
                STOP_WAIT.as_secs()
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}
