//! `batchflow run`, `batchflow runs`, `batchflow logs`: the local backend on the command line.

use super::progress::{relative, summary_json, summary_table, Progress};
use super::{eprint_human, eprint_line, options, print_out, usage_error, FOUND_ERRORS, OK};
use batchflow::exec::local::{self, container_cli, Model, Outcome, Resume};
use batchflow::exec::{Observer, TaskState};
use batchflow::graph::Workflow;
use batchflow::hooks::Hooks;
use batchflow::plan::{self, Plan};
use batchflow::source::SourceMap;
use batchflow::state::{self, RunDir, RunState, RunStatus, TaskRecord};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Exit code after Ctrl-C, as shells report SIGINT.
pub const INTERRUPTED: u8 = 130;

#[derive(Clone)]
pub struct RunArgs {
    pub file: Option<PathBuf>,
    /// `--target azure`: on Azure Batch.
    pub azure: bool,
    /// `--max-in-flight`: task collections sent at once (azure).
    pub max_in_flight: Option<usize>,
    /// `--keep-pools`: leave the pools when the run ends (azure).
    pub keep_pools: bool,
    /// `--replace-jobs`: delete completed jobs of earlier runs with the same ids (azure).
    pub replace_jobs: bool,
    pub params: Vec<String>,
    pub jobs: Option<u32>,
    pub container_cli: Option<String>,
    pub quiet: bool,
    /// `--resume [RUN]`: `Some("")` for the latest run.
    pub resume: Option<String>,
    /// `--format json`: the summary as one JSON object on stdout.
    pub json: bool,
}

pub fn run(args: RunArgs) -> u8 {
    let cwd = match std::env::current_dir() {
        Ok(d) => d,
        Err(e) => return usage_error(&format!("cannot read the current directory: {e}")),
    };
    let root = state::runs_root(&cwd);
    // A resumed run goes where it ran.
    let azure = match &args.resume {
        Some(which) => find_run(&root, which)
            .ok()
            .and_then(|d| RunDir::open(d).load().ok())
            .is_some_and(|(s, _)| s.target != "local"),
        None => args.azure,
    };
    if let Err(why) = options_fit(&args, azure) {
        return usage_error(&why);
    }
    if azure {
        return super::azure::run(&args);
    }
    let prepared = match &args.resume {
        Some(which) => resume(&root, which, &args),
        None => match &args.file {
            Some(file) => fresh(&root, file, &args),
            None => Err(usage_error("give a workflow file, or `--resume` to continue a run")),
        },
    };
    let p = match prepared {
        Ok(p) => p,
        Err(code) => return code,
    };
    execute(p, &args)
}

/// Everything a run needs, fresh or resumed.
struct Prepared {
    model: Model,
    hooks: Option<batchflow::hooks::Hooks>,
    run_dir: RunDir,
    record: RunState,
    resume: Option<Resume>,
    env: HashMap<String, String>,
    /// The docker-compatible CLI, when the plan has container tasks.
    cli: Option<PathBuf>,
}

/// Refuses what cannot run here, before a run folder exists; finds the container CLI.
fn runnable(model: &Model, plan: &Plan, env: &HashMap<String, String>, args: &RunArgs) -> Result<Option<PathBuf>, u8> {
    preflight(model, plan, env).map_err(|why| usage_error(&why))?;
    let containers = model.tasks.iter().any(|t| t.body.container_settings.is_some())
        || model
            .pools
            .iter()
            .any(|p| p.start_task.as_ref().is_some_and(|s| s.container_settings.is_some()));
    if !containers {
        return Ok(None);
    }
    match container_cli::resolve(
        args.container_cli.as_deref(),
        env.get("BATCHFLOW_CONTAINER_CLI").map(String::as_str),
        env.get("PATH").map(String::as_str),
    ) {
        Ok(Some(cli)) => Ok(Some(cli)),
        Ok(None) => Err(usage_error(&no_runtime(model))),
        Err(e) => Err(usage_error(&e)),
    }
}

/// Options of one target given for the other are refused rather than ignored.
fn options_fit(args: &RunArgs, azure: bool) -> Result<(), String> {
    let azure_only = "it is for `--target azure`";
    let refused = [
        (!azure && args.max_in_flight.is_some(), "--max-in-flight", azure_only),
        (!azure && args.keep_pools, "--keep-pools", azure_only),
        (!azure && args.replace_jobs, "--replace-jobs", azure_only),
        (
            azure && args.jobs.is_some(),
            "--jobs",
            "on Azure Batch the pool's nodes and task slots decide how many tasks run at once",
        ),
        (
            azure && args.container_cli.is_some(),
            "--container-cli",
            "on Azure Batch the nodes run containers with their own runtime",
        ),
    ];
    match refused.iter().find(|(given, ..)| *given) {
        Some((_, flag, why)) => Err(format!("{flag} does not apply to this run: {why}")),
        None => Ok(()),
    }
}

/// A workflow compiled and planned, as a run executes it.
pub(super) struct Planned {
    pub workflow: Workflow,
    pub plan: Plan,
    pub hooks: Option<Hooks>,
}

/// Compiles `file` (diagnostics and hook output on stderr) and plans it; a workflow with
/// errors is refused.
pub(super) fn compile_and_plan(file: &Path, opts: &batchflow::Options, sources: &mut SourceMap) -> Result<Planned, u8> {
    let mut compiled = batchflow::compile(file, sources, opts)
        .map_err(|e| usage_error(&format!("cannot read `{}`: {e}", file.display())))?;
    super::eprint_hook_log(&compiled);
    eprint_human(&compiled.diagnostics, sources);
    if compiled.has_errors() {
        eprint_line(&format!(
            "{}: {}; fix them first",
            file.display(),
            super::summary(&compiled.diagnostics)
        ));
        return Err(FOUND_ERRORS);
    }
    let workflow = compiled.workflow.take().ok_or(FOUND_ERRORS)?;
    let plan = plan::plan(&workflow, compiled.hooks.as_ref(), &plan::Options::default()).map_err(|d| {
        eprint_human(&d, sources);
        FOUND_ERRORS
    })?;
    Ok(Planned {
        workflow,
        plan,
        hooks: compiled.hooks,
    })
}

fn fresh(root: &Path, file: &Path, args: &RunArgs) -> Result<Prepared, u8> {
    let opts = options(&args.params).map_err(|e| usage_error(&e))?;
    let mut sources = SourceMap::new();
    let Planned { plan, hooks, .. } = compile_and_plan(file, &opts, &mut sources)?;
    let model = Model::from_plan(&plan).map_err(|e| usage_error(&e.to_string()))?;
    let env: HashMap<String, String> = opts.env.into_iter().collect();
    let cli = runnable(&model, &plan, &env, args)?;
    let run_id = new_run_id(root, &plan.workflow);
    let run_dir =
        RunDir::create(root.join(&run_id)).map_err(|e| usage_error(&format!("cannot create the run folder: {e}")))?;
    let record = RunState {
        run_id,
        workflow: plan.workflow.clone(),
        file: file.display().to_string(),
        params: args.params.clone(),
        started: now_ms() / 1000,
        started_ms: now_ms(),
        status: RunStatus::Running,
        owner_pid: std::process::id(),
        target: "local".into(),
        tasks: model
            .tasks
            .iter()
            .map(|t| {
                let job = model.jobs.get(t.job).map_or_else(String::new, |j| j.id.clone());
                TaskRecord::waiting(job, t.body.id.clone())
            })
            .collect(),
    };
    // State from the first moment: a run killed before it starts is still a run to resume.
    let mut run_dir = run_dir;
    run_dir
        .save(&record)
        .map_err(|e| usage_error(&format!("cannot write the run state: {e}")))?;
    let written = serde_json::to_string(&plan)
        .map_err(std::io::Error::from)
        .and_then(|json| std::fs::write(run_dir.plan_path(), json));
    written.map_err(|e| usage_error(&format!("cannot write the plan into the run folder: {e}")))?;
    Ok(Prepared {
        model,
        hooks,
        run_dir,
        record,
        resume: None,
        env,
        cli,
    })
}

fn resume(root: &Path, which: &str, args: &RunArgs) -> Result<Prepared, u8> {
    let dir = find_run(root, which).map_err(|e| usage_error(&e))?;
    let run_dir = RunDir::open(dir.clone());
    let (old, _) = run_dir
        .load()
        .map_err(|e| usage_error(&format!("cannot read the state of `{}`: {e}", dir.display())))?;
    let plan_text = std::fs::read_to_string(run_dir.plan_path())
        .map_err(|e| usage_error(&format!("cannot read the plan of `{}`: {e}", dir.display())))?;
    let plan: Plan = serde_json::from_str(&plan_text)
        .map_err(|e| usage_error(&format!("the plan of `{}` is damaged: {e}", dir.display())))?;
    let model = Model::from_plan(&plan).map_err(|e| usage_error(&e.to_string()))?;
    let opts = options(&args.params).map_err(|e| usage_error(&e))?;
    let env: HashMap<String, String> = opts.env.clone().into_iter().collect();
    let cli = runnable(&model, &plan, &env, args)?;
    // The hook script is read again from the workflow file, for the run-time hooks.
    let mut sources = SourceMap::new();
    let hooks = batchflow::compile(Path::new(&old.file), &mut sources, &opts)
        .ok()
        .and_then(|c| c.hooks);
    if old.status_text() == "running" {
        return Err(usage_error(&format!(
            "run `{}` is still running (process {})",
            old.run_id, old.owner_pid
        )));
    }
    let mut record = old.clone();
    record.status = RunStatus::Running;
    record.owner_pid = std::process::id();
    eprint_line(&format!("resuming run `{}` of `{}`", old.run_id, old.workflow));
    Ok(Prepared {
        model,
        hooks,
        run_dir,
        record,
        resume: Some(Resume { state: old }),
        env,
        cli,
    })
}

fn execute(p: Prepared, args: &RunArgs) -> u8 {
    let Prepared {
        model,
        hooks,
        run_dir,
        record,
        resume,
        env,
        cli,
    } = p;
    let interrupt = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&interrupt);
    // Only one handler per process; a second run in the same process reuses the first.
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst));
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| u32::try_from(n.get()).unwrap_or(1)));
    let run_id = record.run_id.clone();
    let run_path = run_dir.path.clone();
    let opts = local::Options {
        jobs: jobs.max(1),
        container_cli: cli,
        run_id: run_id.clone(),
        secrets: env,
        interrupt,
    };
    let mut progress = Progress::new(model.tasks.len(), args.quiet, &run_path);
    if !args.quiet {
        let layout: Vec<u32> = model
            .pools
            .iter()
            .flat_map(|p| local::layout::slots_per_node(p.nodes, p.task_slots, opts.jobs))
            .collect();
        eprint_line(&format!(
            "run `{run_id}`: {} tasks on {} simulated node{} with {} slots; state in {}",
            model.tasks.len(),
            layout.len(),
            if layout.len() == 1 { "" } else { "s" },
            layout.iter().sum::<u32>(),
            relative(&run_path).display()
        ));
        let uploading = model.tasks.iter().filter(|t| !t.body.output_files.is_empty()).count();
        if uploading > 0 {
            let who = if uploading == 1 {
                "1 task names".to_string()
            } else {
                format!("{uploading} tasks name")
            };
            progress.note(&format!(
                "{who} outputs: a local run does not upload them; they stay in each task's wd/"
            ));
        }
    }
    let result = local::run(&model, hooks.as_ref(), &opts, run_dir, record, resume, &mut progress);
    progress.finish();
    if let Some(h) = &hooks {
        for line in h.take_log() {
            eprint_line(&format!("hook: {line}"));
        }
    }
    let (outcome, reports) = match result {
        Ok(r) => r,
        Err(e) => return usage_error(&format!("the run folder failed: {e}")),
    };
    let summary = if args.json {
        let status = match outcome {
            Outcome::Interrupted => "interrupted",
            Outcome::Finished { all_succeeded: true } => "succeeded",
            Outcome::Finished { all_succeeded: false } => "failed",
        };
        summary_json(&run_id, "local", status, &reports)
    } else {
        summary_table(&reports)
    };
    if let Err(code) = print_out(&summary) {
        return code;
    }
    match outcome {
        Outcome::Interrupted => {
            eprint_line(&format!("interrupted; resume with `batchflow run --resume {run_id}`"));
            INTERRUPTED
        }
        Outcome::Finished { all_succeeded: true } => OK,
        Outcome::Finished { all_succeeded: false } => {
            eprint_line(&format!("see a task's output with `batchflow logs {run_id} TASK`; re-run what failed with `batchflow run --resume {run_id}`"));
            FOUND_ERRORS
        }
    }
}

/// Refuses what cannot run here before anything starts.
fn preflight(model: &Model, plan: &Plan, env: &HashMap<String, String>) -> Result<(), String> {
    let windows: Vec<&str> = model
        .pools
        .iter()
        .filter(|p| p.windows)
        .map(|p| p.id.as_str())
        .collect();
    if !windows.is_empty() {
        return Err(format!(
            "pool(s) {} run Windows: the local runner runs Linux commands only; check the workflow with `batchflow check` and run it on Azure Batch",
            windows.iter().map(|p| format!("`{p}`")).collect::<Vec<_>>().join(", ")
        ));
    }
    let whole = container_input_users(model);
    if !whole.is_empty() {
        return Err(format!(
            "{} take a whole blob container as input (`storageContainerUrl`), which a local run cannot list: name the files one by one in `inputs`, or run on Azure Batch",
            whole.join(", ")
        ));
    }
    secrets_set(plan, env)
}

/// The units whose inputs name a whole container.
fn container_input_users(model: &Model) -> Vec<String> {
    use batchflow::exec::local::inputs::container_inputs;
    let mut out: Vec<String> = Vec::new();
    for p in &model.pools {
        if p.start_task
            .as_ref()
            .is_some_and(|st| container_inputs(&st.resource_files).next().is_some())
        {
            out.push(format!("the start task of pool `{}`", p.id));
        }
    }
    for j in &model.jobs {
        if j.prep()
            .is_some_and(|t| container_inputs(&t.resource_files).next().is_some())
        {
            out.push(format!("the preparation task of job `{}`", j.id));
        }
        if j.release()
            .is_some_and(|t| container_inputs(&t.resource_files).next().is_some())
        {
            out.push(format!("the release task of job `{}`", j.id));
        }
    }
    let tasks = model
        .tasks
        .iter()
        .filter(|t| container_inputs(&t.body.resource_files).next().is_some());
    out.extend(tasks.map(|t| format!("task `{}`", t.body.id)));
    if out.len() > 5 {
        let more = out.len() - 5;
        out.truncate(5);
        out.push(format!("{more} more"));
    }
    out
}

/// Refuses a plan whose secrets are not all in the environment.
pub(super) fn secrets_set(plan: &Plan, env: &HashMap<String, String>) -> Result<(), String> {
    let json = serde_json::to_string(plan).unwrap_or_default();
    let missing: Vec<&str> = batchflow::secrets::names(&json)
        .into_iter()
        .filter(|n| !env.contains_key(*n))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(format!(
        "the workflow reads secrets that are not set: {}; set them as environment variables before `batchflow run`",
        missing.join(", ")
    ))
}

fn no_runtime(model: &Model) -> String {
    let mut names: Vec<String> = model
        .tasks
        .iter()
        .filter(|t| t.body.container_settings.is_some())
        .take(5)
        .map(|t| format!("`{}`", t.body.id))
        .collect();
    let more = model
        .tasks
        .iter()
        .filter(|t| t.body.container_settings.is_some())
        .count()
        .saturating_sub(names.len());
    if more > 0 {
        names.push(format!("and {more} more"));
    }
    format!(
        "container tasks ({}) need a docker-compatible CLI, and neither `docker` nor `podman` is on the PATH; install one, or name one with `--container-cli PATH` or BATCHFLOW_CONTAINER_CLI",
        names.join(", ")
    )
}

pub(super) fn new_run_id(root: &Path, workflow: &str) -> String {
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
