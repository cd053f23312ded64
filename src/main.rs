//! The `batchflow` command line: parses flags, calls the library, sets exit codes.
//! Exit codes: 0 no errors, 1 errors found, 2 usage or I/O error.

mod cli;

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "batchflow",
    version,
    about = "Check, plan, graph and run .batchflow workflows for Azure Batch",
    long_about = "batchflow compiles .batchflow workflows: it checks pools, images, containers and \
tasks against Azure Batch's rules in a second, shows the exact Batch REST requests a run \
would send, and runs them: on this machine with Batch's semantics, or on Azure Batch.\n\n\
Start with `batchflow check` in a repository that keeps workflows in `pipelines/`.",
    after_help = "Exit codes: 0 no errors, 1 errors found (for run: a task failed), 2 usage or I/O error, 130 interrupted.\n\
Docs: `batchflow explain` lists every rule; `batchflow explain BF101` explains one."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check workflows for errors; with no path, every pipelines/**/*.batchflow of the repository
    #[command(
        after_help = "Examples:\n  batchflow check\n  batchflow check examples/\n  batchflow check pipelines/train.batchflow --param seeds=16\n  batchflow check --format github --deny-warnings\n  batchflow check --format sarif > batchflow.sarif"
    )]
    Check {
        /// Files or folders (searched for *.batchflow); default: the repository's pipelines/
        paths: Vec<PathBuf>,
        /// How to print problems: `human` (with source excerpts), `github` (workflow annotations), `json`, `sarif` (SARIF 2.1.0, for code scanning)
        #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
        format: CheckFormat,
        /// Fail (exit 1) on warnings too
        #[arg(long)]
        deny_warnings: bool,
        /// Also check against the Batch account of batchflow.toml or AZURE_BATCH_ENDPOINT: quotas,
        /// the region's VM sizes, supported images, custom images and identities (reads only)
        #[arg(long)]
        online: bool,
        #[command(flatten)]
        compile: CompileArgs,
    },
    /// Rewrite workflows in the canonical layout; with no path, every pipelines/**/*.batchflow of the repository
    #[command(
        after_help = "Examples:\n  batchflow fmt\n  batchflow fmt examples/ --check\n  batchflow fmt pipelines/train.batchflow --diff\n\nA file with a syntax error is reported and left untouched (exit 1)."
    )]
    Fmt {
        /// Files or folders (searched for *.batchflow); default: the repository's pipelines/
        paths: Vec<PathBuf>,
        /// Write nothing; list the files that are not formatted and exit 1 if there are any
        #[arg(long)]
        check: bool,
        /// Write nothing; print what would change as a unified diff and exit 1 if anything would
        #[arg(long)]
        diff: bool,
    },
    /// Start a repository: pipelines/NAME.batchflow from a template, batchflow.toml, .batchflow/ in .gitignore
    #[command(
        after_help = "Examples:\n  batchflow init\n  batchflow init train --template gpu\n\nFiles go to the repository root (the first folder up with pipelines/, batchflow.toml or .git; else here).\nAn existing workflow of that name is never overwritten; an existing batchflow.toml is kept."
    )]
    Init {
        /// The workflow's name and file name (default: the template's name)
        name: Option<String>,
        /// What the workflow starts as
        #[arg(long, value_enum, default_value_t = InitTemplate::Hello)]
        template: InitTemplate,
    },
    /// Show the Batch REST requests a run would send, in order, without sending anything
    #[command(
        after_help = "Examples:\n  batchflow plan pipelines/train.batchflow\n  batchflow plan pipelines/train.batchflow --format json > plan.json\n\nSecrets appear as \"<secret:NAME>\"; they are read from the environment only when a workflow runs."
    )]
    Plan {
        file: PathBuf,
        /// `text` for people, `json` for machines: {"workflow", "api_version", "steps": [...]}
        #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
        format: PlanFormat,
        /// The Batch api-version the plan names and the azure backend sends: `2025-06-01`
        /// (the default), or an older one such as `2024-02-01.19.0`; the bodies are valid for both
        #[arg(long, value_name = "VERSION", default_value = batchflow::plan::DEFAULT_API_VERSION)]
        api_version: String,
        /// Read nothing from the network: prices from the cached ones only, and the task cache's marks from this machine's copy of its index (no storage account, no container registry)
        #[arg(long)]
        offline: bool,
        #[command(flatten)]
        compile: CompileArgs,
    },
    /// Draw the workflow's pools, jobs and task dependencies
    #[command(
        after_help = "Examples:\n  batchflow graph pipelines/train.batchflow | dot -Tsvg > train.svg\n  batchflow graph pipelines/train.batchflow --format mermaid"
    )]
    Graph {
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
        /// One node per task instance instead of one per sweep
        #[arg(long)]
        instances: bool,
        #[command(flatten)]
        compile: CompileArgs,
    },
    /// Run a workflow: on this machine with Azure Batch's directories, variables and rules, or on Azure Batch
    #[command(
        after_help = "Examples:\n  batchflow run examples/hello.batchflow\n  batchflow run pipelines/train.batchflow --param seeds=4 --jobs 8\n  batchflow run --resume            # re-run what did not succeed in the latest run\n  batchflow run pipelines/train.batchflow --rerun-failed   # a new run of what failed last time, and what depends on it\n  batchflow run pipelines/train.batchflow --no-cache       # run every task, even unchanged ones\n  AZURE_BATCH_ENDPOINT=https://ACCOUNT.REGION.batch.azure.com batchflow run pipelines/train.batchflow --target azure\n\nAzure signs in with `az login`, a service principal (AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_CLIENT_SECRET),\nBATCHFLOW_ACCESS_TOKEN, or the account key (AZURE_BATCH_ACCESS_KEY); see `batchflow explain azure`.\nLocally, command lines run as Batch runs them, without a shell: start one (`/bin/sh -c '...'`) for $VAR, pipes\nor redirections. Each pool gets one simulated node per node (at most 64), each with the pool's task slots.\nEach run keeps its state, plan and task output under .batchflow/runs/RUN/ at the repository root.\nA task with `outputs` whose command, image, environment, inputs and upstream tasks are unchanged since it succeeded,\nand whose outputs are still there, is not run again: the summary shows it `cached` (`--no-cache`, `cache = false`).\nExit codes: 0 every task succeeded, 1 a task failed or errors, 2 usage or I/O error, 130 interrupted."
    )]
    Run {
        /// The workflow to run; with --resume, the workflow whose newest stopped run to continue
        file: Option<PathBuf>,
        /// Where to run: `local`, this machine; `azure`, the Batch account of batchflow.toml or AZURE_BATCH_ENDPOINT
        #[arg(long, value_enum, default_value_t = Target::Local)]
        target: Target,
        /// Azure: task collections (of up to 100 tasks) sent at once (default 16)
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
        max_in_flight: Option<u16>,
        /// Azure: keep the pools after the run; each shrinks to no nodes after its `keep` idle time (30m when it has none)
        #[arg(long)]
        keep_pools: bool,
        /// Azure: the Batch api-version to send (default 2025-06-01); a resumed run keeps its plan's
        #[arg(long, value_name = "VERSION")]
        api_version: Option<String>,
        /// Azure: does nothing now (each run's jobs have ids of their own); accepted for one more release
        #[arg(long)]
        replace_jobs: bool,
        /// Azure: skip the pre-flight (quotas, region, images read from the account before anything is created)
        #[arg(long)]
        no_preflight: bool,
        /// Azure: refuse the run (exit 2) if it may cost more than AMOUNT (in the prices' currency, USD)
        #[arg(long, value_name = "AMOUNT")]
        budget: Option<f64>,
        /// Azure: with --budget, run even when the cost cannot be known
        #[arg(long, requires = "budget")]
        budget_unknown_ok: bool,
        /// Local: most tasks at once (default: the number of CPUs); the pools' nodes and slots do not change with it
        #[arg(long, value_name = "N")]
        jobs: Option<u32>,
        /// Local: the docker-compatible CLI for container tasks (default: BATCHFLOW_CONTAINER_CLI, then docker, then podman)
        #[arg(long, value_name = "PATH")]
        container_cli: Option<String>,
        /// No progress display or notes; only the summary
        #[arg(long)]
        quiet: bool,
        /// Continue a stopped run without repeating what is done: RUN, else the newest stopped run of FILE, else the latest run; locally a failed one too, re-running what did not succeed. It keeps its parameters
        #[arg(long, value_name = "RUN", num_args = 0..=1, default_missing_value = "")]
        resume: Option<String>,
        /// Start a new run of only what did not succeed in RUN (default: the latest run of FILE) and what depends on it; its succeeded tasks are not run again, their outputs used where they are
        #[arg(long, value_name = "RUN", num_args = 0..=1, default_missing_value = "")]
        rerun_failed: Option<String>,
        /// Run every task, even those the task cache could take as they are (a task whose command, image, environment, inputs and upstream tasks match one that succeeded before, with its outputs still there)
        #[arg(long)]
        no_cache: bool,
        /// The summary on stdout: a table, or one JSON object with every task
        #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
        format: PlanFormat,
        #[command(flatten)]
        compile: CompileArgs,
    },
    /// List the runs of this repository, newest first
    #[command(after_help = "Examples:\n  batchflow runs\n  batchflow runs --format json")]
    Runs {
        /// `text` for people, `json` for machines: [{"id", "workflow", "target", "state", "started", "params", "counts", "rerun_of"}]
        #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
        format: PlanFormat,
    },
    /// How a run stands; for a run on Azure Batch, its pools and jobs as Batch has them now
    #[command(after_help = "Examples:\n  batchflow status\n  batchflow status hello-20261123-141502 --format json")]
    Status {
        /// A run id, a unique prefix of one, or `latest`
        #[arg(default_value = "latest")]
        run: String,
        #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
        format: PlanFormat,
    },
    /// Stop a run: its process if it still runs, and on Azure Batch terminate its jobs and delete its pools
    #[command(
        after_help = "Examples:\n  batchflow cancel\n  batchflow cancel train-20261123-141502 --keep-pools\n\nOnly the jobs and pools the run created are touched; a pool it found from an earlier run is left."
    )]
    Cancel {
        /// A run id, a unique prefix of one, or `latest`
        #[arg(default_value = "latest")]
        run: String,
        /// Keep the run's pools on Batch, shrinking to no nodes once idle (as `run --keep-pools`)
        #[arg(long)]
        keep_pools: bool,
    },
    /// Print a task's output from a run (the latest run when no run is given)
    #[command(
        allow_missing_positional = true,
        after_help = "Examples:\n  batchflow logs gather\n  batchflow logs hello-20261123-141502 greet-2 --stderr\n\nA task that never started has no output: `logs` says why it did not start (exit 1)."
    )]
    Logs {
        /// A run id, a unique prefix of one, or `latest` (the default)
        run: Option<String>,
        /// The task id, or JOB/TASK when two jobs have it
        task: String,
        /// Print stderr.txt instead of stdout.txt
        #[arg(long)]
        stderr: bool,
    },
    /// Log in to a node of a run on Azure Batch: the node a task ran on, a node by its id, or the first node of the run's pools
    #[command(
        after_help = "Examples:\n  batchflow ssh latest train-3\n  batchflow ssh train-20261123-141502 --print\n  batchflow ssh latest tvm-1695681911_1-20161122t193202z --key ~/.ssh/work.pub\n\nA node user is added for an hour with your SSH public key, and deleted when the session ends (with --print it lives until it expires). Windows nodes: the Remote Desktop address, user and password are printed instead. BATCHFLOW_SSH names another ssh program."
    )]
    Ssh {
        /// A run id, a unique prefix of one, or `latest`
        run: String,
        /// A task of the run (JOB/TASK when two jobs have it) or a node id; none: the first node of the run's pools
        target: Option<String>,
        /// The SSH public key to log in with
        #[arg(long, value_name = "FILE", default_value = "~/.ssh/id_ed25519.pub")]
        key: String,
        /// Add the user and print the ssh command instead of running it
        #[arg(long)]
        print: bool,
    },
    /// The pools batchflow made in the Azure Batch account: kept ones and those runs still use; `pools delete` removes them
    #[command(
        after_help = "Examples:\n  batchflow pools\n  batchflow pools --format json\n  batchflow pools delete cpu\n  batchflow pools delete --idle\n\nA pool is kept after a run by `keep = 30m` on the pool or `run --keep-pools`: it shrinks to no nodes once it\nhas had no tasks that long, and the next run whose pool has the same specification takes it. The account is that of\nbatchflow.toml or AZURE_BATCH_ENDPOINT. Local runs keep nothing: their simulated nodes end with the run."
    )]
    Pools {
        #[command(subcommand)]
        action: Option<PoolsAction>,
        /// `text` for people, `json` for machines: [{"id", "workflow", "run", "state", "idle_since", "keep", "nodes", "target", "size", "cost_per_hour", ...}]
        #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
        format: PlanFormat,
    },
    /// Bring a run's outputs back into the repository again (those whose destination is a repository path)
    #[command(
        after_help = "Examples:\n  batchflow fetch latest\n  batchflow fetch align-20261123-141502 map-3 align/merge\n\nFiles come from where the run kept them: the run folder for a local run, the storage account for a run on Azure Batch (the same credentials as `run`). Each file is written whole or not at all."
    )]
    Fetch {
        /// A run id, a unique prefix of one, or `latest`
        run: String,
        /// Only these tasks: TASK, or JOB/TASK when two jobs have it (default: every task with repository outputs)
        tasks: Vec<String>,
        /// `text`: one line per file; `json`: [{"job", "task", "files", "missing"}]
        #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
        format: PlanFormat,
    },
    /// Remove run folders (.batchflow/runs/RUN), keeping runs still running and azure runs that did not end
    #[command(after_help = "Examples:\n  batchflow clean\n  batchflow clean --older-than 7d")]
    Clean {
        /// Only runs started longer ago than this: 7d, 12h, 30m
        #[arg(long, value_name = "AGE")]
        older_than: Option<String>,
    },
    /// Run the language server on stdin/stdout, for editors: diagnostics as you type, hover, completion, go to definition, rename, formatting, quick fixes
    #[command(
        after_help = "Editors start it themselves: `batchflow explain editors` shows the setup for VS Code, Neovim, Helix and Emacs.\nIt speaks the Language Server Protocol (JSON-RPC) on stdin and stdout, logs to stderr, and exits on the editor's `exit`."
    )]
    Lsp,
    /// Explain a rule (`batchflow explain BF101`) or print a guide (`batchflow explain language`); alone, list them
    Explain {
        /// A rule code like BF101, its name like dependency-cycle, or a guide: tutorial, language, cli, run, azure, plan, mpi, editors
        code: Option<String>,
    },
}

#[derive(Subcommand)]
enum PoolsAction {
    /// Delete pools batchflow made: those named, or with --idle every idle one; never one a job still runs on
    Delete {
        /// Pool ids
        ids: Vec<String>,
        /// Every pool batchflow made that no run uses now
        #[arg(long)]
        idle: bool,
    },
}

#[derive(Args)]
struct CompileArgs {
    /// Set a param declared with `param NAME: TYPE`, e.g. --param seeds=16 --param lrs=0.1,0.01
    #[arg(long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Target {
    /// This machine
    Local,
    /// Azure Batch
    Azure,
}

#[derive(Clone, Copy, ValueEnum)]
enum InitTemplate {
    /// A sweep and a fan-in on one Linux node, runnable on this machine
    Hello,
    /// Every seed with every rate, params to override, retries and a report
    Sweep,
    /// Container tasks on a GPU pool
    Gpu,
    /// One MPI task across InfiniBand nodes
    Mpi,
    /// Container tasks from a public registry
    Containers,
}

#[derive(Clone, Copy, ValueEnum)]
enum CheckFormat {
    Human,
    Github,
    Json,
    Sarif,
}

#[derive(Clone, Copy, ValueEnum)]
enum PlanFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum GraphFormat {
    Dot,
    Mermaid,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Check {
            paths,
            format,
            deny_warnings,
            online,
            compile,
        } => {
            let format = match format {
                CheckFormat::Human => cli::Output::Human,
                CheckFormat::Github => cli::Output::Github,
                CheckFormat::Json => cli::Output::Json,
                CheckFormat::Sarif => cli::Output::Sarif,
            };
            cli::check::run(&paths, format, deny_warnings, online, &compile.params)
        }
        Command::Init { name, template } => {
            use batchflow::init::Template;
            let template = match template {
                InitTemplate::Hello => Template::Hello,
                InitTemplate::Sweep => Template::Sweep,
                InitTemplate::Gpu => Template::Gpu,
                InitTemplate::Mpi => Template::Mpi,
                InitTemplate::Containers => Template::Containers,
            };
            cli::init::run(name.as_deref(), template)
        }
        Command::Fmt { paths, check, diff } => cli::fmt::run(&paths, cli::fmt::Mode { check, diff }),
        Command::Plan {
            file,
            format,
            api_version,
            offline,
            compile,
        } => cli::plan::run(
            &file,
            matches!(format, PlanFormat::Json),
            api_version,
            offline,
            &compile.params,
        ),
        Command::Graph {
            file,
            format,
            instances,
            compile,
        } => {
            let format = match format {
                GraphFormat::Dot => batchflow::render_graph::Format::Dot,
                GraphFormat::Mermaid => batchflow::render_graph::Format::Mermaid,
            };
            cli::plan::graph(&file, format, instances, &compile.params)
        }
        Command::Run {
            file,
            target,
            max_in_flight,
            keep_pools,
            api_version,
            replace_jobs,
            no_preflight,
            budget,
            budget_unknown_ok,
            jobs,
            container_cli,
            quiet,
            resume,
            rerun_failed,
            no_cache,
            format,
            compile,
        } => cli::run::run(cli::run::RunArgs {
            file,
            azure: matches!(target, Target::Azure),
            max_in_flight: max_in_flight.map(usize::from),
            keep_pools,
            api_version,
            replace_jobs,
            preflight: !no_preflight,
            budget,
            budget_unknown_ok,
            params: compile.params,
            jobs,
            container_cli,
            quiet,
            resume,
            rerun_failed,
            cache: !no_cache,
            json: matches!(format, PlanFormat::Json),
        }),
        Command::Runs { format } => cli::runs::runs(matches!(format, PlanFormat::Json)),
        Command::Status { run, format } => cli::status::status(&run, matches!(format, PlanFormat::Json)),
        Command::Cancel { run, keep_pools } => cli::status::cancel(&run, keep_pools),
        Command::Logs { run, task, stderr } => cli::runs::logs(run.as_deref().unwrap_or("latest"), &task, stderr),
        Command::Ssh {
            run,
            target,
            key,
            print,
        } => cli::ssh::ssh(&run, target.as_deref(), &key, print),
        Command::Pools { action, format } => match action {
            None => cli::pools::pools(matches!(format, PlanFormat::Json)),
            Some(PoolsAction::Delete { ids, idle }) => cli::pools::delete(&ids, idle),
        },
        Command::Fetch { run, tasks, format } => cli::fetch::fetch(&run, &tasks, matches!(format, PlanFormat::Json)),
        Command::Clean { older_than } => cli::clean::clean(older_than.as_deref()),
        Command::Lsp => cli::lsp::run(),
        Command::Explain { code } => cli::explain(code.as_deref()),
    };
    ExitCode::from(code)
}
