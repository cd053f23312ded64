//! Every rule has a folder `tests/fixtures/rules/CODE/` with a workflow where it fires and
//! the same workflow fixed. The human output of each firing fixture is snapshotted. The tests
//! are generated from the rule table (`batchflow::for_each_rule!`), five per rule
//! (`rules::BF101::fires`, `::passes`, `::snapshot`, `::explain` and `::messages`, the last
//! in `rule_messages.rs`), so one rule's failure never hides another's.

use crate::fake_arm::FakeAccount;
use crate::support::{root, Output, Test};
use batchflow::diagnostics::{Code, Severity};
use std::path::{Path, PathBuf};

/// A rule's fixture folder.
pub(crate) fn fixture_dir(code: Code) -> PathBuf {
    root().join("tests/fixtures/rules").join(code.as_str())
}

/// `batchflow check` on one fixture (`fires` or `passes`), with the folder's `args` and `env`
/// files applied, to end as the caller expects. An online rule's folder has an `account.json`
/// (and may have `passes.account.json` for the fixed workflow): a fake Batch account (the Batch
/// service, Azure Resource Manager and the prices) configured from it answers the check.
pub(crate) fn check(dir: &Path, which: &str, json: bool) -> Test {
    let account = [format!("{which}.account.json"), "account.json".to_string()]
        .iter()
        .find_map(|name| std::fs::read_to_string(dir.join(name)).ok())
        .map(|text| serde_json::from_str::<serde_json::Value>(&text).expect("account.json is JSON"))
        .map(|overrides| FakeAccount::start(&overrides));
    let file = dir.join(format!("{which}.batchflow"));
    let rel = file.strip_prefix(root()).unwrap_or(&file).to_path_buf();
    let mut test = Test::project().args(["check"]).args([rel]);
    if json {
        test = test.args(["--format", "json"]);
    }
    if let Ok(args) = std::fs::read_to_string(dir.join("args")) {
        test = test.args(args.lines().map(str::trim).filter(|l| !l.is_empty()));
    }
    if let Ok(env) = std::fs::read_to_string(dir.join("env")) {
        for (k, v) in env.lines().filter_map(|l| l.split_once('=')) {
            test = test.env(k.trim(), v.trim());
        }
    }
    if let Some(account) = account {
        for (k, v) in account.env() {
            test = test.env(k, v);
        }
        test = test.keep(account);
    }
    test
}

/// The rule fires on `fires.batchflow` (an error rule exits 1), and every diagnostic there
/// says how to fix it.
fn fires(code: Code) {
    let test = check(&fixture_dir(code), "fires", true);
    let fires: Output = match code.default_severity() {
        Severity::Error => test.failure(),
        _ => test.run(),
    };
    assert!(
        fires.codes().iter().any(|c| c == code.as_str()),
        "{code}: does not fire on fires.batchflow; got {:?}",
        fires.codes()
    );
    for d in fires.diagnostics() {
        assert!(
            d["help"].as_str().is_some_and(|h| !h.is_empty()),
            "{code}: a diagnostic without help: {d}"
        );
    }
}

/// The rule does not fire on `passes.batchflow`, which checks with no error at all.
fn passes(code: Code) {
    let passes = check(&fixture_dir(code), "passes", true).success();
    assert!(
        !passes.codes().iter().any(|c| c == code.as_str()),
        "{code}: fires on passes.batchflow"
    );
    let errors: Vec<_> = passes
        .diagnostics()
        .into_iter()
        .filter(|d| d["severity"] == "error")
        .collect();
    assert!(errors.is_empty(), "{code}: passes.batchflow has errors: {errors:?}");
}

/// The human output of `fires.batchflow`, as `snapshots/rule_fires@CODE.snap`.
fn snapshot(code: Code) {
    let shown = check(&fixture_dir(code), "fires", false).run();
    insta::with_settings!({ snapshot_suffix => code.as_str(), prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("rule_fires", format!("exit: {}\n{}", shown.code, shown.stderr));
    });
}

/// `batchflow explain CODE` prints the rule's page with both fixtures.
fn explain(code: Code) {
    let out = Test::project().args(["explain", code.as_str()]).success();
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

macro_rules! rule_tests {
    ($($code:ident),*) => {
        $(
            #[allow(non_snake_case)]
            mod $code {
                use batchflow::diagnostics::Code;

                #[test]
                fn fires() {
                    super::fires(Code::$code);
                }

                #[test]
                fn passes() {
                    super::passes(Code::$code);
                }

                #[test]
                fn snapshot() {
                    super::snapshot(Code::$code);
                }

                #[test]
                fn explain() {
                    super::explain(Code::$code);
                }

                #[test]
                fn messages() {
                    crate::rule_messages::check_messages(Code::$code);
                }
            }
        )*
    };
}

batchflow::for_each_rule!(rule_tests);

#[test]
fn every_fixture_folder_is_a_rule() {
    for entry in std::fs::read_dir(root().join("tests/fixtures/rules")).expect("fixtures") {
        let name = entry.expect("entry").file_name().to_string_lossy().into_owned();
        assert!(Code::parse(&name).is_some(), "fixture folder {name} names no rule");
    }
}
