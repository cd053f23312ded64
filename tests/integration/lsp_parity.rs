//! `batchflow lsp` reports what `batchflow check` reports: on every rule fixture and every case
//! that runs with the default arguments and environment, the same codes at the same places.

use crate::lsp_client::{file_uri, Client};
use crate::support::{root, Test};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;

/// The workflows to compare, relative to the repository: a fixture folder with `args`, `env`
/// or an `account.json`, or a case with `# args:`, `# env:` or `# account:`, checks under other
/// settings than the server's and is left out.
fn workflows() -> Vec<String> {
    let mut out = Vec::new();
    let rules = root().join("tests/fixtures/rules");
    for dir in std::fs::read_dir(&rules).expect("rule fixtures").flatten() {
        let dir = dir.path();
        if ["args", "env", "account.json"].iter().any(|f| dir.join(f).exists()) {
            continue;
        }
        for which in ["fires", "passes"] {
            out.push(relative(&dir.join(format!("{which}.batchflow"))));
        }
    }
    let cases = root().join("tests/fixtures/cases");
    for file in std::fs::read_dir(&cases).expect("cases").flatten() {
        let path = file.path();
        let text = std::fs::read_to_string(&path).expect("a case");
        let special = ["# args:", "# env:", "# account:"];
        if path.extension().is_some_and(|e| e == "batchflow")
            && !text.lines().any(|l| special.iter().any(|s| l.starts_with(s)))
        {
            out.push(relative(&path));
        }
    }
    out.sort();
    out
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root())
        .expect("inside the repository")
        .to_string_lossy()
        .into_owned()
}

/// A diagnostic's code, and its 1-based line and column when it is in the workflow.
type Report = (String, Option<(u64, u64)>);

#[test]
fn diagnostics_are_what_check_reports_on_every_fixture_and_case() {
    let files = workflows();
    assert!(files.len() > 200, "{} workflows", files.len());
    let out = Test::project().args(["check", "--format", "json"]).args(&files).run();
    let mut want: BTreeMap<String, Vec<Report>> = files.iter().map(|f| (f.clone(), Vec::new())).collect();
    // Reports in a hook script: the server shows them at the workflow's `rhai(...)` call, so
    // they are compared by code, over all the workflows.
    let mut elsewhere_in_check: Vec<String> = Vec::new();
    for d in out.diagnostics() {
        let file = d["file"].as_str().unwrap_or("");
        let code = d["code"].as_str().unwrap_or("").to_string();
        match want.get_mut(file) {
            Some(list) => {
                let place = (d["line"].as_u64().unwrap_or(0), d["column"].as_u64().unwrap_or(0));
                list.push((code, Some(place)));
            }
            None => elsewhere_in_check.push(code),
        }
    }
    let mut c = Client::start();
    let mut mismatches = Vec::new();
    let mut elsewhere_in_lsp: Vec<String> = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(root().join(file)).expect("a workflow");
        let uri = file_uri(&root().join(file));
        c.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "batchflow", "version": 1, "text": text } }),
        );
        let mut expected = want.remove(file).unwrap_or_default();
        let mut have: Vec<Report> = Vec::new();
        for d in c.diagnostics(&uri) {
            let code = d["code"].as_str().unwrap_or("").to_string();
            let start = &d["range"]["start"];
            let place = (
                start["line"].as_u64().unwrap_or(0) + 1,
                start["character"].as_u64().unwrap_or(0) + 1,
            );
            if expected.contains(&(code.clone(), Some(place))) {
                have.push((code, Some(place)));
            } else {
                elsewhere_in_lsp.push(code.clone());
                have.push((code, None));
            }
        }
        expected.sort();
        let mut placed: Vec<Report> = have.iter().filter(|(_, p)| p.is_some()).cloned().collect();
        placed.sort();
        if placed != expected {
            mismatches.push(format!("{file}:\n  check: {expected:?}\n  lsp:   {have:?}"));
        }
        c.notify("textDocument/didClose", json!({ "textDocument": { "uri": uri } }));
    }
    c.stop();
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
    elsewhere_in_check.sort();
    elsewhere_in_lsp.sort();
    assert_eq!(elsewhere_in_lsp, elsewhere_in_check, "reports outside the workflows");
}
