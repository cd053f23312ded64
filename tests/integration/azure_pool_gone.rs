//! A pool deleted under a run (by hand, or by another tool) while its tasks wait: the run
//! stops with the reason instead of waiting forever for nodes that will never come.

use crate::azure::Azure;
use crate::fake_batch::Config;
use crate::fake_batch_tests::{fast, Client};
use std::time::{Duration, Instant};

#[test]
fn a_run_whose_pool_is_deleted_under_it_stops_and_says_why() {
    let azure = Azure::new(Config {
        task_duration: Duration::from_millis(700),
        ..fast()
    });
    let file = azure.write(
        "gone.batchflow",
        r#"workflow "gone"

pool cpu {
  vm_size    = "Standard_D2s_v5"
  image      = marketplace("Canonical", "ubuntu-24_04-lts", "server")
  node_agent = "batch.node.ubuntu 24.04"
  dedicated  = 1
  task_slots = 1
}

job j on cpu {
  task t[i in 0..6] {
    command = "/bin/sh -c true"
  }
}
"#,
    );
    let mut child = azure.spawn(&["--no-preflight", &file]);
    azure.wait_for("a running task", |s| {
        s.tasks.values().flat_map(|t| t.values()).any(|t| t.state == "running")
    });
    let r = Client::new(&azure.fake).delete("/pools/cpu");
    assert_eq!(r.status, 202, "{}", r.text);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("the run's status") {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the run waits forever for its deleted pool"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = std::fs::read_to_string(azure.path().join("spawned.log")).expect("the run's log");
    assert_eq!(status.code(), Some(1), "{log}");
    assert!(
        log.contains("pool `cpu` was deleted while tasks of job `j` waited for it")
            || log.contains("pool `cpu` is being deleted while tasks of job `j` waited for it"),
        "{log}"
    );
}
