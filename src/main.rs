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
    about = "Check, plan and graph .batchflow workflows for Azure Batch",
    long_about = "batchflow compiles .batchflow workflows: it checks pools, images, containers and \
tasks against Azure Batch's rules in a second, and shows the exact Batch REST requests a run \
would send.\n\nStart with `batchflow check` in a repository that keeps workflows in `pipelines/`.",
    after_help = "Exit codes: 0 no errors, 1 errors found, 2 usage or I/O error.\n\
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
        after_help = "Examples:\n  batchflow check\n  batchflow check examples/\n  batchflow check pipelines/train.batchflow --param seeds=16\n  batchflow check --format github --deny-warnings"
    )]
    Check {
        /// Files or folders (searched for *.batchflow); default: the repository's pipelines/
        paths: Vec<PathBuf>,
        /// How to print problems: `human` (with source excerpts), `github` (workflow annotations), `json`
        #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
        format: CheckFormat,
        /// Fail (exit 1) on warnings too
        #[arg(long)]
        deny_warnings: bool,
        #[command(flatten)]
        compile: CompileArgs,
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
        /// The api-version the plan names and the azure backend sends; the bodies follow
        /// the 2024-02-01.19.0 schema, which later api-versions accept
        #[arg(long, default_value = batchflow::plan::DEFAULT_API_VERSION)]
        api_version: String,
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
    /// Explain a rule (`batchflow explain BF101`), or list every rule
    Explain {
        /// A rule code like BF101, or its name like dependency-cycle
        code: Option<String>,
    },
}

#[derive(Args)]
struct CompileArgs {
    /// Set a param declared with `param NAME: TYPE`, e.g. --param seeds=16 --param lrs=0.1,0.01
    #[arg(long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum CheckFormat {
    Human,
    Github,
    Json,
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
            compile,
        } => {
            let format = match format {
                CheckFormat::Human => cli::Output::Human,
                CheckFormat::Github => cli::Output::Github,
                CheckFormat::Json => cli::Output::Json,
            };
            cli::check::run(&paths, format, deny_warnings, &compile.params)
        }
        Command::Plan {
            file,
            format,
            api_version,
            compile,
        } => cli::plan::run(&file, matches!(format, PlanFormat::Json), api_version, &compile.params),
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
        Command::Explain { code } => cli::explain(code.as_deref()),
    };
    ExitCode::from(code)
}
