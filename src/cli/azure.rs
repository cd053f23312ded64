//! `batchflow run --target azure`: the plan sent to Azure Batch, its state in the run folder
//! for `--resume`, the pools and jobs ended when it is done; `status` and `cancel` of such runs.

use super::azure_report::{explain_failures, merge};
use super::preflight::secrets_set;
use super::progress::{relative, summary_json, summary_table, Progress};
use super::run::{compile_and_plan, Planned, RunArgs, INTERRUPTED};
use super::runs::{create_run, Stopped};
use super::{eprint_line, options, print_out, usage_error, FOUND_ERRORS, OK};
use batchflow::exec::azure::client::BatchClient;
use batchflow::exec::azure::config::{self, Target};
use batchflow::exec::azure::control;
use batchflow::exec::azure::runner::{self, Outcome};
use batchflow::exec::TaskReport;
use batchflow::plan::{self, Action, Plan};
use batchflow::secrets::{self, Escape};
use batchflow::source::{SourceMap, Span};
use batchflow::state::{self, RunDir, RunState, RunStatus, TaskRecord};
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How often a run asks Batch how pools and jobs stand (BATCHFLOW_POLL_MS overrides it).
const POLL: Duration = Duration::from_secs(5);
/// Resizes re-issued for a pool that stops short of its target.
const RESIZE_RETRIES: u32 = 3;

/// A workflow as the azure backend runs it.
struct Prepared {
    plan: Plan,
    hooks: Option<batchflow::hooks::Hooks>,
    sources: SourceMap,
    /// Where each task (job, task) is declared, for errors and hooks.
    origins: HashMap<(String, String), Span>,
    run_dir: RunDir,
    record: RunState,
    client: BatchClient,
    env: HashMap<String, String>,
}

fn environment() -> HashMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

/// The account to talk to, from `batchflow.toml` at the repository root and the environment.
fn target(cwd: &Path, env: &HashMap<String, String>) -> Result<Target, String> {
    let file = config::read_file(&state::repo_root(cwd))?;
    config::resolve(&file, env)
}

/// A new run of `args.file`, or `stopped` (an azure run, already opened) continued.
pub(super) fn run(args: &RunArgs, stopped: Option<Stopped>) -> u8 {
    let cwd = match std::env::current_dir() {
        Ok(d) => d,
        Err(e) => return usage_error(&format!("cannot read the current directory: {e}")),
    };
    let root = state::runs_root(&cwd);
    let mut env = environment();
    // A resumed run goes back to its own account unless told otherwise.
    if let Some(s) = &stopped {
        config::default_endpoint(&mut env, &s.state.target);
    }
    let target = match target(&cwd, &env) {
        Ok(t) => t,
        Err(e) => return usage_error(&e),
    };
    let prepared = match (stopped, &args.file) {
        (Some(stopped), _) => resume(stopped, args, target, env),
        (None, Some(file)) => fresh(&root, file, args, target, env),
        (None, None) => Err(usage_error("give a workflow file, or `--resume` to continue a run")),
    };
    match prepared {
        Ok(p) => execute(p, args),
        Err(code) => code,
    }
}

/// A compiled workflow: its plan, hooks, sources, and where each (job, task) is declared.
struct Compiled {
    plan: Plan,
    hooks: Option<batchflow::hooks::Hooks>,
    sources: SourceMap,
    origins: HashMap<(String, String), Span>,
}

/// Compiles with the auth mode in use (so BF112 sees it) and plans for `--api-version`.
fn compile(file: &Path, args: &RunArgs, target: &Target) -> Result<Compiled, u8> {
    let mut opts = options(&args.params).map_err(|e| usage_error(&e))?;
    opts.auth = Some(target.auth.mode());
    let plan_options = plan::Options {
        api_version: args
            .api_version
            .clone()
            .unwrap_or_else(|| plan::DEFAULT_API_VERSION.to_string()),
    };
    let mut sources = SourceMap::new();
    let Planned {
        workflow: wf,
        plan,
        hooks,
    } = compile_and_plan(file, &opts, &plan_options, &mut sources)?;
    let mut origins = HashMap::with_capacity(wf.tasks.len());
    for task in &wf.tasks {
        let Some(template) = wf.template(task.template) else {
            continue;
        };
        let Some(job) = wf.job(template.job) else { continue };
        origins.insert((job.name.value.clone(), task.id.to_string()), template.span);
    }
    Ok(Compiled {
        plan,
        hooks,
        sources,
        origins,
    })
}

fn fresh(
    root: &Path,
    file: &Path,
    args: &RunArgs,
    target: Target,
    env: HashMap<String, String>,
) -> Result<Prepared, u8> {
    let Compiled {
        plan,
        hooks,
        sources,
        origins,
    } = compile(file, args, &target)?;
    if let Some(note) = plan::api_version::untested(&plan.api_version) {
        eprint_line(&note);
    }
    secrets_set(&plan, &env).map_err(|why| usage_error(&why))?;
    let client = BatchClient::new(&target.endpoint, &plan.api_version, target.auth).map_err(|e| usage_error(&e))?;
    let tasks = task_ids(&plan)
        .into_iter()
        .map(|(job, task)| TaskRecord::waiting(job, task))
        .collect();
    let (run_dir, record) = create_run(root, file, &args.params, &plan, target.endpoint.clone(), tasks)?;
    Ok(Prepared {
        plan,
        hooks,
        sources,
        origins,
        run_dir,
        record,
        client,
        env,
    })
}

fn resume(stopped: Stopped, args: &RunArgs, target: Target, env: HashMap<String, String>) -> Result<Prepared, u8> {
    let Stopped {
        run_dir,
        state: old,
        plan,
    } = stopped;
    if matches!(
        old.status,
        RunStatus::Succeeded | RunStatus::Failed | RunStatus::Cancelled
    ) {
        return Err(usage_error(&format!(
            "run `{}` on Azure Batch has ended ({}); its jobs are terminated: start a new run, with --replace-jobs to replace them",
            old.run_id,
            old.status_text()
        )));
    }
    if let Some(v) = args.api_version.as_deref().filter(|v| *v != plan.api_version) {
        return Err(usage_error(&format!(
            "run `{}` was planned for api-version {}, which a resumed run keeps: drop `--api-version {v}`, or start a new run",
            old.run_id, plan.api_version
        )));
    }
    if old.target != target.endpoint {
        return Err(usage_error(&format!(
            "run `{}` ran on {}, and the target now is {}; set AZURE_BATCH_ENDPOINT to resume it",
            old.run_id, old.target, target.endpoint
        )));
    }
    secrets_set(&plan, &env).map_err(|why| usage_error(&why))?;
    // The workflow is compiled again for its hooks and source lines; the plan that runs is
    // the saved one.
    let params = RunArgs {
        params: old.params.clone(),
        ..args.clone()
    };
    let (hooks, sources, origins) = match compile(Path::new(&old.file), &params, &target) {
        Ok(c) => (c.hooks, c.sources, c.origins),
        Err(_) => {
            eprint_line(&format!(
                "note: `{}` no longer compiles; resuming without its hooks",
                old.file
            ));
            (None, SourceMap::new(), HashMap::new())
        }
    };
    let client = BatchClient::new(&target.endpoint, &plan.api_version, target.auth).map_err(|e| usage_error(&e))?;
    let mut record = old.clone();
    record.status = RunStatus::Running;
    record.owner_pid = std::process::id();
    eprint_line(&format!(
        "resuming run `{}` of `{}` on {}",
        old.run_id, old.workflow, old.target
    ));
    Ok(Prepared {
        plan,
        hooks,
        sources,
        origins,
        run_dir,
        record,
        client,
        env,
    })
}

#[derive(serde::Deserialize)]
struct Ids {
    value: Vec<Id>,
}

#[derive(serde::Deserialize)]
struct Id {
    id: String,
}

/// (job, task) for every task the plan adds.
fn task_ids(plan: &Plan) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for step in &plan.steps {
        let (batchflow::plan::StepKind::AddTasks { job, .. }, Action::Request { body, .. }) =
            (&step.kind, &step.action)
        else {
            continue;
        };
        if let Ok(ids) = serde_json::from_str::<Ids>(body.get()) {
            out.extend(ids.value.into_iter().map(|t| (job.to_string(), t.id)));
        }
    }
    out
}

/// The plan with secret values in its bodies, for sending only (never written down).
fn revealed(plan: &mut Plan, env: &HashMap<String, String>) -> Result<(), String> {
    for step in &mut plan.steps {
        if let Action::Request { body, .. } = &mut step.action {
            if body.get().contains("<secret:") {
                let text = secrets::reveal(body.get(), env, Escape::Json)?;
                *body = RawValue::from_string(text).map_err(|e| format!("step `{}`: {e}", step.id))?;
            }
        }
    }
    Ok(())
}

fn options_from_env(
    env: &HashMap<String, String>,
    args: &RunArgs,
    interrupt: Arc<AtomicBool>,
    run_started_ms: u64,
) -> runner::Options {
    let poll = env
        .get("BATCHFLOW_POLL_MS")
        .and_then(|v| v.parse::<u64>().ok())
        .map_or(POLL, Duration::from_millis);
    runner::Options {
        max_in_flight: args.max_in_flight.unwrap_or(16).max(1),
        keep_pools: args.keep_pools,
        poll,
        resize_retries: RESIZE_RETRIES,
        interrupt,
        run_started_ms,
        replace_jobs: args.replace_jobs,
    }
}

fn execute(p: Prepared, args: &RunArgs) -> u8 {
    let Prepared {
        mut plan,
        hooks,
        sources,
        origins,
        mut run_dir,
        mut record,
        client,
        env,
    } = p;
    if let Err(e) = revealed(&mut plan, &env) {
        return usage_error(&e);
    }
    let interrupt = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&interrupt);
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst));
    let opts = options_from_env(&env, args, interrupt, record.started_ms);
    let run_id = record.run_id.clone();
    let run_path = run_dir.path.clone();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => return usage_error(&format!("cannot start the async runtime: {e}")),
    };
    let mut progress = Progress::new(record.tasks.len(), args.quiet, &run_path);
    if !args.quiet {
        eprint_line(&format!(
            "run `{run_id}`: {} tasks on {}; state in {}",
            record.tasks.len(),
            record.target,
            relative(&run_path).display()
        ));
    }
    let origin_of = |job: &str, task: &str| {
        origins
            .get(&(job.to_string(), task.to_string()))
            .copied()
            .unwrap_or_default()
    };
    let keep_pools = opts.keep_pools;
    let (outcome, report) = runtime.block_on(runner::run(
        &plan,
        client.clone(),
        hooks.as_ref(),
        opts,
        &run_dir,
        &mut progress,
        &origin_of,
    ));
    progress.finish();
    if let Some(h) = &hooks {
        for line in h.take_log() {
            eprint_line(&format!("hook: {line}"));
        }
    }
    if outcome == Outcome::Interrupted {
        record.status = RunStatus::Interrupted;
        let _ = run_dir.save(&record);
        if args.json {
            let reports: Vec<TaskReport> = record.tasks.iter().map(TaskRecord::report).collect();
            if let Err(code) = print_out(&summary_json(&run_id, &record.target, "interrupted", &reports)) {
                return code;
            }
        }
        eprint_line(&format!(
            "interrupted; its pools and jobs stay on Batch: resume with `batchflow run --resume {run_id}`, or end them with `batchflow cancel {run_id}`"
        ));
        return INTERRUPTED;
    }
    // The final state of every task, then the pools and jobs ended.
    let done = run_dir.steps_done();
    let (_, jobs) = control::created(&plan);
    let states = runtime.block_on(async {
        let mut all = HashMap::new();
        for job in jobs
            .iter()
            .filter(|j| done.contains(&batchflow::plan::StepKind::CreateJob { job: j.to_string() }.id()))
        {
            match control::task_states(&client, job, true).await {
                Ok(list) => {
                    all.insert(job.clone(), list);
                }
                Err(e) => eprint_line(&format!("cannot read the tasks of job `{job}`: {e}")),
            }
        }
        all
    });
    for line in runtime.block_on(control::end_run(&client, &plan, &done, keep_pools)) {
        eprint_line(&line);
    }
    let reports = merge(&mut record, &states, &report);
    record.status = match &outcome {
        Outcome::Finished { all_succeeded: true } => RunStatus::Succeeded,
        _ => RunStatus::Failed,
    };
    if let Err(e) = run_dir.save(&record) {
        eprint_line(&format!("cannot write the run state: {e}"));
    }
    if let Some(h) = hooks.as_ref() {
        let origin = origins.values().next().copied().unwrap_or_default();
        if let Err(e) = batchflow::exec::hooks::on_complete(Some(h), &record.workflow, &reports, origin) {
            eprint_line(&format!("on_complete failed: {e}"));
        }
        for line in h.take_log() {
            eprint_line(&format!("hook: {line}"));
        }
    }
    let summary = if args.json {
        summary_json(&run_id, &record.target, record.status_text(), &reports)
    } else {
        summary_table(&reports)
    };
    if let Err(code) = print_out(&summary) {
        return code;
    }
    explain_failures(&report, &sources, &origin_of);
    match outcome {
        Outcome::Finished { all_succeeded: true } => OK,
        Outcome::Aborted(why) => {
            eprint_line(&format!("error: {why}"));
            FOUND_ERRORS
        }
        _ => {
            eprint_line(&format!("see a task's output with `batchflow logs {run_id} TASK`"));
            FOUND_ERRORS
        }
    }
}
