//! `.batchflow/` keeps itself out of version control, and `batchflow clean` removes run
//! folders: all of them, or those older than `--older-than`, never one that is running (nor an
//! azure run that may still have pools and jobs on Batch).

use crate::local_repo::*;

const QUICK: &str = r#"pool cpu {
@LINUX@
  dedicated = 1
}
job j on cpu {
  task t { command = "/bin/true" }
}
"#;

/// A run's state file, as old as `started` (seconds since the epoch), owned by `pid`.
fn fake_run(repo: &Repo, id: &str, started: u64, status: &str, target: &str, pid: u32) {
    let state = format!(
        r#"{{"run_id":"{id}","workflow":"w","file":"w.batchflow","params":[],"started":{started},"started_ms":{},"status":"{status}","owner_pid":{pid},"target":"{target}","tasks":[]}}"#,
        started * 1000
    );
    repo.write(format!(".batchflow/runs/{id}/state.json"), state);
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

#[test]
fn the_first_run_gives_batchflow_its_own_gitignore() {
    let repo = local_repo();
    repo.workflow("q.batchflow", QUICK);
    assert!(!repo.exists(".batchflow"));
    repo.run(&["q.batchflow", "--quiet"]).success();
    let ignore = repo.read(".batchflow/.gitignore");
    assert!(ignore.lines().any(|l| l == "*"), "{ignore}");
    // A changed one is left as it is.
    repo.write(".batchflow/.gitignore", "runs/\n");
    repo.run(&["q.batchflow", "--quiet"]).success();
    assert_eq!(repo.read(".batchflow/.gitignore"), "runs/\n");
}

#[test]
fn clean_removes_old_runs_and_keeps_running_ones() {
    let repo = local_repo();
    let day = 86_400;
    fake_run(&repo, "old-failed", now() - 10 * day, "failed", "local", 0);
    fake_run(
        &repo,
        "old-azure-ended",
        now() - 9 * day,
        "succeeded",
        "https://acct.westeurope.batch.azure.com",
        0,
    );
    fake_run(&repo, "new-failed", now() - day, "failed", "local", 0);
    // Still running: this test's own process owns it.
    fake_run(
        &repo,
        "old-running",
        now() - 8 * day,
        "running",
        "local",
        std::process::id(),
    );
    // Interrupted on Azure Batch: its pools may still be there.
    fake_run(
        &repo,
        "old-azure-interrupted",
        now() - 8 * day,
        "interrupted",
        "https://acct.westeurope.batch.azure.com",
        0,
    );
    repo.test()
        .args(["clean", "--older-than", "7d"])
        .stdout("removed old-azure-ended\nremoved old-failed\n")
        .stderr_contains("kept old-running: it is still running (process")
        .stderr_contains("kept old-azure-interrupted: its pools and jobs may still be on Azure Batch; end them with `batchflow cancel old-azure-interrupted`")
        .success();
    let left: Vec<String> = repo
        .run_dirs()
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    assert_eq!(left, ["new-failed", "old-azure-interrupted", "old-running"]);
    // Without --older-than, every run that may go goes.
    repo.test().args(["clean"]).stdout("removed new-failed\n").success();
    assert_eq!(repo.run_dirs().len(), 2);
}

#[test]
fn clean_refuses_a_duration_it_cannot_read() {
    Test::new()
        .args(["clean", "--older-than", "7"])
        .stderr_contains("--older-than")
        .status(2);
}
