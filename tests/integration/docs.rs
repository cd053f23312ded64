//! The documentation an installed binary's user has: `batchflow explain TOPIC` prints the
//! guides, messages point at `batchflow explain` (never at a path of a checkout), and what the
//! docs claim about commands and flags is what `--help` says.

use crate::support::{root, Test};

#[test]
fn explain_prints_the_guides_the_binary_carries() {
    for (topic, file) in [
        ("language", "docs/language.md"),
        ("run", "docs/run.md"),
        ("azure", "docs/azure.md"),
        ("cli", "docs/cli.md"),
        ("plan", "docs/plan.md"),
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
