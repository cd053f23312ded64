//! `batchflow fmt` never changes what a workflow means: every example, rule fixture, case and
//! fuzz seed is formatted by the binary, then each file it changed is compiled before and
//! after with the same diagnostics (but their positions) and, where it plans, the same plan
//! (but its source offsets); a second `fmt --check` finds nothing left to do.

use crate::support::{root, Test, TODAY};
use batchflow::plan;
use batchflow::source::SourceMap;
use batchflow::stdlib::Date;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The folders whose workflows must keep their meaning, relative to the repository.
const CORPUS: &[&str] = &["examples", "tests/fixtures/rules", "tests/fixtures/cases", "fuzz/seeds"];

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create folder");
    for entry in std::fs::read_dir(from).expect("read folder").flatten() {
        let path = entry.path();
        let target = to.join(entry.file_name());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy file");
        }
    }
}

fn workflows(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read folder").flatten() {
        let path = entry.path();
        if path.is_dir() {
            workflows(&path, out);
        } else if path.extension().is_some_and(|e| e == "batchflow") {
            out.push(path);
        }
    }
}

/// What a workflow means, as far as a test can see: its diagnostics without positions and
/// its plan without source offsets. `dir` is cut from messages that name files.
fn meaning(file: &Path, dir: &Path) -> (Vec<String>, Option<Value>) {
    let options = batchflow::CompileOptions {
        today: Date::parse(TODAY).expect("a date"),
        ..batchflow::CompileOptions::default()
    };
    let mut sources = SourceMap::new();
    let mut compiled = batchflow::compile(file, &mut sources, &options).expect("readable");
    let prefix = dir.display().to_string();
    let diags = compiled
        .diagnostics
        .iter()
        .map(|d| {
            let text = format!("{} {:?} {} / {:?}", d.code.as_str(), d.severity, d.message, d.help);
            text.replace(&prefix, "DIR")
        })
        .collect();
    let plan = match compiled.workflow.take() {
        Some(wf) if !compiled.has_errors() => {
            let options = compiled.plan_options(plan::DEFAULT_API_VERSION.to_string());
            plan::plan(&wf, compiled.hooks.as_ref(), &options)
                .ok()
                .map(|p| without_offsets(serde_json::to_value(&p).expect("plan JSON")))
        }
        _ => None,
    };
    (diags, plan)
}

fn without_offsets(mut plan: Value) -> Value {
    if let Some(steps) = plan["steps"].as_array_mut() {
        for step in steps {
            if let Some(step) = step.as_object_mut() {
                step.remove("origin");
                step.remove("task_origins");
            }
        }
    }
    plan
}

#[test]
fn formatting_keeps_the_meaning_of_every_workflow_in_the_repository() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (before, after) = (tmp.path().join("before"), tmp.path().join("after"));
    for dir in CORPUS {
        copy_dir(&root().join(dir), &before.join(dir));
        copy_dir(&root().join(dir), &after.join(dir));
    }
    // Each copy is a repository of its own: repository paths read the same in both.
    for copy in [&before, &after] {
        std::fs::create_dir_all(copy.join(".git")).expect(".git");
    }
    let out = Test::project().args(["fmt"]).args(CORPUS).current_dir(&after).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    let mut files = Vec::new();
    workflows(&before, &mut files);
    files.sort();
    assert!(files.len() > 200, "{} workflows", files.len());
    let (mut changed, mut planned, mut refused) = (0, 0, Vec::new());
    for file in &files {
        let rel = file.strip_prefix(&before).expect("under before/");
        let formatted = after.join(rel);
        let (old, new) = (
            std::fs::read_to_string(file).expect("read"),
            std::fs::read_to_string(&formatted).expect("read"),
        );
        if batchflow::syntax::parse(batchflow::source::SrcId(0), &old).is_err() {
            assert_eq!(
                old,
                new,
                "{}: a file that does not parse is left as it is",
                rel.display()
            );
            refused.push(rel.display().to_string());
            continue;
        }
        if old == new {
            // Already in the layout: the same text means the same (and some cases take
            // seconds to compile in a debug build).
            continue;
        }
        changed += 1;
        let (m_old, m_new) = (meaning(file, &before), meaning(&formatted, &after));
        assert_eq!(m_old.0, m_new.0, "{}: diagnostics changed\n{new}", rel.display());
        assert_eq!(m_old.1, m_new.1, "{}: plan changed\n{new}", rel.display());
        planned += usize::from(m_old.1.is_some());
    }
    assert!(
        changed > 40 && planned > 20,
        "{changed} files changed, {planned} plans compared"
    );
    // Only the syntax-error fixture and cases do not parse.
    assert!(refused.contains(&"tests/fixtures/rules/BF001/fires.batchflow".to_string()));
    for file in &refused {
        assert!(
            file.contains("BF001") || file.contains("/syntax-"),
            "{file} does not parse"
        );
    }
    assert!(
        out.stderr.contains(&format!("{} files not formatted", refused.len())),
        "{}",
        out.stderr
    );
    let again = Test::project()
        .args(["fmt", "--check"])
        .args(CORPUS)
        .current_dir(&after)
        .run();
    assert_eq!(again.stdout, "", "formatting twice changed these");
}

#[test]
fn every_example_plans_the_same_before_and_after_formatting() {
    // A repository of its own (`.git` marks the root) holding `examples/` as the project
    // does, so the examples' repository paths (`examples/data/...`) resolve the same way.
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(tmp.path().join(".git")).expect("a repository marker");
    copy_dir(&root().join("examples"), &tmp.path().join("examples"));
    let out = Test::project().args(["fmt", "examples"]).current_dir(tmp.path()).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    for file in crate::support::examples() {
        let plan = |dir: &Path| {
            let out = Test::project()
                .args(["plan", "--format", "json", &file])
                .current_dir(dir)
                .run();
            assert_eq!(out.code, 0, "{file}: {}", out.stderr);
            without_offsets(serde_json::from_str(&out.stdout).expect("plan JSON"))
        };
        assert_eq!(plan(&root()), plan(tmp.path()), "{file}");
    }
}
