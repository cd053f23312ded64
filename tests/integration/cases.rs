//! Cases beyond each rule's two fixtures: `tests/fixtures/cases/*.batchflow`, each a workflow
//! with header comments that say what `check` must report:
//!
//! ```text
//! # case: a multi-instance task on a pool with task_slots > 1 is never scheduled
//! # source: the sentence of Batch's documentation the case rests on
//! # expect: BF212 error
//! # args: --deny-warnings
//! # env: BATCHFLOW_TODAY=2027-01-15
//! ```
//!
//! `# expect:` lines list every code `check` must report (with its severity, when given), and
//! no other: a case is also a test against false alarms. `# expect: nothing` = a clean check.
//! `# help:` lines are hints: each must be part of the help of a diagnostic reported.
//! `# env:` lines set environment variables, e.g. another day for the retirement rules.
//! `# account:` lines (JSON, joined) make a fake Batch account answer the check, configured as
//! a rule fixture's `account.json` (for the online rules, with `# args: --online`).

use crate::fake_arm::FakeAccount;
use crate::support::{root, Test};
use std::collections::BTreeSet;
use std::path::PathBuf;

pub(crate) struct Case {
    pub(crate) file: PathBuf,
    /// (code, severity if the case names one)
    expect: BTreeSet<(String, Option<String>)>,
    pub(crate) args: Vec<String>,
    pub(crate) env: Vec<(String, String)>,
    /// The fake account's overrides, when the case has `# account:` lines.
    account: Option<serde_json::Value>,
}

fn header(text: &str, key: &str) -> Vec<String> {
    text.lines()
        .take_while(|l| l.starts_with('#') || l.trim().is_empty())
        .filter_map(|l| l.strip_prefix('#')?.trim().strip_prefix(key)?.strip_prefix(':'))
        .map(|v| v.trim().to_string())
        .collect()
}

/// Every case of `tests/fixtures/cases/`, by file name.
pub(crate) fn cases() -> Vec<Case> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("tests/fixtures/cases"))
        .expect("tests/fixtures/cases")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "batchflow"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|file| {
            let text = std::fs::read_to_string(&file).expect("case file");
            let mut expect = BTreeSet::new();
            for line in header(&text, "expect") {
                if line == "nothing" {
                    continue;
                }
                let mut words = line.split_whitespace();
                let code = words.next().unwrap_or_default().to_string();
                expect.insert((code, words.next().map(str::to_string)));
            }
            let args = header(&text, "args")
                .iter()
                .flat_map(|a| a.split_whitespace().map(str::to_string).collect::<Vec<_>>())
                .collect();
            let env = header(&text, "env")
                .iter()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .collect();
            let account_lines = header(&text, "account");
            let account = (!account_lines.is_empty()).then(|| {
                serde_json::from_str(&account_lines.join(" "))
                    .unwrap_or_else(|e| panic!("{}: `# account:` is not JSON: {e}", file.display()))
            });
            Case {
                file,
                expect,
                args,
                env,
                account,
            }
        })
        .collect()
}

impl Case {
    /// The file relative to the crate root, as the diagnostics name it.
    pub(crate) fn rel(&self) -> PathBuf {
        self.file.strip_prefix(root()).unwrap_or(&self.file).to_path_buf()
    }

    /// `batchflow check --format json` on the case, with its `# args:` and `# env:`.
    pub(crate) fn check(&self) -> Test {
        let test = Test::project()
            .args(["check", "--format", "json"])
            .args([self.rel()])
            .args(&self.args);
        let mut test = self.env.iter().fold(test, |test, (k, v)| test.env(k, v));
        if let Some(overrides) = &self.account {
            let account = FakeAccount::start(overrides);
            for (k, v) in account.env() {
                test = test.env(k, v);
            }
            test = test.keep(account);
        }
        test
    }
}

#[test]
fn every_case_reports_exactly_what_it_expects() {
    let cases = cases();
    let mut failures = Vec::new();
    for case in &cases {
        let rel = case.rel();
        let text = std::fs::read_to_string(&case.file).expect("case file");
        if header(&text, "expect").is_empty() || header(&text, "case").is_empty() {
            failures.push(format!("{}: needs `# case:` and `# expect:` lines", rel.display()));
            continue;
        }
        let out = case.check().run();
        let got: BTreeSet<(String, String)> = out
            .diagnostics()
            .iter()
            .map(|d| {
                (
                    d["code"].as_str().unwrap_or_default().to_string(),
                    d["severity"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        let got_codes: BTreeSet<&str> = got.iter().map(|(c, _)| c.as_str()).collect();
        let want_codes: BTreeSet<&str> = case.expect.iter().map(|(c, _)| c.as_str()).collect();
        if got_codes != want_codes {
            failures.push(format!(
                "{}: expected {want_codes:?}, got {got:?}\n{}",
                rel.display(),
                out.stderr
            ));
            continue;
        }
        for hint in header(&text, "help") {
            let helped = out
                .diagnostics()
                .iter()
                .any(|d| d["help"].as_str().is_some_and(|h| h.contains(&hint)));
            if !helped {
                failures.push(format!("{}: no help says {hint:?}\n{}", rel.display(), out.stdout));
            }
        }
        for (code, severity) in &case.expect {
            if let Some(sev) = severity {
                if !got.contains(&(code.clone(), sev.clone())) {
                    failures.push(format!("{}: {code} is not reported as {sev}: {got:?}", rel.display()));
                }
            }
        }
    }
    assert!(!cases.is_empty(), "no cases found");
    assert!(
        failures.is_empty(),
        "{} of {} cases:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// A task body of 1 MB or more is refused by Batch (RequestBodyTooLarge): `check` says so,
/// not only `plan`. Generated rather than stored: the fixture would be a megabyte.
#[test]
fn a_task_body_over_one_megabyte_fails_check() {
    let big = "x".repeat(1_100_000);
    let near = "x".repeat(900_000);
    for (name, arg, fires) in [("big", &big, true), ("near", &near, false)] {
        let file = format!("{name}.batchflow");
        let text = format!(
            "workflow \"{name}\"\npool cpu {{\n  vm_size    = \"Standard_D4s_v5\"\n  image      = marketplace(\"Canonical\", \"ubuntu-24_04-lts\", \"server\")\n  node_agent = \"batch.node.ubuntu 24.04\"\n  dedicated  = 1\n}}\njob j on cpu {{\n  task t {{\n    command = \"python3 work.py {arg}\"\n  }}\n}}\n"
        );
        let out = Test::new()
            .write(&file, text)
            .args(["check", "--format", "json", &file])
            .status(i32::from(fires));
        let codes = out.codes();
        assert_eq!(
            codes.contains(&"BF119".to_string()),
            fires,
            "{name}: {codes:?}\n{}",
            out.stderr
        );
    }
}
