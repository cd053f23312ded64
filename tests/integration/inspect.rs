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
