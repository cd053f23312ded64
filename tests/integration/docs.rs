//! The documentation an installed binary's user has: `batchflow explain TOPIC` prints the
//! guides, messages point at `batchflow explain` (never at a path of a checkout), and what the
//! docs claim about commands and flags is what `--help` says.

use crate::support::{root, Test};

#[test]
fn explain_prints_the_guides_the_binary_carries() {
    for (topic, file) in [
        ("tutorial", "docs/tutorial.md"),
        ("language", "docs/language.md"),
        ("run", "docs/run.md"),
        ("azure", "docs/azure.md"),
        ("cli", "docs/cli.md"),
        ("plan", "docs/plan.md"),
        ("editors", "docs/editors.md"),
    ] {
        let text = std::fs::read_to_string(root().join(file)).expect(file);
        Test::project().args(["explain", topic]).stdout(text).success();
    }
    Test::project()
        .args(["explain"])
        .stdout_contains("batchflow explain language")
        .success();
    Test::project()
        .args(["explain", "langauge"])
        .stderr_contains("did you mean `language`")
        .status(2);
}

#[test]
fn a_syntax_error_points_at_explain_not_at_a_checkout_path() {
    let out = Test::new()
        .write("w.batchflow", "pool cpu {\n  dedicated = 1 +\n}\n")
        .args(["check", "--format", "json", "w.batchflow"])
        .failure();
    let d = out.diagnostics();
    let help = d[0]["help"].as_str().unwrap_or("");
    assert!(help.contains("`batchflow explain language`"), "{help}");
}

/// Text the binary prints (messages, helps, `--help`) names no file of a checkout: an installed
/// binary's user has no `docs/` folder.
#[test]
fn no_message_names_a_docs_path() {
    let mut offenders = Vec::new();
    // The rule pages too: `batchflow explain CODE` prints them.
    let mut todo = vec![root().join("src"), root().join("docs/rules")];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).expect("src").flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            for (n, line) in text.lines().enumerate() {
                let code = line.trim_start();
                // Comments may name files; include_str! reads them at build time.
                if code.starts_with("//") || code.contains("include_str!") || code.contains("concat!(") {
                    continue;
                }
                if line.contains("docs/") && line.contains(".md") {
                    offenders.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "messages name checkout paths:\n{}",
        offenders.join("\n")
    );
}

/// Options of `docker run` the docs discuss (in `run_options`), which are not batchflow's.
const DOCKER_RUN_OPTIONS: [&str; 6] = ["--gpus", "--name", "--rm", "--runtime", "--workdir", "--volume"];

/// The documents a user reads: the README and every guide.
fn documents() -> Vec<std::path::PathBuf> {
    let mut out = vec![root().join("README.md")];
    let mut guides: Vec<std::path::PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    guides.sort();
    out.extend(guides);
    out
}

/// Inline code spans and the lines of fenced code blocks that are not batchflow source (nor
/// Rhai hooks, nor Batch autoscale formulas).
fn code_of(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut fence: Option<bool> = None;
    for (n, line) in text.lines().enumerate() {
        if let Some(rest) = line.trim_start().strip_prefix("```") {
            fence = match fence {
                Some(_) => None,
                None => Some(!["batchflow", "rhai", "autoscale"].contains(&rest.trim())),
            };
            continue;
        }
        match fence {
            Some(true) => out.push((n + 1, line.to_string())),
            Some(false) => {}
            None => {
                let parts: Vec<&str> = line.split('`').collect();
                out.extend(parts.iter().skip(1).step_by(2).map(|s| (n + 1, s.to_string())));
            }
        }
    }
    out
}

fn help(args: &[&str]) -> Option<String> {
    let out = Test::project().args(args).arg("--help").run();
    (out.code == 0).then_some(out.stdout)
}

#[test]
fn the_docs_name_only_commands_and_flags_that_help_has() {
    let top = help(&[]).expect("batchflow --help");
    // The commands `batchflow --help` lists, two-space indented under `Commands:`.
    let commands: Vec<&str> = top
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(commands.contains(&"check") && commands.contains(&"run"), "{top}");
    let every_flag: String = std::iter::once(top.clone())
        .chain(commands.iter().filter_map(|c| help(&[*c])))
        .collect();
    let mut helps: std::collections::HashMap<String, Option<String>> = std::collections::HashMap::new();
    let mut wrong = Vec::new();
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).expect("a document");
        let name = doc.strip_prefix(root()).unwrap_or(&doc).display().to_string();
        for (line, code) in code_of(&text) {
            let flags = |s: &str| -> Vec<String> {
                s.split(|c: char| {
                    c.is_whitespace() || c == '`' || c == '=' || c == ',' || c == '|' || c == '[' || c == ']'
                })
                .filter(|w| w.starts_with("--") && w.len() > 2 && w[2..].starts_with(|c: char| c.is_ascii_lowercase()))
                .map(str::to_string)
                .collect()
            };
            // `batchflow SUB ...`: SUB exists and has every flag that follows it (up to a pipe).
            for (at, _) in code.match_indices("batchflow ") {
                // The command's name, not the end of `x.batchflow`.
                if code[..at].ends_with(|c: char| !c.is_whitespace() && c != '(') {
                    continue;
                }
                let rest = &code[at + "batchflow ".len()..];
                let rest = rest.split(['|', ';', '#']).next().unwrap_or("");
                let sub: String = rest.chars().take_while(|c| c.is_ascii_lowercase()).collect();
                if sub.is_empty() {
                    continue;
                }
                let Some(sub_help) = helps.entry(sub.clone()).or_insert_with(|| help(&[&sub])).clone() else {
                    wrong.push(format!("{name}:{line}: `batchflow {sub}` is no command: {code}"));
                    continue;
                };
                for flag in flags(rest) {
                    if !sub_help.contains(&flag) {
                        wrong.push(format!(
                            "{name}:{line}: `batchflow {sub} --help` has no `{flag}`: {code}"
                        ));
                    }
                }
            }
            // A flag on its own is one of batchflow's (or of `docker run`, in run_options).
            if code.starts_with("--") && !code.contains("batchflow ") {
                for flag in flags(&code).into_iter().take(1) {
                    if !every_flag.contains(&flag) && !DOCKER_RUN_OPTIONS.contains(&flag.as_str()) {
                        wrong.push(format!("{name}:{line}: no command has `{flag}`: {code}"));
                    }
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "the docs claim what --help does not have:\n{}",
        wrong.join("\n")
    );
}
