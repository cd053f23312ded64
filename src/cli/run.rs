//! `batchflow run`, `batchflow runs`, `batchflow logs`: the local backend on the command line.

use super::preflight::{no_runtime, node_notes, preflight};
use super::progress::{relative, summary_json, summary_table, Progress};
use super::runs::{create_run, open_stopped, Stopped};
use super::{eprint_human, eprint_line, options, print_out, usage_error, FOUND_ERRORS, OK};
use batchflow::exec::local::{self, container_cli, Model, Outcome, Resume};
use batchflow::exec::Observer;
use batchflow::graph::Workflow;
use batchflow::hooks::Hooks;
use batchflow::plan::{self, Plan};
use batchflow::source::SourceMap;
use batchflow::state::{self, RunDir, RunState, RunStatus, TaskRecord};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

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
    /// `--api-version`: the Batch api-version of a new run's plan (azure).
    pub api_version: Option<String>,
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
    let stopped = match &args.resume {
        Some(which) => match open_stopped(&root, which) {
            Ok(s) => Some(s),
            Err(code) => return code,
        },
        None => None,
    };
    // A resumed run goes where it ran.
    let azure = stopped.as_ref().map_or(args.azure, |s| s.state.target != "local");
    if let Err(why) = options_fit(&args, azure) {
        return usage_error(&why);
    }
    if azure {
        return super::azure::run(&args, stopped);
    }
    let prepared = match stopped {
        Some(stopped) => resume(stopped, &args),
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
    if let Some(v) = &args.api_version {
        plan::api_version::check(v).map_err(|why| format!("--api-version: {why}"))?;
    }
    let azure_only = "it is for `--target azure`";
    let refused = [
        (!azure && args.max_in_flight.is_some(), "--max-in-flight", azure_only),
        (!azure && args.keep_pools, "--keep-pools", azure_only),
        (!azure && args.api_version.is_some(), "--api-version", azure_only),
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
pub(super) fn compile_and_plan(
    file: &Path,
    opts: &batchflow::Options,
    plan_options: &plan::Options,
    sources: &mut SourceMap,
) -> Result<Planned, u8> {
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
    let plan = plan::plan(&workflow, compiled.hooks.as_ref(), plan_options).map_err(|d| {
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
    let Planned { plan, hooks, .. } = compile_and_plan(file, &opts, &plan::Options::default(), &mut sources)?;
    let model = Model::from_plan(&plan).map_err(|e| usage_error(&e.to_string()))?;
    let env: HashMap<String, String> = opts.env.into_iter().collect();
    let cli = runnable(&model, &plan, &env, args)?;
    let tasks = model
        .tasks
        .iter()
        .map(|t| {
            let job = model.jobs.get(t.job).map_or_else(String::new, |j| j.id.clone());
            TaskRecord::waiting(job, t.body.id.clone())
        })
        .collect();
    let (run_dir, record) = create_run(root, file, &args.params, &plan, "local".into(), tasks)?;
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

fn resume(stopped: Stopped, args: &RunArgs) -> Result<Prepared, u8> {
    let Stopped {
        run_dir,
        state: old,
        plan,
    } = stopped;
    let model = Model::from_plan(&plan).map_err(|e| usage_error(&e.to_string()))?;
    let opts = options(&args.params).map_err(|e| usage_error(&e))?;
    let env: HashMap<String, String> = opts.env.clone().into_iter().collect();
    let cli = runnable(&model, &plan, &env, args)?;
    // The hook script is read again from the workflow file, for the run-time hooks.
    let mut sources = SourceMap::new();
    let hooks = batchflow::compile(Path::new(&old.file), &mut sources, &opts)
        .ok()
        .and_then(|c| c.hooks);
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
        let (nodes, slots) = model.pools.iter().fold((0u32, 0u32), |(n, s), p| {
            let here = u32::try_from(local::layout::simulated(p.dedicated, p.low_priority).len()).unwrap_or(0);
            (n + here, s + here * p.task_slots)
        });
        eprint_line(&format!(
            "run `{run_id}`: {} tasks on {nodes} simulated node{} with {slots} slots, at most {} at once; state in {}",
            model.tasks.len(),
            if nodes == 1 { "" } else { "s" },
            opts.jobs,
            relative(&run_path).display()
        ));
        for note in node_notes(&model) {
            progress.note(&note);
        }
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
