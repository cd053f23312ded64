//! The run driver against an in-memory backend that fails tasks on purpose: the run folder,
//! the hook policy (retry limit, continue, abort), `on_complete` once, interrupts, resuming
//! and the final record, with no process and no network.

use super::backend::{Backend, Outcome, Results, Run};
use super::driver::{Driver, Finished, Start};
use super::error::RunError;
use super::policy::{Decision, HOOK_RETRIES};
use super::runs::{self, HOOKS_COPY, WORKFLOW_COPY};
use super::state::{RunState, RunStatus};
use super::{Counts, Observer, TaskState};
use crate::compile::{compile_text, CompileOptions, HookSource, Surroundings};
use crate::exit;
use crate::hooks::Hooks;
use crate::plan::{self, Plan, PlanOptions};
use crate::source::SourceMap;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

const WORKFLOW: &str = r#"workflow "mem"
pool cpu {
  vm_size    = "Standard_D2s_v5"
  image      = marketplace("Canonical", "ubuntu-24_04-lts", "server")
  node_agent = "batch.node.ubuntu 24.04"
  dedicated  = 1
}
job j on cpu {
  task a { command = "/bin/true" }
  task b { command = "/bin/true" }
  task c { command = "/bin/true" }
}
"#;

/// Fails each named task for its first N attempts; records what it ran.
#[derive(Default)]
struct Memory {
    failures: HashMap<String, u32>,
    /// A task whose failure is reported as an interrupt (the run stops there).
    interrupt_at: Option<String>,
    /// Fail `execute` itself, as a backend that cannot reach its target.
    broken: bool,
    attempts: HashMap<String, u32>,
    executed: Vec<String>,
}

impl Backend for Memory {
    fn target(&self) -> String {
        "memory".into()
    }

    fn execute(&mut self, run: &mut Run<'_, '_>) -> Result<Outcome, RunError> {
        if self.broken {
            return Err(RunError::Launch("the target is gone".into()));
        }
        for i in 0..run.record.tasks.len() {
            if run.record.tasks[i].state == TaskState::Succeeded {
                continue;
            }
            let id = run.record.tasks[i].task.clone();
            if self.interrupt_at.as_deref() == Some(id.as_str()) {
                run.interrupt.store(true, std::sync::atomic::Ordering::SeqCst);
                return Ok(Outcome::Interrupted);
            }
            loop {
                self.executed.push(id.clone());
                let n = self.attempts.entry(id.clone()).or_insert(0);
                *n += 1;
                let rec = &mut run.record.tasks[i];
                rec.attempts = *n;
                if *n > self.failures.get(&id).copied().unwrap_or(0) {
                    rec.state = TaskState::Succeeded;
                    rec.exit_code = Some(0);
                    break;
                }
                rec.exit_code = Some(1);
                let mut report = rec.report();
                report.state = TaskState::Failed;
                match run.policy.task_failed(&report, Default::default()).decision {
                    Decision::Retry => continue,
                    Decision::Abort => {
                        rec.state = TaskState::Failed;
                        return Ok(Outcome::Aborted(RunError::Aborted(format!("`{id}` said abort"))));
                    }
                    Decision::Fail | Decision::Continue => {
                        rec.state = TaskState::Failed;
                        break;
                    }
                }
            }
            run.observer.progress(&Counts::default());
        }
        Ok(Outcome::Finished)
    }

    fn finish(&mut self, run: &mut Run<'_, '_>, _outcome: &Outcome) -> Result<Results, RunError> {
        Ok(Results {
            reports: run.record.tasks.iter().map(|t| t.report()).collect(),
            problems: Vec::new(),
            usage: Vec::new(),
        })
    }
}

#[derive(Default)]
struct Quiet;

impl Observer for Quiet {
    fn progress(&mut self, _counts: &Counts) {}
    fn note(&mut self, _line: &str) {}
}

/// The workflow compiled (with `script` as its hook script) and planned.
fn planned(script: Option<&str>) -> (Plan, Option<Hooks>) {
    let mut sources = SourceMap::new();
    let hooks = |_: &crate::ast::File| match script {
        Some(s) => HookSource::Beside(PathBuf::from("mem.rhai"), s.to_string()),
        None => HookSource::None,
    };
    let compiled = compile_text(
        "mem.batchflow",
        "mem",
        WORKFLOW.to_string(),
        hooks,
        |_| Surroundings::default(),
        &mut sources,
        &CompileOptions::default(),
    );
    assert!(!compiled.has_errors(), "{:?}", compiled.diagnostics);
    let wf = compiled.workflow.as_ref().expect("workflow");
    let plan = plan::plan(wf, compiled.hooks.as_ref(), &PlanOptions::default()).expect("plan");
    (plan, compiled.hooks)
}

fn fresh<'a>(root: &'a Path, script: Option<&'a str>) -> Start<'a> {
    Start::Fresh {
        root,
        file: Path::new("mem.batchflow"),
        text: WORKFLOW,
        hooks: script,
        params: &[],
        rerun: None,
        cache: true,
    }
}

fn drive(plan: &Plan, start: Start<'_>, backend: &mut Memory, hooks: Option<&Hooks>) -> Result<Finished, RunError> {
    let driver = Driver::start(plan, start, backend, HashMap::new())?;
    driver.run(backend, hooks, &mut Quiet, Arc::new(AtomicBool::new(false)))
}

fn state_of(f: &Finished) -> RunState {
    let (_, st) = runs::open(f.run_path.parent().expect("root"), &f.run_id).expect("run folder");
    st
}

#[test]
fn a_clean_run_writes_its_folder_and_calls_on_complete_once() {
    let root = tempfile::tempdir().expect("tempdir");
    let script = "fn on_complete(s) { print(`done: ${s.succeeded}`); }";
    let (plan, hooks) = planned(Some(script));
    let mut mem = Memory::default();
    let f = drive(&plan, fresh(root.path(), Some(script)), &mut mem, hooks.as_ref()).expect("runs");
    assert_eq!((f.status.clone(), f.exit_code()), (RunStatus::Succeeded, exit::OK));
    for file in ["state.json", "plan.json", WORKFLOW_COPY, HOOKS_COPY] {
        assert!(f.run_path.join(file).is_file(), "{file}");
    }
    assert_eq!(
        std::fs::read_to_string(f.run_path.join(WORKFLOW_COPY)).expect("copy"),
        WORKFLOW
    );
    assert_eq!(mem.executed, ["a", "b", "c"]);
    assert_eq!(hooks.expect("hooks").take_log(), ["done: 3"]);
    assert_eq!(state_of(&f).status, RunStatus::Succeeded);
}

#[test]
fn on_task_failed_retries_at_most_the_limit_then_the_task_fails() {
    let root = tempfile::tempdir().expect("tempdir");
    let script = r#"
        fn on_task_failed(t, r) { "retry" }
        fn on_complete(s) { print(`failed: ${s.failed}`); }
    "#;
    let (plan, hooks) = planned(Some(script));
    let mut mem = Memory {
        failures: HashMap::from([("b".to_string(), u32::MAX)]),
        ..Memory::default()
    };
    let f = drive(&plan, fresh(root.path(), Some(script)), &mut mem, hooks.as_ref()).expect("runs");
    let b_runs = mem.executed.iter().filter(|t| *t == "b").count();
    assert_eq!(b_runs, 1 + HOOK_RETRIES as usize, "{:?}", mem.executed);
    assert_eq!(
        (f.status.clone(), f.exit_code()),
        (RunStatus::Failed, exit::FOUND_ERRORS)
    );
    let b = f.reports.iter().find(|r| r.task == "b").expect("b");
    assert_eq!(b.state, TaskState::Failed);
    // The other tasks went on, and on_complete ran once, at the end.
    assert!(f
        .reports
        .iter()
        .filter(|r| r.task != "b")
        .all(|r| r.state == TaskState::Succeeded));
    assert_eq!(hooks.expect("hooks").take_log(), ["failed: 1"]);
    let st = state_of(&f);
    assert_eq!(st.status, RunStatus::Failed);
    assert_eq!(st.tasks.iter().find(|t| t.task == "b").map(|t| t.attempts), Some(11));
}

#[test]
fn a_retry_that_succeeds_leaves_the_run_green() {
    let root = tempfile::tempdir().expect("tempdir");
    let script = r#"fn on_task_failed(t, r) { if t.attempts < 3 { "retry" } }"#;
    let (plan, hooks) = planned(Some(script));
    let mut mem = Memory {
        failures: HashMap::from([("a".to_string(), 2)]),
        ..Memory::default()
    };
    let f = drive(&plan, fresh(root.path(), Some(script)), &mut mem, hooks.as_ref()).expect("runs");
    assert_eq!(f.exit_code(), exit::OK, "{:?}", f.reports);
    assert_eq!(mem.attempts.get("a"), Some(&3));
}

#[test]
fn abort_stops_the_run_and_says_why() {
    let root = tempfile::tempdir().expect("tempdir");
    let script = r#"fn on_task_failed(t, r) { "abort" }"#;
    let (plan, hooks) = planned(Some(script));
    let mut mem = Memory {
        failures: HashMap::from([("a".to_string(), 1)]),
        ..Memory::default()
    };
    let f = drive(&plan, fresh(root.path(), Some(script)), &mut mem, hooks.as_ref()).expect("runs");
    assert_eq!(mem.executed, ["a"]);
    assert!(
        matches!(&f.aborted, Some(RunError::Aborted(why)) if why.contains("`a`")),
        "{:?}",
        f.aborted
    );
    assert_eq!(
        (f.status.clone(), f.exit_code()),
        (RunStatus::Failed, exit::FOUND_ERRORS)
    );
}

#[test]
fn an_interrupted_run_resumes_without_repeating_what_succeeded() {
    let root = tempfile::tempdir().expect("tempdir");
    let script = "fn on_complete(s) { print(`complete`); }";
    let (plan, hooks) = planned(Some(script));
    let mut mem = Memory {
        interrupt_at: Some("c".into()),
        ..Memory::default()
    };
    let f = drive(&plan, fresh(root.path(), Some(script)), &mut mem, hooks.as_ref()).expect("runs");
    assert_eq!(
        (f.status.clone(), f.exit_code()),
        (RunStatus::Interrupted, exit::INTERRUPTED)
    );
    assert!(
        hooks.as_ref().expect("hooks").take_log().is_empty(),
        "no on_complete on an interrupt"
    );
    assert_eq!(state_of(&f).status, RunStatus::Interrupted);

    let stopped = runs::open_stopped(root.path(), &f.run_id, None).expect("stopped");
    assert_eq!(stopped.text.as_deref(), Some(WORKFLOW));
    assert_eq!(stopped.hooks.as_deref(), Some(script));
    let mut again = Memory::default();
    let start = Start::Resume {
        run_dir: stopped.run_dir,
        state: stopped.state,
    };
    let f2 = drive(&stopped.plan, start, &mut again, hooks.as_ref()).expect("resumes");
    assert_eq!(again.executed, ["c"]);
    assert_eq!((f2.run_id.as_str(), f2.exit_code()), (f.run_id.as_str(), exit::OK));
    assert_eq!(hooks.expect("hooks").take_log(), ["complete"]);
}

#[test]
fn a_backend_that_fails_leaves_the_record_failed() {
    let root = tempfile::tempdir().expect("tempdir");
    let (plan, _) = planned(None);
    let mut mem = Memory {
        broken: true,
        ..Memory::default()
    };
    let driver = Driver::start(&plan, fresh(root.path(), None), &mem, HashMap::new()).expect("starts");
    let path = driver.path().to_path_buf();
    let err = driver
        .run(&mut mem, None, &mut Quiet, Arc::new(AtomicBool::new(false)))
        .expect_err("fails");
    assert_eq!(err.exit_code(), exit::FOUND_ERRORS);
    let (_, st) = runs::open(root.path(), &path.file_name().expect("id").to_string_lossy()).expect("open");
    assert_eq!(st.status, RunStatus::Failed);
    assert!(!path.join(HOOKS_COPY).exists(), "no hook script, no copy");
}
