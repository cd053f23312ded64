//! `batchflow run`: the workflow compiled and planned (or a stopped run opened again), the
//! backend of its target, and the run driver; then the summary, the problems at their lines,
//! and the exit code.

use super::progress::{final_counts, relative, summary_json, summary_table, Progress};
use super::{environment, eprint_human, eprint_line, eprint_problems, options, print_out};
use batchflow::exec::azure::reach::Reach;
use batchflow::exec::azure::{self, config, AzureBackend};
use batchflow::exec::backend::Backend;
use batchflow::exec::driver::{Driver, Finished, Start};
use batchflow::exec::error::RunError;
use batchflow::exec::local::{self, LocalBackend};
use batchflow::exec::plan_tasks::{self, Labels};
use batchflow::exec::rerun::Rerun;
use batchflow::exec::runs::{self, Stopped};
use batchflow::exec::state::{self, RunStatus};
use batchflow::exit;
use batchflow::hooks::{Hooks, Limits};
use batchflow::plan::{self, Plan};
use batchflow::source::SourceMap;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

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
    /// `--replace-jobs`: does nothing now that each run's jobs have ids of their own; kept one
    /// release so scripts that pass it keep working.
    pub replace_jobs: bool,
    /// Read the account before anything is created (azure; `--no-preflight` turns it off).
    pub preflight: bool,
    /// `--budget`: the most the run may cost (azure).
    pub budget: Option<f64>,
    /// `--budget-unknown-ok`: run under `--budget` even when the cost is unknown.
    pub budget_unknown_ok: bool,
    pub params: Vec<String>,
    pub jobs: Option<u32>,
    pub container_cli: Option<String>,
    pub quiet: bool,
    /// `--resume [RUN]`: `Some("")` for the latest run.
    pub resume: Option<String>,
    /// `--rerun-failed [RUN]`: `Some("")` for the latest run of the file.
    pub rerun_failed: Option<String>,
    /// Consult the task cache (`--no-cache` turns it off).
    pub cache: bool,
    /// `--format json`: the summary as one JSON object on stdout.
    pub json: bool,
}

/// A workflow ready to run: its plan, hooks and sources, and how its run starts.
struct Prepared {
    plan: Plan,
    hooks: Option<Hooks>,
    sources: SourceMap,
    /// The workflow file and the texts a new run keeps a copy of; `None` when resuming.
    fresh: Option<(PathBuf, String, Option<String>)>,
    /// The stopped run's folder and record, when resuming.
    stopped: Option<(state::RunDir, state::RunState)>,
    /// `--rerun-failed`: the earlier run's tasks, carried over or to run again.
    rerun: Option<Rerun>,
}

pub fn run(mut args: RunArgs) -> u8 {
    // `run --resume FILE`: `--resume` takes an optional RUN, so the workflow lands there.
    if args.file.is_none() && args.resume.as_deref().is_some_and(|w| Path::new(w).is_file()) {
        args.file = args.resume.replace(String::new()).map(PathBuf::from);
    }
    if args.file.is_none() && args.rerun_failed.as_deref().is_some_and(|w| Path::new(w).is_file()) {
        args.file = args.rerun_failed.replace(String::new()).map(PathBuf::from);
    }
    match go(&args) {
        Ok(code) => code,
        Err(Stop::Printed(code)) => code,
        Err(Stop::Error(e, sources)) => {
            eprint_problems(&[e.problem(None)], &sources);
            e.exit_code()
        }
    }
}

/// Why `run` stopped before a summary: an exit code whose reason is already printed, or an
/// error to print.
enum Stop {
    Printed(u8),
    Error(RunError, SourceMap),
}

impl From<RunError> for Stop {
    fn from(e: RunError) -> Stop {
        Stop::Error(e, SourceMap::new())
    }
}

fn go(args: &RunArgs) -> Result<u8, Stop> {
    let cwd = std::env::current_dir().map_err(|e| RunError::io("cannot read the current directory", e))?;
    let root = state::runs_root(&cwd);
    if args.resume.is_some() && !args.params.is_empty() {
        return Err(
            RunError::Refused("a resumed run keeps its parameters; start a new run to change them".into()).into(),
        );
    }
    let asked = super::rerun::Asked {
        which: args.rerun_failed.as_deref(),
        resume: args.resume.is_some(),
        file: args.file.as_deref(),
        azure: args.azure,
    };
    let earlier = super::rerun::earlier(&root, asked)?;
    // A rerun runs with the earlier run's parameters unless others are given.
    let with_params;
    let args = match earlier.as_ref().and_then(|e| super::rerun::params(e, &args.params)) {
        Some(params) => {
            with_params = RunArgs { params, ..args.clone() };
            &with_params
        }
        None => args,
    };
    let stopped = match &args.resume {
        Some(which) => Some(runs::open_stopped(&root, which, args.file.as_deref())?),
        None => None,
    };
    // A resumed run goes where it ran, and so does a rerun.
    let azure = stopped
        .as_ref()
        .map(|s| &s.state)
        .or(earlier.as_ref())
        .map_or(args.azure, |s| s.target != "local");
    options_fit(args, azure).map_err(RunError::Refused)?;
    let mut env = environment();
    let reach = if azure {
        // A resumed run (or a rerun) goes back to its own account unless told otherwise.
        if let Some(s) = stopped.as_ref().map(|s| &s.state).or(earlier.as_ref()) {
            config::default_endpoint(&mut env, &s.target);
        }
        let file = config::read_file(&state::repo_root(&cwd))?;
        let mut reach = Reach::new(config::resolve(&file, &env)?, &file, &env)?;
        if let Some(v) = &args.api_version {
            reach.use_api_version(v)?;
        }
        Some(reach)
    } else {
        None
    };
    if args.replace_jobs {
        eprint_line("note: --replace-jobs does nothing and will be removed: each run's jobs now have Batch ids of their own (`JOB-SUFFIX`), so a run never meets an earlier run's job");
    }
    let auth = reach.as_ref().map(|r| r.credentials().mode());
    let p = match stopped {
        Some(stopped) => resume(stopped, &root, args)?,
        None => {
            let file = args
                .file
                .as_deref()
                .ok_or_else(|| RunError::Refused("give a workflow file, or `--resume` to continue a run".into()))?;
            let mut p = fresh(file, args, auth, reach.as_ref())?;
            if let Some(e) = &earlier {
                p.rerun = Some(super::rerun::select(&p.plan, e, args.quiet).map_err(Stop::Printed)?);
            }
            p
        }
    };
    let stage_env = env.clone();
    let backend: Box<dyn Backend> = match &reach {
        Some(reach) => Box::new(AzureBackend::new(
            &p.plan,
            reach,
            azure::AzureSettings {
                max_in_flight: args.max_in_flight,
                keep_pools: args.keep_pools,
                env,
            },
        )?),
        None => Box::new(LocalBackend::new(
            &p.plan,
            local::LocalSettings {
                jobs: args.jobs.unwrap_or_else(cpus),
                container_cli: args.container_cli.clone(),
                env,
                mounts: local::mounts::folders(&state::repo_root(&cwd))?,
            },
        )?),
    };
    execute(p, backend, stage_env, &root, args)
}

fn cpus() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| u32::try_from(n.get()).unwrap_or(1))
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
        (!azure && !args.preflight, "--no-preflight", azure_only),
        (!azure && args.budget.is_some(), "--budget", azure_only),
        (
            args.resume.is_some() && args.budget.is_some(),
            "--budget",
            "it applies to a new run, before anything is created",
        ),
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

/// Compiles `file` (with the target's auth mode, so BF112 sees it) and plans it for
/// `--api-version`; diagnostics and hook output go to stderr, and a workflow with errors is
/// refused.
fn fresh(
    file: &Path,
    args: &RunArgs,
    auth: Option<batchflow::auth_mode::AuthMode>,
    reach: Option<&Reach>,
) -> Result<Prepared, Stop> {
    let mut opts = options(&args.params).map_err(RunError::Refused)?;
    if auth.is_some() {
        opts.auth = auth;
    }
    let api_version = args
        .api_version
        .clone()
        .unwrap_or_else(|| plan::DEFAULT_API_VERSION.to_string());
    let mut sources = SourceMap::new();
    let mut compiled = batchflow::compile(file, &mut sources, &opts)
        .map_err(|e| RunError::io(format!("cannot read `{}`", file.display()), e))?;
    super::eprint_hook_log(&compiled);
    // The pre-flight: the account read before anything is created, its verdicts shown with
    // the others.
    let facts = match (reach.filter(|_| args.preflight), &compiled.workflow) {
        (Some(reach), Some(wf)) => Some(batchflow::online::preflight(
            reach,
            wf,
            opts.today,
            &mut compiled.diagnostics,
        )),
        _ => None,
    };
    eprint_human(&compiled.diagnostics, &sources);
    if compiled.has_errors() {
        eprint_line(&format!(
            "{}: {}; fix them first",
            file.display(),
            super::summary(&compiled.diagnostics)
        ));
        return Err(Stop::Printed(exit::FOUND_ERRORS));
    }
    let workflow = compiled.workflow.take().ok_or(Stop::Printed(exit::FOUND_ERRORS))?;
    let mut plan =
        plan::plan(&workflow, compiled.hooks.as_ref(), &compiled.plan_options(api_version)).map_err(|d| {
            eprint_human(&d, &sources);
            Stop::Printed(exit::FOUND_ERRORS)
        })?;
    if let Some(note) = plan::api_version::untested(&plan.api_version) {
        eprint_line(&note);
    }
    if let Some(reach) = reach {
        let (estimate, notes) = batchflow::online::estimate(Some(reach), &workflow, facts.as_ref(), false);
        if !args.quiet {
            for line in notes
                .iter()
                .map(|n| format!("note: {n}"))
                .chain(plan::estimate::describe(&estimate))
            {
                eprint_line(&line);
            }
        }
        if let Some(budget) = args.budget {
            batchflow::online::within_budget(&estimate, budget, args.budget_unknown_ok)?;
        }
        plan.estimate = Some(estimate);
    }
    let text = sources.text(compiled.src).to_string();
    let hooks_text = compiled.hooks.as_ref().map(|h| h.text().to_string());
    Ok(Prepared {
        plan,
        hooks: compiled.hooks,
        sources,
        fresh: Some((file.to_path_buf(), text, hooks_text)),
        stopped: None,
        rerun: None,
    })
}

/// A stopped run: its saved plan, pointed at the copy of the workflow it was planned from,
/// and the hook script it ran with.
fn resume(stopped: Stopped, root: &Path, args: &RunArgs) -> Result<Prepared, Stop> {
    if let Some(file) = stopped.changed_file(root, args.file.as_deref()) {
        eprint_line(&format!(
            "warning: `{}` changed since run `{}` started; a resumed run runs the workflow as it was then: start a new run to run the changes",
            file.display(),
            stopped.state.run_id
        ));
    }
    let Stopped {
        run_dir,
        state: old,
        mut plan,
        text,
        hooks: hooks_text,
    } = stopped;
    if let Some(v) = args.api_version.as_deref().filter(|v| *v != plan.api_version) {
        return Err(RunError::Refused(format!(
            "run `{}` was planned for api-version {}, which a resumed run keeps: drop `--api-version {v}`, or start a new run",
            old.run_id, plan.api_version
        ))
        .into());
    }
    let mut sources = SourceMap::new();
    let hooks = match (&text, &hooks_text) {
        (Some(text), hooks_text) => {
            let src = sources.add(old.file.clone(), text.as_str());
            for step in &mut plan.steps {
                step.set_source(src);
            }
            hooks_text.as_ref().and_then(|h| {
                let name = run_dir.path.join(runs::HOOKS_COPY).display().to_string();
                let hsrc = sources.add(name.clone(), h.as_str());
                Hooks::compile(hsrc, &name, h.as_str().into(), Limits::default()).ok()
            })
        }
        // A run from before runs kept a copy: its hooks come from the file as it is now.
        (None, _) => {
            let opts = options(&old.params).map_err(RunError::Refused)?;
            let compiled = batchflow::compile(Path::new(&old.file), &mut sources, &opts).ok();
            let hooks = compiled.and_then(|c| c.hooks);
            if hooks.is_none() && old.target != "local" {
                eprint_line(&format!(
                    "note: `{}` no longer compiles; resuming without its hooks",
                    old.file
                ));
            }
            hooks
        }
    };
    let on = if old.target == "local" {
        String::new()
    } else {
        format!(" on {}", old.target)
    };
    eprint_line(&format!("resuming run `{}` of `{}`{on}", old.run_id, old.workflow));
    Ok(Prepared {
        plan,
        hooks,
        sources,
        fresh: None,
        stopped: Some((run_dir, old)),
        rerun: None,
    })
}

fn execute(
    p: Prepared,
    mut backend: Box<dyn Backend>,
    env: HashMap<String, String>,
    root: &Path,
    args: &RunArgs,
) -> Result<u8, Stop> {
    let Prepared {
        plan,
        hooks,
        sources,
        fresh,
        stopped,
        rerun,
    } = p;
    let start = match (&fresh, stopped) {
        (Some((file, text, hooks_text)), _) => Start::Fresh {
            root,
            file,
            text,
            hooks: hooks_text.as_deref(),
            params: &args.params,
            rerun,
            cache: args.cache,
        },
        (None, Some((run_dir, state))) => Start::Resume { run_dir, state },
        (None, None) => return Err(RunError::Refused("nothing to run".into()).into()),
    };
    let driver = Driver::start(&plan, start, backend.as_ref(), env).map_err(|e| Stop::Error(e, SourceMap::new()))?;
    let interrupt = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&interrupt);
    // Only one handler per process; a second run in the same process reuses the first.
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst));
    let run_id = driver.record().run_id.clone();
    let mut progress = Progress::new(driver.record().tasks.len(), args.quiet, driver.path());
    if !args.quiet {
        eprint_line(&format!(
            "run `{run_id}`: {} tasks on {}; state in {}",
            driver.record().tasks.len(),
            backend.describe(),
            relative(driver.path()).display()
        ));
    }
    let result = driver.run(backend.as_mut(), hooks.as_ref(), &mut progress, interrupt);
    progress.finish(result.as_ref().ok().map(|f| final_counts(&f.reports)));
    if let Some(h) = &hooks {
        for line in h.take_log() {
            eprint_line(&format!("hook: {line}"));
        }
    }
    match result {
        Ok(finished) => summarize(
            &finished,
            &sources,
            &plan_tasks::labels(&plan),
            args,
            plan.estimate.as_ref(),
        ),
        Err(e) => {
            eprint_problems(&[e.problem(None)], &sources);
            Err(Stop::Printed(e.exit_code()))
        }
    }
}

/// The summary on stdout, the problems at their lines, and what to do next.
fn summarize(
    f: &Finished,
    sources: &SourceMap,
    labels: &Labels,
    args: &RunArgs,
    estimate: Option<&plan::estimate::Estimate>,
) -> Result<u8, Stop> {
    let status = match f.status {
        RunStatus::Interrupted => "interrupted",
        RunStatus::Succeeded => "succeeded",
        _ => "failed",
    };
    let summary = if args.json {
        summary_json(&f.run_id, &f.target, status, &f.reports, labels, f.rerun_of.as_deref())
    } else {
        summary_table(&f.reports, labels)
    };
    if let (Some(of), false) = (&f.rerun_of, args.json) {
        eprint_line(&format!("run `{}` reran run `{of}`", f.run_id));
    }
    print_out(&summary).map_err(Stop::Printed)?;
    if let (false, Some(e)) = (f.usage.is_empty(), estimate) {
        let (hours, cost) = plan::estimate::cost(&f.usage, e);
        let cost = cost.map_or_else(|| "an unknown cost".to_string(), |c| format!("{c:.2} {}", e.currency));
        eprint_line(&format!(
            "node-hours: {hours:.2}, {cost} at the estimate's prices (the estimate's bound: {})",
            e.upper_bound
                .map_or_else(|| "unknown".to_string(), |b| format!("{b:.2} {}", e.currency))
        ));
    }
    eprint_problems(&f.problems, sources);
    let local = f.target == "local";
    let id = &f.run_id;
    let file = args
        .file
        .as_deref()
        .map_or_else(|| "FILE".to_string(), |f| f.display().to_string());
    match (&f.status, local) {
        (RunStatus::Interrupted, true) => eprint_line(&format!("interrupted; resume with `batchflow run --resume {id}`")),
        (RunStatus::Interrupted, false) => eprint_line(&format!(
            "interrupted; its pools and jobs stay on Batch: resume with `batchflow run --resume {id}`, or end them with `batchflow cancel {id}`"
        )),
        (RunStatus::Succeeded, _) => {}
        (_, true) => eprint_line(&format!(
            "see a task's output with `batchflow logs {id} TASK`; once fixed, run what failed again with `batchflow run {file} --rerun-failed` (a new run), or in this run with `batchflow run --resume {id}`"
        )),
        (_, false) => eprint_line(&format!(
            "see a task's output with `batchflow logs {id} TASK`; once fixed, run what failed again with `batchflow run {file} --rerun-failed`"
        )),
    }
    Ok(f.exit_code())
}
