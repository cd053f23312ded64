//! `batchflow run --target azure` and the Batch api-version: the default (2025-06-01), an older
//! one asked for with `--api-version`, one a resumed run keeps, and one Batch refuses.

use crate::azure::{api_versions, assert_exactly_once, job_state, show, Azure};
use crate::fake_batch::{Config, Snapshot};
use std::collections::BTreeSet;
use std::time::Duration;

const OLD: &str = "2024-02-01.19.0";

fn only(version: &str) -> BTreeSet<String> {
    BTreeSet::from([version.to_string()])
}

#[test]
fn a_run_with_api_version_2024_02_01_sends_it_and_its_bodies_are_valid_for_it() {
    let az = Azure::entra();
    let file = "examples/pipeline-two-jobs.batchflow";
    let planned = az.planned(file, &["--api-version", OLD]);
    let out = az.run_stored(&["--api-version", OLD], file);
    assert_eq!(out.code, 0, "{}", show(&out));
    assert!(!out.stderr.contains("note: the request bodies"), "{}", out.stderr);
    let snap = az.fake.snapshot();
    assert_exactly_once(&snap, &planned);
    assert_eq!(api_versions(&snap), only(OLD));
    let plan = std::fs::read_to_string(az.run_dir().join("plan.json")).expect("plan.json");
    assert!(plan.contains(&format!("\"api_version\":\"{OLD}\"")), "{plan}");
}

#[test]
fn a_resumed_run_keeps_the_api_version_of_its_plan() {
    let az = Azure::new(Config {
        task_duration: Duration::from_millis(400),
        ..Config::default()
    });
    let file = "examples/hello.batchflow";
    let planned = az.planned(file, &["--api-version", OLD]);
    let mut child = az.spawn(&["--api-version", OLD, file]);
    let started = |s: &Snapshot| s.tasks.values().flat_map(|t| t.values()).any(|t| t.state == "running");
    az.wait_for("a running task", started);
    child.kill().expect("kill");
    let _ = child.wait();

    let other = az.run(&["--resume", "--api-version", "2025-06-01"]);
    assert_eq!(other.code, 2, "{}", show(&other));
    assert!(
        other
            .stderr
            .contains(&format!("was planned for api-version {OLD}, which a resumed run keeps")),
        "{}",
        other.stderr
    );
    let out = az.run(&["--resume"]);
    assert_eq!(out.code, 0, "{}", show(&out));
    assert!(out.stderr.contains("resuming run"), "{}", out.stderr);
    let snap = az.fake.snapshot();
    assert_exactly_once(&snap, &planned);
    assert_eq!(api_versions(&snap), only(OLD));
    assert_eq!(job_state(&snap, "hello"), "completed");
}

#[test]
fn an_api_version_batch_does_not_take_is_reported_with_the_way_out() {
    let az = Azure::entra();
    let out = az.run(&[
        "--quiet",
        "--api-version",
        "2023-05-01.17.0",
        "examples/hello.batchflow",
    ]);
    assert_eq!(out.code, 1, "{}", show(&out));
    for expected in [
        "note: the request bodies are tested against api-versions 2025-06-01 and 2024-02-01.19.0 only",
        "cannot create pool `cpu`: UnsupportedRequestVersion (400): The specified request version is not supported.",
        "This Batch account does not take api-version `2023-05-01.17.0`, which the run's plan names: start a new run with `--api-version 2025-06-01` (the default)",
    ] {
        assert!(out.stderr.contains(expected), "missing `{expected}`:\n{}", out.stderr);
    }
    let snap = az.fake.snapshot();
    assert!(snap.pools.is_empty() && snap.jobs.is_empty(), "{snap:?}");
    assert_eq!(api_versions(&snap), only("2023-05-01.17.0"));
}

#[test]
fn a_malformed_api_version_is_a_usage_error_before_anything_is_sent() {
    let az = Azure::entra();
    for bad in ["2025-6-1", "2024-02-01.19", "latest"] {
        let out = az.run(&["--api-version", bad, "examples/hello.batchflow"]);
        assert_eq!(out.code, 2, "{bad}: {}", show(&out));
        assert!(
            out.stderr.contains(&format!(
                "error: --api-version: `{bad}` is not a Batch api-version: they are named like `2025-06-01` (the default), or `2024-02-01.19.0` before 2025"
            )),
            "{}",
            out.stderr
        );
    }
    assert_eq!(az.fake.snapshot().requests, 0);
    let local = az
        .bf()
        .args(["run", "--api-version", OLD, "examples/hello.batchflow"])
        .run();
    assert_eq!(local.code, 2, "{}", show(&local));
    assert!(
        local
            .stderr
            .contains("--api-version does not apply to this run: it is for `--target azure`"),
        "{}",
        local.stderr
    );
}
