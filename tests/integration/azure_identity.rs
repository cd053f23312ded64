//! Run identity on Azure Batch: each run's jobs have ids of their own, so runs of the same
//! workflow, or of workflows with the same job names, never share a job, even when they start
//! at the same moment; and whether a pool or job found on Batch is a run's own (a reply lost,
//! a process killed) is read from the metadata it carries.

use crate::azure::{assert_exactly_once, batch_ids, job_state, pool_states, show, workflow_job, Azure};
use crate::fake_batch::Config;
use serde_json::Value;
use std::process::Child;
use std::time::Duration;

/// Waits for a spawned run and returns its exit code and stderr.
fn finish(az: &Azure, mut child: Child, log: &str) -> (Option<i32>, String) {
    let code = child.wait().expect("the run ends").code();
    let stderr = std::fs::read_to_string(az.path().join(log)).unwrap_or_default();
    (code, stderr)
}

/// The value of metadata `name` of a pool or job as the service shows it.
fn tag<'v>(v: &'v Value, name: &str) -> Option<&'v str> {
    v["metadata"]
        .as_array()?
        .iter()
        .find(|i| i["name"] == name)
        .and_then(|i| i["value"].as_str())
}

/// Two workflows that differ only in their names (`NAME`): same pool, same job name.
const TWO_TASKS: &str = r#"
workflow "NAME"

pool cpu {
  vm_size    = "Standard_D2s_v5"
  image      = marketplace("Canonical", "ubuntu-24_04-lts", "server")
  node_agent = "batch.node.ubuntu 24.04"
  dedicated  = 1
}

job align on cpu {
  task first {
    command = "/bin/true"
  }
  task second after first {
    command = "/bin/true"
  }
}
"#;

fn slow() -> Config {
    Config {
        allocation_delay: Duration::from_millis(400),
        task_duration: Duration::from_millis(300),
        ..Config::default()
    }
}

#[test]
fn two_runs_of_one_workflow_started_at_once_both_succeed_with_jobs_of_their_own() {
    let az = Azure::new(slow());
    let planned = az.planned("examples/hello.batchflow", &[]);
    let a = az.spawn_logged(&["examples/hello.batchflow"], "a.log");
    let b = az.spawn_logged(&["examples/hello.batchflow"], "b.log");
    let (code_a, err_a) = finish(&az, a, "a.log");
    let (code_b, err_b) = finish(&az, b, "b.log");
    assert_eq!((code_a, code_b), (Some(0), Some(0)), "a:\n{err_a}\nb:\n{err_b}");
    let snap = az.fake.snapshot();
    let ids = batch_ids(&snap, "hello");
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert_ne!(ids[0], ids[1]);
    let runs: Vec<&str> = snap.jobs.iter().filter_map(|j| tag(j, "batchflow-run")).collect();
    assert_eq!(runs.len(), 2);
    assert_ne!(runs[0], runs[1], "two runs, two run ids");
    for id in &ids {
        let tasks = &snap.tasks[id];
        assert_eq!(tasks.len(), planned.len(), "{id}");
        assert!(tasks.values().all(|t| t.created == 1 && t.state == "completed"), "{id}");
    }
    // One pool, made by one of them and used by both; the last one out deleted it.
    assert_eq!(snap.pools.len(), 1);
    assert!(
        matches!(pool_states(&snap)[0].1.as_str(), "deleting" | "deleted"),
        "{:?}",
        pool_states(&snap)
    );
    assert!(
        !snap
            .client_request_ids
            .iter()
            .any(|(what, _, _)| what.starts_with("DELETE /jobs")),
        "no job of one run is deleted by the other"
    );
}

#[test]
fn two_workflows_with_the_same_job_names_run_at_once_in_one_account() {
    let az = Azure::new(slow());
    let first = az.write("first.batchflow", &TWO_TASKS.replace("NAME", "first"));
    let second = az.write("second.batchflow", &TWO_TASKS.replace("NAME", "second"));
    let a = az.spawn_logged(&[&first], "a.log");
    let b = az.spawn_logged(&[&second], "b.log");
    let (code_a, err_a) = finish(&az, a, "a.log");
    let (code_b, err_b) = finish(&az, b, "b.log");
    assert_eq!((code_a, code_b), (Some(0), Some(0)), "a:\n{err_a}\nb:\n{err_b}");
    let snap = az.fake.snapshot();
    let mut workflows: Vec<&str> = snap
        .jobs
        .iter()
        .filter(|j| workflow_job(j) == "align")
        .filter_map(|j| tag(j, "batchflow-workflow"))
        .collect();
    workflows.sort();
    assert_eq!(workflows, ["first", "second"]);
    for j in &snap.jobs {
        assert_eq!(j["state"], "completed", "{j}");
        // Without a display name of its own, a job shows its workflow's and its own name.
        let workflow = tag(j, "batchflow-workflow").unwrap_or("");
        assert_eq!(j["displayName"], format!("{workflow}/align"));
        assert_eq!(snap.tasks[j["id"].as_str().unwrap_or("")].len(), 2);
    }
}

/// The run folder's step log without the line that says `step` is done: what a run killed
/// between sending the step's request and recording its answer leaves.
fn forget_done(az: &Azure, step: &str) {
    let log = az.run_dir().join("steps.log");
    let text = std::fs::read_to_string(&log).expect("steps.log");
    let kept: Vec<&str> = text.lines().filter(|l| *l != step).collect();
    assert!(kept.len() < text.lines().count(), "`{step}` was not done:\n{text}");
    std::fs::write(&log, kept.join("\n") + "\n").expect("steps.log");
}

#[test]
fn a_run_killed_between_creating_and_recording_knows_its_own_pool_and_job_by_their_metadata() {
    let az = Azure::new(Config {
        task_duration: Duration::from_secs(2),
        ..Config::default()
    });
    let planned = az.planned("examples/hello.batchflow", &[]);
    let mut child = az.spawn(&["examples/hello.batchflow"]);
    az.wait_for("running tasks", |s| {
        s.tasks.values().flat_map(|t| t.values()).any(|t| t.state == "running")
    });
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    // As if the kill came after the requests went out and before their answers were recorded.
    forget_done(&az, "create-pool-cpu");
    forget_done(&az, "create-job-hello");
    let out = az.run(&["--resume"]);
    assert_eq!(out.code, 0, "{}", show(&out));
    assert!(
        out.stderr
            .contains("exists and is active (an earlier attempt of this run): adding to it"),
        "{}",
        out.stderr
    );
    // Its own pool: not taken as another run's, and deleted at the end as its own.
    assert!(!out.stderr.contains("taking it"), "{}", out.stderr);
    assert!(out.stderr.contains("pool `cpu` is being deleted"), "{}", out.stderr);
    let snap = az.fake.snapshot();
    assert_exactly_once(&snap, &planned);
    assert_eq!(batch_ids(&snap, "hello").len(), 1);
    assert_eq!(job_state(&snap, "hello"), "completed");
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(az.run_dir().join("state.json")).expect("state")).expect("JSON");
    assert_eq!(record["batch_jobs"]["hello"], batch_ids(&snap, "hello")[0].as_str());
    assert_eq!(tag(&snap.jobs[0], "batchflow-run"), record["run_id"].as_str());
}

/// Workflow `second`: it takes pool `cpu` at its start but puts a job on it only once its job
/// on pool `other` is done.
const LATE_ON_CPU: &str = r#"
workflow "second"

pool cpu {
  vm_size    = "Standard_D2s_v5"
  image      = marketplace("Canonical", "ubuntu-24_04-lts", "server")
  node_agent = "batch.node.ubuntu 24.04"
  dedicated  = 1
}

pool other {
  vm_size    = "Standard_D2s_v5"
  image      = marketplace("Canonical", "ubuntu-24_04-lts", "server")
  node_agent = "batch.node.ubuntu 24.04"
  dedicated  = 1
}

job prep on other {
  task a {
    command = "/bin/true"
  }
  task b after a {
    command = "/bin/true"
  }
  task c after b {
    command = "/bin/true"
  }
  task d after c {
    command = "/bin/true"
  }
}

job align on cpu {
  after = prep
  task first {
    command = "/bin/true"
  }
}
"#;

#[test]
fn a_run_ending_leaves_a_pool_another_run_took_to_that_run_before_its_job_is_on_it() {
    let az = Azure::new(Config {
        task_duration: Duration::from_secs(1),
        ..Config::default()
    });
    let three = TWO_TASKS.replace("NAME", "first").replace(
        "  task second after first {",
        "  task third after second {\n    command = \"/bin/true\"\n  }\n  task second after first {",
    );
    let first = az.write("first.batchflow", &three);
    let second = az.write("second.batchflow", LATE_ON_CPU);
    let a = az.spawn_logged(&[&first], "a.log");
    az.wait_for("the first run's tasks", |s| {
        s.tasks.values().flat_map(|t| t.values()).any(|t| t.state == "running")
    });
    let b = az.spawn_logged(&[&second], "b.log");
    let (code_a, err_a) = finish(&az, a, "a.log");
    let (code_b, err_b) = finish(&az, b, "b.log");
    assert_eq!((code_a, code_b), (Some(0), Some(0)), "a:\n{err_a}\nb:\n{err_b}");
    // The first run ended while the second held `cpu` with no job on it yet: not deleted.
    assert!(
        err_a.contains("pool `cpu` is held by run `second-") && err_a.contains("left to it"),
        "a:\n{err_a}\nb:\n{err_b}"
    );
    assert!(err_b.contains("taking it"), "{err_b}");
    let snap = az.fake.snapshot();
    assert_eq!(snap.tasks[&batch_ids(&snap, "align")[1]].len(), 1);
    for j in &snap.jobs {
        assert_eq!(j["state"], "completed", "{j}");
    }
    // The second run, the last to hold it, deleted it.
    assert!(err_b.contains("pool `cpu` is being deleted"), "{err_b}");
}

#[test]
fn a_run_killed_after_taking_a_kept_pool_knows_it_as_its_own_on_resume_and_keeps_it() {
    let az = Azure::new(Config {
        task_duration: Duration::from_secs(2),
        ..Config::default()
    });
    let first = az.run(&["--keep-pools", "examples/hello.batchflow"]);
    assert_eq!(first.code, 0, "{}", show(&first));
    let planned = az.planned("examples/hello.batchflow", &[]);
    let mut child = az.spawn(&["examples/hello.batchflow"]);
    az.wait_for("the second run's tasks", |s| {
        s.tasks.values().flat_map(|t| t.values()).any(|t| t.state == "running")
    });
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let log = std::fs::read_to_string(az.path().join("spawned.log")).unwrap_or_default();
    assert!(log.contains("has the same specification: taking it"), "{log}");
    // As if killed after taking the pool and before recording it: the resumed run finds the
    // pool again, its metadata naming this run.
    forget_done(&az, "create-pool-cpu");
    forget_done(&az, "adopted-pool cpu");
    let out = az.run(&["--resume"]);
    assert_eq!(out.code, 0, "{}", show(&out));
    assert!(!out.stderr.contains("taking it"), "{}", out.stderr);
    // This run said no `keep`, but the pool it took was kept by the first: kept again.
    assert!(
        out.stderr
            .contains("pool `cpu` is kept: no nodes once it has had no tasks for 30m"),
        "{}",
        out.stderr
    );
    let snap = az.fake.snapshot();
    assert_eq!(snap.pools.len(), 1);
    assert_eq!(snap.pools[0]["enableAutoScale"], true, "{}", snap.pools[0]);
    let ids = batch_ids(&snap, "hello");
    assert_eq!(ids.len(), 2, "{ids:?}");
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(az.run_dir().join("state.json")).expect("state")).expect("JSON");
    let second = record["batch_jobs"]["hello"].as_str().expect("the second run's job");
    assert!(ids.iter().any(|i| i == second), "{ids:?}");
    let tasks = &snap.tasks[second];
    assert_eq!(tasks.len(), planned.len());
    assert!(tasks.values().all(|t| t.created == 1 && t.state == "completed"));
}
