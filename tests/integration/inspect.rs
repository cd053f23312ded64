//! Looking into runs: `logs` (of a task that never started, of the latest run), `status`
//! (failed tasks with their reasons), `runs --format json`, and the loop values of sweep
//! instances in the summary table.

use crate::local_repo::*;

/// `bad` fails with exit 3; `after_bad` depends on it and never starts; `good` succeeds.
const BLOCKED: &str = r#"workflow "blk"
pool cpu {
@LINUX@
  dedicated = 1
}
job j on cpu {
  task good { command = "/bin/sh -c 'echo good-out'" }
  task bad { command = "/bin/sh -c 'echo bad-out; echo bad-err >&2; exit 3'" }
  task after_bad after bad { command = "/bin/sh -c 'echo never'" }
}
"#;

fn blocked_run() -> (Repo, String) {
    let repo = local_repo();
    repo.workflow("blk.batchflow", BLOCKED);
    repo.run(&["blk.batchflow", "--quiet"]).failure();
    let run = repo.only_run();
    let id = run.file_name().expect("name").to_string_lossy().into_owned();
    (repo, id)
}

#[test]
fn logs_of_a_task_that_never_started_says_why() {
    let (repo, id) = blocked_run();
    let said = format!("`j/after_bad` never started in run `{id}`: it was blocked by `bad`, which failed (exit 3)");
    repo.test()
        .args(["logs", &id, "after_bad"])
        .stdout("")
        .stderr_contains(&said)
        .failure();
    repo.test()
        .args(["logs", "latest", "after_bad", "--stderr"])
        .stderr_contains(&said)
        .failure();
}

#[test]
fn logs_with_only_a_task_reads_the_latest_run() {
    let (repo, id) = blocked_run();
    repo.test().args(["logs", "good"]).stdout("good-out\n").success();
    repo.test()
        .args(["logs", "bad", "--stderr"])
        .stdout("bad-err\n")
        .success();
    repo.test()
        .args(["logs", "after_bad"])
        .stderr_contains(format!("never started in run `{id}`"))
        .failure();
}

/// A sweep: two seeds by two learning rates, and a task after it; one instance fails.
const SWEEP: &str = r#"workflow "sweep"
param lrs: list<float> = [0.1, 0.01]
pool cpu {
@LINUX@
  dedicated = 1
}
job j on cpu {
  task train[s in 0..2, lr in lrs] { command = "/bin/sh -c 'test ${s}${lr} != 10.01 || { echo diverged >&2; exit 4; }'" }
  task report after train { command = "/bin/true" }
}
"#;

fn sweep_run(args: &[&str]) -> (Repo, Output) {
    let repo = local_repo();
    repo.workflow("sweep.batchflow", SWEEP);
    let mut all = vec!["sweep.batchflow", "--quiet"];
    all.extend_from_slice(args);
    let out = repo.run(&all).failure();
    (repo, out)
}

#[test]
fn the_summary_table_shows_what_each_instance_stands_for() {
    let (_, out) = sweep_run(&["--param", "lrs=0.5,0.01"]);
    assert!(
        row(&out, "j/train-0-0").contains(" train[s=0, lr=0.5] "),
        "{}",
        show(&out)
    );
    assert!(
        row(&out, "j/train-1-1").contains(" train[s=1, lr=0.01] "),
        "{}",
        show(&out)
    );
    assert!(out.stdout.starts_with("task "), "{}", show(&out));
    assert!(
        out.stdout.lines().next().unwrap_or("").contains(" instance "),
        "{}",
        show(&out)
    );
    // A task that is no sweep instance has none.
    let report: Vec<&str> = row(&out, "j/report").split_whitespace().collect();
    assert_eq!(report.get(1..3), Some(&["-", "blocked"][..]), "{}", show(&out));
}

#[test]
fn run_format_json_gives_each_instance_its_values() {
    let (_, out) = sweep_run(&["--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    let task = |id: &str| {
        v["tasks"]
            .as_array()
            .and_then(|t| t.iter().find(|t| t["task"] == id))
            .cloned()
            .unwrap_or_else(|| panic!("no {id} in {v}"))
    };
    assert_eq!(task("train-1-1")["instance"], "train[s=1, lr=0.01]");
    assert_eq!(task("report")["instance"], serde_json::Value::Null);
}

#[test]
fn status_lists_the_failed_tasks_with_exit_code_and_reason() {
    let (repo, _) = sweep_run(&[]);
    let out = repo.test().args(["status"]).success();
    assert!(
        out.stdout
            .contains("failed tasks:\n  j/train-1-1  train[s=1, lr=0.01]  exit 4  exited with 4: diverged\n"),
        "{}",
        show(&out)
    );
    let json = repo.test().args(["status", "--format", "json"]).success();
    let v: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(
        v["failed"],
        serde_json::json!([{"job": "j", "task": "train-1-1", "instance": "train[s=1, lr=0.01]", "exit_code": 4, "reason": "exited with 4: diverged"}]),
        "{v}"
    );
}

#[test]
fn runs_format_json_gives_params_and_counts() {
    let (repo, _) = sweep_run(&["--param", "lrs=0.5,0.01"]);
    let out = repo.test().args(["runs", "--format", "json"]).success();
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.stdout));
    let run = &v[0];
    assert!(run["id"].as_str().unwrap_or("").starts_with("sweep-"), "{v}");
    assert_eq!(run["workflow"], "sweep");
    assert_eq!(run["target"], "local");
    assert_eq!(run["state"], "failed");
    assert_eq!(run["params"], serde_json::json!(["lrs=0.5,0.01"]));
    assert_eq!(
        run["counts"],
        serde_json::json!({"total": 5, "succeeded": 3, "failed": 1, "blocked": 1, "interrupted": 0, "waiting": 0, "running": 0, "reused": 0, "cached": 0})
    );
    // Not a rerun: no run it reran.
    assert!(run.get("rerun_of").is_none(), "{v}");
    assert!(run["started"].as_str().unwrap_or("").ends_with('Z'), "{v}");
    // The table shows the params too.
    repo.test().args(["runs"]).stdout_contains("lrs=0.5,0.01").success();
}
