//! Warm pools on Azure Batch: `keep = 30m` leaves the pool after the run with an autoscale
//! formula that shrinks it to no nodes once idle (a formula BF224 passes); the next run of the
//! same specification takes it without waiting for allocation; a pool of another
//! specification is still an error; `batchflow pools` lists what batchflow made and
//! `batchflow pools delete` removes it. A local run keeps nothing, and says so.

use crate::azure::{pool_states, show, Azure};
use crate::fake_batch::Config;
use crate::support::Test;
use serde_json::Value;
use std::time::Duration;

const KEPT: &str = r#"
workflow "kept"

pool cpu {
  vm_size    = "Standard_D2s_v5"
  image      = marketplace("Canonical", "ubuntu-24_04-lts", "server")
  node_agent = "batch.node.ubuntu 24.04"
  dedicated  = 2
  keep       = 30m

  start_task {
    command = "/bin/true"
  }
}

job work on cpu {
  task one {
    command = "/bin/true"
  }
  task two after one {
    command = "/bin/true"
  }
}
"#;

fn tag<'v>(v: &'v Value, name: &str) -> Option<&'v str> {
    v["metadata"]
        .as_array()?
        .iter()
        .find(|i| i["name"] == name)
        .and_then(|i| i["value"].as_str())
}

/// Requests the service saw that start with `what` (first attempts only).
fn sent(az: &Azure, what: &str) -> usize {
    az.fake
        .snapshot()
        .client_request_ids
        .iter()
        .filter(|(w, _, retry)| w.starts_with(what) && !retry)
        .count()
}

#[test]
fn a_kept_pool_is_taken_by_the_next_run_without_waiting_for_allocation() {
    let az = Azure::new(Config {
        allocation_delay: Duration::from_secs(3),
        ..Config::default()
    });
    let file = az.write("kept.batchflow", KEPT);
    let plan = az.bf().args(["plan", &file]).run();
    assert!(
        plan.stdout
            .contains("kept after the run: no nodes once it has had no tasks for 30m"),
        "{}",
        plan.stdout
    );
    let first = az.run(&[&file]);
    assert_eq!(first.code, 0, "{}", show(&first));
    assert!(
        first
            .stderr
            .contains("pool `cpu` is kept: no nodes once it has had no tasks for 30m"),
        "{}",
        first.stderr
    );
    let snap = az.fake.snapshot();
    let pool = &snap.pools[0];
    assert_eq!(pool["state"], "active");
    assert_eq!(pool["enableAutoScale"], true, "{pool}");
    assert_eq!(pool["autoScaleEvaluationInterval"], "PT5M");
    let formula = pool["autoScaleFormula"].as_str().expect("a formula");
    assert!(formula.contains("TimeInterval_Minute * 30"), "{formula}");
    assert!(
        formula.contains("$TargetDedicatedNodes = $bf_busy > 0 ? 2 : 0;"),
        "{formula}"
    );
    assert_eq!(tag(pool, "batchflow-keep"), Some("PT30M"));
    assert_eq!(tag(pool, "batchflow-nodes"), Some("2,0"));
    assert!(tag(pool, "batchflow-idle-since").is_some(), "{pool}");
    // The formula batchflow left is one `check` passes (BF224).
    let check = Test::new()
        .write(
            "formula.batchflow",
            format!(
                "workflow \"f\"\n\npool p {{\n  vm_size    = \"Standard_D2s_v5\"\n  image      = marketplace(\"Canonical\", \"ubuntu-24_04-lts\", \"server\")\n  node_agent = \"batch.node.ubuntu 24.04\"\n  autoscale  = r#\"{formula}\"#\n}}\n"
            ),
        )
        .args(["check", "formula.batchflow"])
        .run();
    assert_eq!(check.code, 0, "{}", show(&check));
    assert!(!check.stderr.contains("BF224"), "{}", check.stderr);

    let second = az.run(&[&file]);
    assert_eq!(second.code, 0, "{}", show(&second));
    assert!(
        second
            .stderr
            .contains("has the same specification: taking it, 2 nodes up"),
        "{}",
        second.stderr
    );
    // Its nodes were up: no second pool, no resize, no wait for allocation.
    assert!(second.stderr.contains("pool `cpu` is ready (0s)"), "{}", second.stderr);
    assert_eq!(
        sent(&az, "POST /pools?"),
        2,
        "one create per run, the second answered PoolExists"
    );
    assert_eq!(sent(&az, "POST /pools/cpu/resize"), 0);
    assert_eq!(sent(&az, "POST /pools/cpu/disableautoscale"), 1);
    let snap = az.fake.snapshot();
    assert_eq!(snap.pools.len(), 1);
    assert_eq!(snap.pools[0]["enableAutoScale"], true, "kept again");

    // `batchflow pools` lists it, with what it costs per hour when up.
    let listed = az.bf().args(["pools", "--format", "json"]).run();
    assert_eq!(listed.code, 0, "{}", show(&listed));
    let pools: Value = serde_json::from_str(&listed.stdout).expect("pools JSON");
    let p = &pools[0];
    assert_eq!((p["id"].as_str(), p["workflow"].as_str()), (Some("cpu"), Some("kept")));
    assert_eq!(p["state"], "idle");
    assert_eq!(p["keep"], "PT30M");
    assert_eq!(p["size"], serde_json::json!([2, 0]));
    assert!(p["cost_per_hour"].as_f64().is_some_and(|c| c > 0.0), "{p}");
    let runs: Value =
        serde_json::from_str(&az.bf().args(["runs", "--format", "json"]).run().stdout).expect("runs JSON");
    assert_eq!(p["run"], runs[0]["id"], "the run that left it last");
    let text = az.bf().args(["pools"]).run();
    assert!(
        text.stdout
            .lines()
            .any(|l| l.starts_with("cpu ") && l.contains(" idle ")),
        "{}",
        text.stdout
    );

    let delete = az.bf().args(["pools", "delete", "--idle"]).run();
    assert_eq!(delete.code, 0, "{}", show(&delete));
    assert!(
        delete.stderr.contains("pool `cpu` is being deleted"),
        "{}",
        delete.stderr
    );
    assert_eq!(pool_states(&az.fake.snapshot())[0].1, "deleting");
}

#[test]
fn a_kept_pool_of_another_specification_is_refused_and_pools_delete_names_only_batchflows() {
    let az = Azure::entra();
    let file = az.write("kept.batchflow", KEPT);
    let first = az.run(&[&file]);
    assert_eq!(first.code, 0, "{}", show(&first));
    let other = az.write(
        "other.batchflow",
        &KEPT.replace(
            "command = \"/bin/true\"\n  }\n}\n\njob",
            "command = \"/bin/echo warm\"\n  }\n}\n\njob",
        ),
    );
    let out = az.run(&[&other]);
    assert_eq!(out.code, 1, "{}", show(&out));
    assert!(
        out.stderr.contains("pool `cpu` already exists, made by run `kept-")
            && out
                .stderr
                .contains("with another start task, containers, task slots or inter-node communication"),
        "{}",
        out.stderr
    );
    let unknown = az.bf().args(["pools", "delete", "gpu"]).run();
    assert_eq!(unknown.code, 1, "{}", show(&unknown));
    assert!(
        unknown.stderr.contains("pool `gpu` was not made by batchflow"),
        "{}",
        unknown.stderr
    );
    let none = az.bf().args(["pools", "delete"]).run();
    assert_eq!(none.code, 2, "{}", show(&none));
    let named = az.bf().args(["pools", "delete", "cpu"]).run();
    assert_eq!(named.code, 0, "{}", show(&named));
}

#[test]
fn keep_on_a_local_run_keeps_nothing_and_says_so() {
    let out = Test::new()
        .write("kept.batchflow", KEPT)
        .args(["run", "kept.batchflow"])
        .run();
    assert_eq!(out.code, 0, "{}", show(&out));
    assert!(
        out.stderr
            .contains("pool `cpu` says `keep`: a local run has nothing to keep"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_pool_a_run_still_uses_is_listed_in_use_and_never_deleted_and_cancel_keeps_it() {
    let az = Azure::new(Config {
        task_duration: Duration::from_secs(600),
        ..Config::default()
    });
    let file = az.write("kept.batchflow", KEPT);
    let mut child = az.spawn(&[&file]);
    az.wait_for("running tasks", |s| {
        s.tasks.values().flat_map(|t| t.values()).any(|t| t.state == "running")
    });
    let listed = az.bf().args(["pools", "--format", "json"]).run();
    assert_eq!(listed.code, 0, "{}", show(&listed));
    let pools: Value = serde_json::from_str(&listed.stdout).expect("pools JSON");
    assert_eq!(pools[0]["state"], "in use", "{pools}");
    assert!(
        pools[0]["active_jobs"][0]
            .as_str()
            .is_some_and(|j| j.starts_with("work-")),
        "{pools}"
    );
    let named = az.bf().args(["pools", "delete", "cpu"]).run();
    assert_eq!(named.code, 1, "{}", show(&named));
    assert!(named.stderr.contains("pool `cpu` is in use by job"), "{}", named.stderr);
    let idle = az.bf().args(["pools", "delete", "--idle"]).run();
    assert_eq!(idle.code, 0, "{}", show(&idle));
    assert!(
        idle.stderr.contains("no idle pools made by batchflow"),
        "{}",
        idle.stderr
    );
    assert_eq!(pool_states(&az.fake.snapshot())[0].1, "active");

    // Cancelled, the run ends as a finished one does: its pool says `keep`, so it is kept.
    let cancel = az.bf().args(["cancel"]).run();
    assert_eq!(cancel.code, 0, "{}", show(&cancel));
    assert_eq!(child.wait().expect("the run ends").code(), Some(130));
    assert!(
        cancel
            .stderr
            .contains("pool `cpu` is kept: no nodes once it has had no tasks for 30m"),
        "{}",
        cancel.stderr
    );
    let snap = az.fake.snapshot();
    assert_eq!(snap.pools[0]["enableAutoScale"], true, "{}", snap.pools[0]);
    assert_eq!(tag(&snap.pools[0], "batchflow-keep"), Some("PT30M"));
}
