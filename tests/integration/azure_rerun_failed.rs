//! `run FILE --rerun-failed` on Azure Batch (the fake service): the new run has jobs of its
//! own holding only the tasks that did not succeed and their dependents, no `dependsOn` names
//! a task its job never gets, every body is valid, and a job (and its pool) with nothing to
//! run again is not created at all.

use crate::azure::{batch_ids, show, Azure};
use crate::fake_batch::Faults;
use serde_json::Value;

const SWEEP: &str = r#"
workflow "resweep"

pool cpu {
  vm_size    = "Standard_D2s_v5"
  image      = marketplace("Canonical", "ubuntu-24_04-lts", "server")
  node_agent = "batch.node.ubuntu 24.04"
  dedicated  = 1
  task_slots = 2
}

pool side {
  vm_size    = "Standard_D2s_v5"
  image      = marketplace("Canonical", "ubuntu-24_04-lts", "server")
  node_agent = "batch.node.ubuntu 24.04"
  dedicated  = 1
}

job prep on side {
  task p {
    command = "/bin/sh -c 'echo prep'"
  }
}

job sweep on cpu {
  task t[i in 0..4] {
    command = "/bin/sh -c 'echo ${i}'"
  }

  task gather after t {
    command = "/bin/sh -c 'echo gather'"
  }
}

job report on cpu {
  after = sweep

  task r {
    command = "/bin/sh -c 'echo report'"
  }
}
"#;

/// The task ids the service saw in Batch job `id`, sorted.
fn task_ids(snap: &crate::fake_batch::Snapshot, id: &str) -> Vec<String> {
    snap.tasks
        .get(id)
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn a_rerun_sends_only_what_failed_and_its_dependents() {
    let az = Azure::entra();
    let file = az.write("resweep.batchflow", SWEEP);
    az.fake.set_faults(Faults {
        failing_tasks: vec![("t-2".into(), 3)],
        ..Faults::default()
    });
    let first = az.run(&[&file]);
    assert_eq!(first.code, 1, "{}", show(&first));
    // The fix.
    az.fake.set_faults(Faults::default());
    let again = az.run(&[&file, "--rerun-failed", "--format", "json"]);
    assert_eq!(again.code, 0, "{}", show(&again));
    let snap = az.fake.snapshot();
    assert!(snap.schema_errors.is_empty(), "{:?}", snap.schema_errors);

    let sweep = batch_ids(&snap, "sweep");
    assert_eq!(sweep.len(), 2, "{sweep:?}");
    assert_eq!(task_ids(&snap, &sweep[0]).len(), 5);
    assert_eq!(task_ids(&snap, &sweep[1]), ["gather", "t-2"]);
    let rerun = &snap.tasks[&sweep[1]];
    assert_eq!(rerun["gather"].depends_on, ["t-2"]);
    assert!(rerun.values().all(|t| t.state == "completed" && t.exit_code == Some(0)));
    // `report` comes after `sweep`, which failed: it was never made, and runs now.
    let report = batch_ids(&snap, "report");
    assert_eq!(report.len(), 1, "{report:?}");
    assert_eq!(task_ids(&snap, &report[0]), ["r"]);
    // `prep` succeeded, and nothing it holds depends on what failed: neither its job nor its
    // pool is made again.
    assert_eq!(batch_ids(&snap, "prep").len(), 1);
    let side_pools = snap
        .pools
        .iter()
        .filter(|p| p["id"].as_str().is_some_and(|id| id.contains("side")))
        .count();
    assert_eq!(side_pools, 1, "{:?}", snap.pools);

    let summary: Value = serde_json::from_str(&again.stdout).expect("summary JSON");
    let runs: Vec<Value> =
        serde_json::from_str(&az.bf().args(["runs", "--format", "json"]).run().stdout).expect("runs JSON");
    assert_eq!(summary["rerun_of"], runs[1]["id"]);
    assert_eq!(summary["counts"]["succeeded"], 7);
    assert_eq!(runs[0]["rerun_of"], runs[1]["id"]);
    assert_eq!(runs[0]["counts"]["reused"], 4);
    assert_eq!(runs[0]["state"], "succeeded");

    // Nothing failed now: no run, no request.
    let before = az.fake.snapshot().requests;
    let none = az.run(&[&file, "--rerun-failed"]);
    assert_eq!(none.code, 0, "{}", show(&none));
    assert!(none.stderr.contains("nothing to rerun"), "{}", none.stderr);
    let after = az.fake.snapshot();
    assert_eq!(batch_ids(&after, "sweep").len(), 2);
    assert!(after.requests - before < 20, "{} requests", after.requests - before);
}

const MANY: &str = r#"
workflow "remany"

pool cpu {
  vm_size    = "Standard_D2s_v5"
  image      = marketplace("Canonical", "ubuntu-24_04-lts", "server")
  node_agent = "batch.node.ubuntu 24.04"
  dedicated  = 1
  task_slots = 4
}

job sweep on cpu {
  task t[i in 0..300] {
    command = "/bin/sh -c 'echo ${i}'"
  }

  task gather after t {
    command = "/bin/sh -c 'echo gather'"
  }
}
"#;

#[test]
fn a_rerun_killed_while_adding_and_resumed_creates_each_task_once() {
    let az = Azure::new(crate::fake_batch::Config {
        latency: std::time::Duration::from_millis(40),
        ..crate::fake_batch::Config::default()
    });
    let file = az.write("remany.batchflow", MANY);
    // `t-1`, `t-10`...`t-19` and `t-100`...`t-199` fail: 111 tasks, and `gather` is blocked.
    az.fake.set_faults(Faults {
        failing_tasks: vec![("t-1".into(), 3)],
        ..Faults::default()
    });
    let first = az.run(&[&file]);
    assert_eq!(first.code, 1, "{}", show(&first));
    az.fake.set_faults(Faults::default());

    let mut child = az.spawn(&[&file, "--rerun-failed"]);
    let snap = az.wait_for("the rerun's first tasks", |s| {
        let ids = batch_ids(s, "sweep");
        ids.len() == 2 && s.tasks.get(&ids[1]).is_some_and(|t| !t.is_empty())
    });
    child.kill().expect("kill");
    let _ = child.wait();
    let ids = batch_ids(&snap, "sweep");

    let out = az.run(&["--resume"]);
    assert_eq!(out.code, 0, "{}", show(&out));
    let snap = az.fake.snapshot();
    assert!(snap.schema_errors.is_empty(), "{:?}", snap.schema_errors);
    assert_eq!(
        batch_ids(&snap, "sweep"),
        ids,
        "the resumed rerun made no job of its own"
    );
    let rerun = &snap.tasks[&ids[1]];
    let mut want: Vec<String> = (0..300)
        .map(|i| format!("t-{i}"))
        .filter(|t| t.starts_with("t-1"))
        .collect();
    assert_eq!(want.len(), 111);
    assert!(rerun.values().all(|t| t.created == 1), "a task created twice");
    let mut deps = rerun["gather"].depends_on.clone();
    deps.sort();
    want.sort();
    assert_eq!(deps, want);
    want.push("gather".into());
    want.sort();
    assert_eq!(rerun.keys().cloned().collect::<Vec<_>>(), want);
}
