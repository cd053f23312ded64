//! Which run `batchflow run FILE --resume` continues: the newest stopped run of FILE's own
//! workflow, never the newest run of the repository; `--param` is refused (a resumed run keeps
//! its parameters) and a workflow file changed since the run is pointed out.

use crate::local_repo::*;

/// A workflow whose task fails until `marks/go` exists.
const FAILS_UNTIL_GO: &str = r#"pool cpu {
@LINUX@
  dedicated = 1
}
job j on cpu {
  task gate { command = "/bin/sh -c 'echo run >> @DIR@/marks/gate; test -f @DIR@/marks/go'" }
}
"#;

/// A workflow that succeeds.
const SUCCEEDS: &str = r#"param word: string = "hi"
pool cpu {
@LINUX@
  dedicated = 1
}
job j on cpu {
  task say { command = "/bin/sh -c 'echo ${word} >> @DIR@/marks/say'" }
}
"#;

fn run_id(out: &Output) -> String {
    out.stderr
        .lines()
        .find_map(|l| l.strip_prefix("run `"))
        .and_then(|l| l.split('`').next())
        .unwrap_or_else(|| panic!("no run id in:\n{}", show(out)))
        .to_string()
}

/// `a` fails, then `b` succeeds: the repository's newest run is `b`'s.
fn a_failed_then_b_succeeded() -> (Repo, String) {
    let repo = local_repo();
    repo.workflow("a.batchflow", FAILS_UNTIL_GO);
    repo.workflow("b.batchflow", SUCCEEDS);
    let a = run_id(&repo.run(&["a.batchflow"]).failure());
    repo.run(&["b.batchflow", "--quiet"]).success();
    (repo, a)
}

#[test]
fn run_file_resume_continues_that_files_run_not_the_newest_run() {
    let (repo, a) = a_failed_then_b_succeeded();
    // Still failing: the resumed run of `a` fails again, and says so.
    repo.run(&["a.batchflow", "--resume", "--quiet"])
        .stderr_contains(format!("resuming run `{a}` of `a`"))
        .failure();
    assert_eq!(repo.count("marks/gate"), 2);
    assert_eq!(repo.count("marks/say"), 1, "b ran again");
    repo.write("marks/go", "");
    repo.run(&["a.batchflow", "--resume", "--quiet"])
        .stderr_contains(format!("resuming run `{a}`"))
        .success();
    assert_eq!(repo.run_dirs().len(), 2, "resuming made no new run");
}

#[test]
fn run_file_resume_finds_the_file_from_another_folder() {
    let (repo, a) = a_failed_then_b_succeeded();
    repo.mkdir("sub");
    repo.run(&["../a.batchflow", "--resume", "--quiet"])
        .current_dir("sub")
        .stderr_contains(format!("resuming run `{a}`"))
        .failure();
}

#[test]
fn run_file_resume_run_refuses_a_run_of_another_workflow() {
    let (repo, _) = a_failed_then_b_succeeded();
    let b = repo
        .run_dirs()
        .into_iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .find(|n| n.starts_with("b-"))
        .expect("b's run");
    repo.run(&["a.batchflow", "--resume", &b])
        .stderr_contains(format!("run `{b}` is a run of `b.batchflow`, not of `a.batchflow`"))
        .status(2);
}

#[test]
fn run_file_resume_without_a_run_of_it_says_so() {
    let repo = local_repo();
    repo.workflow("a.batchflow", FAILS_UNTIL_GO);
    repo.workflow("b.batchflow", SUCCEEDS);
    repo.run(&["b.batchflow", "--quiet"]).success();
    repo.run(&["a.batchflow", "--resume"])
        .stderr_contains("no stopped run of `a.batchflow` to resume")
        .status(2);
}

#[test]
fn resume_refuses_params() {
    let (repo, _) = a_failed_then_b_succeeded();
    let refused = "a resumed run keeps its parameters; start a new run to change them";
    repo.run(&["a.batchflow", "--resume", "--param", "word=x"])
        .stderr_contains(refused)
        .status(2);
    // Even a name the workflow does not declare, and without a file.
    repo.run(&["--resume", "--param", "nosuch=1"])
        .stderr_contains(refused)
        .status(2);
    assert_eq!(repo.count("marks/gate"), 1);
    assert_eq!(repo.count("marks/say"), 1);
}

#[test]
fn resume_warns_when_the_workflow_file_changed_since_the_run() {
    let (repo, a) = a_failed_then_b_succeeded();
    let warning = format!("warning: `a.batchflow` changed since run `{a}` started");
    let unchanged = repo.run(&["a.batchflow", "--resume", "--quiet"]).failure();
    assert!(!unchanged.stderr.contains("changed since"), "{}", show(&unchanged));
    repo.workflow("a.batchflow", &format!("# edited\n{FAILS_UNTIL_GO}"));
    repo.run(&["a.batchflow", "--resume", "--quiet"])
        .stderr_contains(&warning)
        .failure();
    // Without FILE, the run's own file is compared.
    repo.run(&["--resume", &a, "--quiet"])
        .stderr_contains(&warning)
        .failure();
}

#[test]
fn resume_before_the_file_takes_it_as_the_file() {
    let (repo, a) = a_failed_then_b_succeeded();
    // `--resume` takes an optional RUN: the workflow's path after it is still the workflow.
    repo.run(&["--resume", "a.batchflow", "--quiet"])
        .stderr_contains(format!("resuming run `{a}` of `a`"))
        .failure();
}
