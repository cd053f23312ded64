//! Running a workflow on Azure Batch again right after `batchflow cancel` deleted its pool:
//! Batch refuses the pool's id while the old pool is being deleted (`PoolBeingDeleted`), so the
//! new run waits for it to go, then creates its own.

use crate::azure::{show, Azure};
use crate::fake_batch::Config;
use std::time::Duration;

#[test]
fn a_run_right_after_cancel_waits_for_the_old_pool_to_go() {
    let az = Azure::new(Config {
        allocation_delay: Duration::from_millis(300),
        ..Config::default()
    });
    let file = "examples/hello.batchflow";
    let first = az.run(&[file, "--keep-pools"]);
    assert_eq!(first.code, 0, "{}", show(&first));
    let cancel = az.bf().args(["cancel"]).run();
    assert_eq!(cancel.code, 0, "{}", show(&cancel));
    let again = az.run(&[file, "--replace-jobs"]);
    assert_eq!(again.code, 0, "{}", show(&again));
    assert!(!again.stderr.contains("PoolBeingDeleted"), "{}", show(&again));
}
