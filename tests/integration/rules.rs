//! Every rule has a folder `tests/fixtures/rules/CODE/` with a workflow where it fires and
//! the same workflow fixed. The human output of each firing fixture is snapshotted.

use crate::fake_arm::FakeAccount;
use crate::support::{root, Bf, Output};
use batchflow::diagnostics::{Code, Severity};
use std::path::Path;

/// `batchflow check` on one fixture, with the folder's `args` and `env` files applied. An
/// online rule's folder has an `account.json` (and may have `passes.account.json` for the fixed
/// workflow): a fake Batch account (the Batch service, Azure Resource Manager and the prices)
/// configured from it answers the check.
fn check(dir: &Path, which: &str, json: bool) -> Output {
    let account = [format!("{which}.account.json"), "account.json".to_string()]
        .iter()
        .find_map(|name| std::fs::read_to_string(dir.join(name)).ok())
        .map(|text| serde_json::from_str::<serde_json::Value>(&text).expect("account.json is JSON"))
        .map(|overrides| FakeAccount::start(&overrides));
    let file = dir.join(format!("{which}.batchflow"));
    let rel = file.strip_prefix(root()).unwrap_or(&file).to_path_buf();
    let mut bf = Bf::new().args(["check"]).args([rel]);
    if json {
        bf = bf.args(["--format", "json"]);
    }
    if let Ok(args) = std::fs::read_to_string(dir.join("args")) {
        bf = bf.args(args.lines().map(str::trim).filter(|l| !l.is_empty()));
    }
    if let Ok(env) = std::fs::read_to_string(dir.join("env")) {
        for (k, v) in env.lines().filter_map(|l| l.split_once('=')) {
            bf = bf.env(k.trim(), v.trim());
        }
    }
    for (k, v) in account.iter().flat_map(FakeAccount::env) {
        bf = bf.env(k, &v);
    }
    bf.run()
}

#[test]
fn every_rule_fires_on_its_fixture_and_not_on_the_fixed_one() {
    let mut failures = Vec::new();
    for code in Code::ALL {
        let dir = root().join("tests/fixtures/rules").join(code.as_str());
        let fires = check(&dir, "fires", true);
        if !fires.codes().iter().any(|c| c == code.as_str()) {
            failures.push(format!(
                "{code}: does not fire on fires.batchflow; got {:?}",
                fires.codes()
            ));
        }
        if code.default_severity() == Severity::Error && fires.code != 1 {
            failures.push(format!("{code}: exit {} on fires.batchflow, expected 1", fires.code));
        }
        for d in fires.diagnostics() {
            if d["help"].as_str().is_none_or(str::is_empty) {
                failures.push(format!("{code}: a diagnostic without help: {d}"));
            }
        }
        let passes = check(&dir, "passes", true);
        if passes.codes().iter().any(|c| c == code.as_str()) {
            failures.push(format!("{code}: fires on passes.batchflow"));
        }
        let errors: Vec<_> = passes
            .diagnostics()
            .into_iter()
            .filter(|d| d["severity"] == "error")
            .collect();
        if !errors.is_empty() || passes.code != 0 {
            failures.push(format!(
                "{code}: passes.batchflow has errors (exit {}): {errors:?}",
                passes.code
            ));
        }
        let shown = check(&dir, "fires", false);
        insta::with_settings!({ snapshot_suffix => code.as_str(), prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!("rule_fires", format!("exit: {}\n{}", shown.code, shown.stderr));
        });
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_fixture_folder_is_a_rule() {
    for entry in std::fs::read_dir(root().join("tests/fixtures/rules")).expect("fixtures") {
        let name = entry.expect("entry").file_name().to_string_lossy().into_owned();
        assert!(Code::parse(&name).is_some(), "fixture folder {name} names no rule");
    }
}

#[test]
fn explain_prints_every_rule_page_with_its_examples() {
    for code in Code::ALL {
        let out = Bf::new().args(["explain", code.as_str()]).run();
        assert_eq!(out.code, 0, "{code}");
        assert!(
            out.stdout.starts_with(&format!("# {} {}", code.as_str(), code.name())),
            "{code}"
        );
        for heading in [
            "## What it does",
            "## Why it matters",
            "## How to fix",
            "## Example that fires",
            "## Example that passes",
        ] {
            assert!(out.stdout.contains(heading), "{code} lacks {heading}");
        }
    }
}
