//! How a local run turns pools into simulated nodes: one per node of the pool (dedicated, then
//! low-priority), up to 64, each with the pool's task slots; tasks spread round the nodes in
//! plan order; `--jobs` caps only how many tasks run at once.

use crate::local_repo::*;
use std::collections::BTreeMap;
use std::path::Path;

/// `(task id, node id)` of every task of a run, from its `state.json`.
fn placement(run: &Path) -> BTreeMap<String, String> {
    state(run)["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| {
            let task = t["task"].as_str().unwrap_or("").to_string();
            (task, t["node"].as_str().unwrap_or("").to_string())
        })
        .collect()
}

/// The node folders of a run.
fn node_dirs(run: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(run.join("nodes"))
        .expect("nodes/")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

#[test]
fn a_pool_gets_its_nodes_with_its_task_slots_and_jobs_caps_the_tasks_at_once() {
    let repo = local_repo();
    repo.workflow(
        "wide.batchflow",
        r#"workflow "wide"
pool cpu {
@LINUX@
  dedicated    = 2
  low_priority = 1
  task_slots   = 2
}
job j on cpu {
  task t[i in 0..6] { command = "@TIMED@" }
}
"#,
    );
    let out = repo.run(&["wide.batchflow", "--jobs", "3"]).success();
    assert!(
        out.stderr
            .contains("6 tasks on 3 simulated nodes with 6 slots, at most 3 at once"),
        "{}",
        show(&out)
    );
    let times = repo.intervals();
    assert_eq!(times.len(), 6, "{times:?}");
    let most = max_overlap(&times);
    assert!(most <= 3, "{most} tasks ran at once with --jobs 3: {times:?}");
    assert!(most >= 2, "tasks never overlapped: {times:?}");
    // Spread round the nodes in plan order, as Batch's default fill type spreads them.
    let run = repo.only_run();
    let want: BTreeMap<String, String> = (0..6)
        .map(|i| (format!("t-{i}"), format!("cpu-node-{}", i % 3)))
        .collect();
    assert_eq!(placement(&run), want);
    assert_eq!(node_dirs(&run), ["cpu-node-0", "cpu-node-1", "cpu-node-2"]);
}

#[test]
fn jobs_1_runs_one_task_at_a_time() {
    let repo = local_repo();
    repo.workflow(
        "serial.batchflow",
        r#"pool cpu {
@LINUX@
  dedicated  = 2
  task_slots = 2
}
job j on cpu {
  task t[i in 0..3] { command = "@TIMED@" }
}
"#,
    );
    let out = repo.run(&["serial.batchflow", "--jobs", "1"]).success();
    assert!(
        out.stderr
            .contains("3 tasks on 2 simulated nodes with 4 slots, at most 1 at once"),
        "{}",
        show(&out)
    );
    let times = repo.intervals();
    assert_eq!(times.len(), 3);
    assert_eq!(max_overlap(&times), 1, "{times:?}");
}

#[test]
fn a_task_needing_every_slot_runs_alone_on_its_node() {
    let repo = local_repo();
    repo.workflow(
        "big.batchflow",
        r#"pool cpu {
@LINUX@
  dedicated  = 1
  task_slots = 2
}
job j on cpu {
  task small[i in 0..2] { command = "@TIMED@" }
  task big {
    command = "@TIMED@"
    slots   = 2
  }
  task late[i in 0..2] { command = "@TIMED@" }
}
"#,
    );
    repo.run(&["big.batchflow", "--jobs", "2"]).success();
    let times = repo.intervals();
    assert_eq!(times.len(), 5, "{times:?}");
    let big = times.iter().find(|t| t.0 == "big").expect("big ran");
    for other in times.iter().filter(|t| t.0 != "big") {
        assert!(!overlaps(big, other), "big overlapped {}: {times:?}", other.0);
    }
    // The other tasks share the node's two slots.
    assert_eq!(max_overlap(&times), 2, "{times:?}");
}

/// Seven tasks leave their id and `AZ_BATCH_NODE_IS_DEDICATED` in their node's shared
/// directory; `gather` lists what its own node's shared directory holds.
const FAN_IN: &str = r#"workflow "fanin"
pool cpu {
@LINUX@
  dedicated    = 2
  low_priority = 1
  task_slots   = 2
}
job j on cpu {
  task t[i in 0..7] {
    command = "/bin/sh -c 'sleep 0.0${i}; echo $AZ_BATCH_TASK_ID $AZ_BATCH_NODE_IS_DEDICATED >> $AZ_BATCH_NODE_SHARED_DIR/seen'"
  }
  task gather after t {
    command = "/bin/sh -c 'sort $AZ_BATCH_NODE_SHARED_DIR/seen'"
  }
}
"#;

#[test]
fn jobs_changes_neither_the_nodes_nor_a_fan_in_over_the_shared_directory() {
    let mut seen = Vec::new();
    for jobs in ["1", "8"] {
        let repo = local_repo();
        let file = repo.workflow("fanin.batchflow", FAN_IN);
        repo.run(&[file.to_str().expect("utf-8"), "--jobs", jobs]).success();
        let run = repo.only_run();
        let where_ = placement(&run);
        let node = where_.get("gather").expect("gather ran").clone();
        let gathered = std::fs::read_to_string(task_dir(&run, &node, "j", "gather").join("stdout.txt"))
            .expect("gather's stdout.txt");
        let low = std::fs::read_to_string(run.join("nodes/cpu-node-2/shared/seen")).expect("node 2's seen");
        seen.push((node_dirs(&run), where_, gathered, low));
    }
    let (dirs, where_, gathered, low) = &seen[0];
    assert_eq!(dirs, &["cpu-node-0", "cpu-node-1", "cpu-node-2"]);
    // `gather` is the eighth task: node 1, which ran t-1 and t-4.
    assert_eq!(where_.get("gather").map(String::as_str), Some("cpu-node-1"));
    assert_eq!(gathered, "t-1 true\nt-4 true\n");
    // The third node is the pool's low-priority one.
    let mut low: Vec<&str> = low.lines().collect();
    low.sort_unstable();
    assert_eq!(low, ["t-2 false", "t-5 false"]);
    assert_eq!(seen[0], seen[1], "--jobs 1 and --jobs 8 differ");
}

#[test]
fn a_pool_over_the_cap_gets_64_nodes_and_an_autoscale_pool_one_with_notes() {
    let repo = local_repo();
    repo.workflow(
        "huge.batchflow",
        r#"workflow "huge"
pool big {
@LINUX@
  dedicated = 100
}
pool auto {
@LINUX@
  autoscale = "$TargetDedicatedNodes = 3;"
}
job j on big {
  task t[i in 0..2] { command = "true" }
}
job k on auto {
  task a { command = "true" }
}
"#,
    );
    let out = repo.run(&["huge.batchflow", "--jobs", "2"]).success();
    assert!(
        out.stderr
            .contains("3 tasks on 65 simulated nodes with 65 slots, at most 2 at once"),
        "{}",
        show(&out)
    );
    assert!(
        out.stderr
            .contains("pool `big` has 100 nodes; a local run simulates 64 of them, its most per pool"),
        "{}",
        show(&out)
    );
    assert!(
        out.stderr
            .contains("pool `auto` scales automatically: a local run cannot evaluate its formula and gives it 1 node"),
        "{}",
        show(&out)
    );
    let dirs = node_dirs(&repo.only_run());
    assert_eq!(dirs.iter().filter(|d| d.starts_with("big-node-")).count(), 64);
    assert_eq!(dirs.iter().filter(|d| d.starts_with("auto-node-")).count(), 1);
}

#[test]
fn a_pool_without_nodes_is_refused_before_start() {
    let repo = local_repo();
    repo.workflow(
        "empty.batchflow",
        r#"pool empty {
@LINUX@
  dedicated = 0
}
job j on empty {
  task t { command = "true" }
}
"#,
    );
    let out = repo.run(&["empty.batchflow"]).run();
    // Refused (by the checker's rule for such pools, or before the run starts), never run.
    assert_ne!(out.code, 0, "{}", show(&out));
    assert!(
        out.stderr.contains("`empty`") && out.stderr.contains("no nodes"),
        "{}",
        show(&out)
    );
    assert!(!repo.path().join(".batchflow/runs").exists(), "a run folder was made");
}
