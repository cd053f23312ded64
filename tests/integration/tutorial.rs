//! `docs/tutorial.md`, run as written: its files are written into a temporary repository in
//! the order they appear, and every `batchflow` command of its `sh` blocks is run there, in
//! order, locally and against the fake Batch service (`AZURE_BATCH_ENDPOINT` and a token point
//! every command at it). A command ends with exit 0 unless its line says `# exit N`. Lines for
//! other tools (`az`, `cargo`, `git`, `mkdir`, `cd`) are what the tutorial asks of the reader
//! and are not run; any other command is refused, so the tutorial grows no untested step.

use crate::fake_batch::{Config, FakeBatch};
use crate::support::{root, show, Repo};

/// Tools the tutorial names that the test does not run.
const NOT_RUN: [&str; 5] = ["az", "cargo", "git", "mkdir", "cd"];

enum Step {
    /// A file the reader saves: its path (the block's first line, a comment) and text.
    File(String, String),
    /// A command line, with the exit code it must end with.
    Command(String, i32, usize),
}

fn steps(text: &str) -> Vec<Step> {
    let mut out = Vec::new();
    let mut block: Option<(String, Vec<&str>)> = None;
    for (n, line) in text.lines().enumerate() {
        if let Some(info) = line.strip_prefix("```") {
            match block.take() {
                Some((kind, lines)) => out.extend(block_steps(&kind, &lines, n)),
                None => block = Some((info.trim().to_string(), Vec::new())),
            }
            continue;
        }
        if let Some((_, lines)) = block.as_mut() {
            lines.push(line);
        }
    }
    out
}

fn block_steps(kind: &str, lines: &[&str], end: usize) -> Vec<Step> {
    match kind {
        "sh" => lines
            .iter()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                let (command, comment) = l.split_once(" #").unwrap_or((l, ""));
                let code = comment
                    .trim()
                    .strip_prefix("exit ")
                    .and_then(|c| c.split(':').next())
                    .and_then(|c| c.trim().parse().ok())
                    .unwrap_or(0);
                Step::Command(command.trim().to_string(), code, end - lines.len() + i + 1)
            })
            .collect(),
        _ => match lines.first().and_then(|l| l.strip_prefix("# ")) {
            Some(path) if path.contains('.') && !path.contains(' ') => {
                vec![Step::File(path.to_string(), lines[1..].join("\n") + "\n")]
            }
            _ => Vec::new(),
        },
    }
}

#[test]
fn every_command_of_the_tutorial_runs_as_it_says() {
    let text = std::fs::read_to_string(root().join("docs/tutorial.md")).expect("docs/tutorial.md");
    let fake = FakeBatch::start(Config::default());
    let repo = Repo::new();
    let mut ran = 0;
    for step in steps(&text) {
        match step {
            Step::File(path, body) => {
                repo.write(path, body);
            }
            Step::Command(line, code, at) => {
                let words = shlex::split(&line).unwrap_or_else(|| panic!("line {at}: cannot split `{line}`"));
                let Some((tool, args)) = words.split_first() else {
                    continue;
                };
                if NOT_RUN.contains(&tool.as_str()) {
                    continue;
                }
                assert_eq!(tool, "batchflow", "line {at}: the test cannot run `{line}`");
                // `> FILE`: the reader keeps stdout in the repository.
                let (args, into) = match args.iter().position(|a| a == ">") {
                    Some(i) => (&args[..i], args.get(i + 1)),
                    None => (args, None),
                };
                let out = repo
                    .test()
                    .args(args)
                    .env("AZURE_BATCH_ENDPOINT", fake.url())
                    .env("AZURE_BATCH_ACCOUNT", fake.account())
                    .env("BATCHFLOW_ACCESS_TOKEN", "a-test-token")
                    .env("BATCHFLOW_POLL_MS", "20")
                    .run();
                assert_eq!(out.code, code, "line {at}: `{line}`\n{}", show(&out));
                if let Some(file) = into {
                    repo.write(file, &out.stdout);
                }
                ran += 1;
            }
        }
    }
    assert!(ran >= 15, "only {ran} commands ran");
    // What the tutorial promises the reader ends with.
    assert!(
        repo.read("results.txt").contains("output of report"),
        "the azure run's report"
    );
    assert!(repo.exists(".batchflow/.gitignore"));
}

#[test]
fn the_local_part_leaves_the_results_in_the_repository() {
    let text = std::fs::read_to_string(root().join("docs/tutorial.md")).expect("docs/tutorial.md");
    let local = text.split("## Part 2").next().unwrap_or("");
    let repo = Repo::new();
    for step in steps(local) {
        match step {
            Step::File(path, body) => {
                repo.write(path, body);
            }
            Step::Command(line, code, at) => {
                let words = shlex::split(&line).unwrap_or_default();
                let Some((tool, args)) = words.split_first() else {
                    continue;
                };
                if tool != "batchflow" {
                    continue;
                }
                let (args, into) = match args.iter().position(|a| a == ">") {
                    Some(i) => (&args[..i], args.get(i + 1)),
                    None => (args, None),
                };
                let out = repo.test().args(args).run();
                assert_eq!(out.code, code, "line {at}: `{line}`\n{}", show(&out));
                if let Some(file) = into {
                    repo.write(file, &out.stdout);
                }
            }
        }
    }
    let results = repo.read("results.txt");
    for want in ["seed=0 lr=0.1 ok", "seed=1 lr=0.01 ok"] {
        assert!(results.contains(want), "{results}");
    }
}
