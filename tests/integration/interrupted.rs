//! Tasks a Ctrl-C stopped are `interrupted` — in the summary table, `--format json`, the
//! state file, `status` and `runs`, and the counts line — not `waiting`; a state file written
//! before the state existed still reads.

use crate::azure::Azure;
use crate::fake_batch::{Config, Snapshot};
use crate::local_repo::*;
use serde_json::Value;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// `quick` succeeds at once; `slow` runs until `marks/go` exists; `later` waits for `slow`.
const GATED: &str = r#"workflow "gated"
pool cpu {
@LINUX@
  dedicated  = 1
  task_slots = 2
}
job j on cpu {
  task quick { command = "/bin/sh -c 'echo run >> @DIR@/marks/quick'" }
  task slow { command = "/bin/sh -c 'echo run >> @DIR@/marks/slow; while [ ! -f @DIR@/marks/go ]; do sleep 0.1; done'" }
  task later after slow { command = "/bin/true" }
}
"#;

/// Sends SIGINT to a run once `ready` holds, and waits for it to end.
fn interrupt(child: &mut Child, ready: impl Fn() -> bool) -> Option<i32> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready() {
        assert!(Instant::now() < deadline, "the run never got going");
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("SIGINT");
    child.wait().expect("the run ends").code()
}

/// Runs the gated workflow (with `args`) and interrupts it while `slow` runs: its stdout and
/// stderr, and the repository.
fn interrupted_local(args: &[&str]) -> (Repo, String, String) {
    let repo = local_repo();
    repo.workflow("gated.batchflow", GATED);
    let mut all = vec!["gated.batchflow", "--jobs", "2"];
    all.extend_from_slice(args);
    let log = |name: &str| std::fs::File::create(repo.path().join(name)).expect("log");
    let mut child = repo
        .run(&all)
        .command()
        .stdout(log("out.log"))
        .stderr(log("err.log"))
        .spawn()
        .expect("batchflow starts");
    let code = interrupt(&mut child, || repo.exists("marks/slow") && repo.exists("marks/quick"));
    // Let nothing outlive the test, whatever happened.
    repo.write("marks/go", "");
    assert_eq!(code, Some(130), "{}", repo.read("err.log"));
    (repo.clone(), repo.read("out.log"), repo.read("err.log"))
}

#[test]
fn a_task_stopped_by_ctrl_c_is_interrupted_in_the_table_the_state_and_status() {
    let (repo, stdout, stderr) = interrupted_local(&[]);
    let slow = stdout
        .lines()
        .find(|l| l.starts_with("j/slow "))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(slow.contains(" interrupted "), "{stdout}");
    let later = stdout
        .lines()
        .find(|l| l.starts_with("j/later "))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(later.contains(" waiting "), "{stdout}");
    assert!(
        stdout.contains("3 tasks: 1 succeeded, 0 failed, 0 blocked, 1 interrupted, 1 waiting"),
        "{stdout}"
    );
    assert!(stderr.contains(", 1 interrupted"), "the counts line:\n{stderr}");
    let st = state(&repo.only_run());
    assert_eq!(task_state(&st, "slow"), "interrupted", "{st}");
    assert_eq!(task_state(&st, "later"), "waiting", "{st}");
    repo.test()
        .args(["status"])
        .stdout_contains("tasks (as last recorded): 1 waiting, 1 succeeded, 1 interrupted")
        .success();
    let runs = repo.test().args(["runs"]).success();
    let cells: Vec<&str> = runs.stdout.lines().nth(1).unwrap_or("").split_whitespace().collect();
    // run, status, tasks, succeeded, cached, failed, blocked, interrupted
    assert_eq!(
        cells.get(1..8),
        Some(&["interrupted", "3", "1", "0", "0", "0", "1"][..]),
        "{}",
        runs.stdout
    );
    // Resuming runs the interrupted task again, to the end.
    repo.run(&["--resume", "--quiet"]).success();
    assert_eq!(repo.count("marks/slow"), 2);
    assert_eq!(repo.count("marks/quick"), 1);
}

#[test]
fn format_json_counts_interrupted_tasks() {
    let (_, stdout, _) = interrupted_local(&["--format", "json", "--quiet"]);
    let v: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(v["status"], "interrupted");
    assert_eq!(v["counts"]["interrupted"], 1, "{v}");
    let slow = v["tasks"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["task"] == "slow"))
        .cloned();
    assert_eq!(
        slow.map(|t| t["state"].clone()),
        Some(Value::from("interrupted")),
        "{v}"
    );
}

#[test]
fn an_azure_run_interrupted_marks_the_tasks_it_had_sent_to_batch() {
    let az = Azure::new(Config {
        task_duration: Duration::from_secs(30),
        ..Config::default()
    });
    let mut child = az
        .bf()
        .args(["run", "--target", "azure", "examples/hello.batchflow", "--quiet"])
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("batchflow starts");
    let running = |s: &Snapshot| s.tasks.values().flat_map(|t| t.values()).any(|t| t.state == "running");
    let code = interrupt(&mut child, || running(&az.fake.snapshot()));
    assert_eq!(code, Some(130));
    let st = state(&az.run_dir());
    // The greetings were on Batch when the run stopped watching; the fan-in too (Batch holds
    // it until they end).
    for t in ["greet-0", "greet-3", "gather"] {
        assert_eq!(task_state(&st, t), "interrupted", "{t}: {st}");
    }
}

#[test]
fn a_state_file_from_before_interrupted_existed_still_reads() {
    let repo = local_repo();
    let old = r#"{"run_id":"old-20250101-000000","workflow":"old","file":"old.batchflow","params":["n=2"],"started":1735689600,"status":"interrupted","tasks":[{"job":"j","task":"a","state":"succeeded","attempts":1,"exit_code":0,"node":"cpu-node-0"},{"job":"j","task":"b","state":"waiting"}]}"#;
    repo.write(".batchflow/runs/old-20250101-000000/state.json", old);
    repo.test()
        .args(["status", "old"])
        .stdout_contains("tasks (as last recorded): 1 waiting, 1 succeeded")
        .success();
    repo.test()
        .args(["runs"])
        .stdout_contains("old-20250101-000000")
        .success();
}
