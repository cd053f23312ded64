//! A resumed azure run reports failures at the lines of the workflow it was planned from, as
//! the run folder keeps it, even when the file has changed since or no longer compiles.

use crate::azure::{show, Azure};
use crate::fake_batch::{Config, Faults, Snapshot};
use std::time::Duration;

#[test]
fn a_resumed_run_points_at_the_lines_it_was_planned_from() {
    let az = Azure::new(Config {
        task_duration: Duration::from_millis(400),
        ..Config::default()
    });
    az.fake.set_faults(Faults {
        failing_tasks: vec![("greet-1".into(), 3)],
        ..Faults::default()
    });
    let file = "examples/hello.batchflow";
    let mut child = az.spawn(&[file]);
    let started = |s: &Snapshot| s.tasks.values().flat_map(|t| t.values()).any(|t| t.state == "running");
    az.wait_for("a running task", started);
    child.kill().expect("kill");
    let _ = child.wait();

    // The file moves its lines down and stops compiling: the run folder's copy still holds
    // the text the plan's spans point into.
    let original = std::fs::read_to_string(az.path().join(file)).expect("the example");
    let changed = format!("# a new header\n# of three\n# lines\n{original}\nthis is not batchflow {{\n");
    std::fs::write(az.path().join(file), changed).expect("edit the workflow");
    assert_eq!(
        std::fs::read_to_string(az.run_dir().join("workflow.batchflow")).expect("the run's copy"),
        original
    );

    let out = az.run(&["--resume"]);
    assert_eq!(out.code, 1, "{}", show(&out));
    assert!(!out.stderr.contains("no longer compiles"), "{}", out.stderr);
    let message = "× task `greet-1` of job `hello` failed: exit code 3";
    let at = out
        .stderr
        .find(message)
        .unwrap_or_else(|| panic!("no `{message}` in:\n{}", out.stderr));
    let next = out.stderr[at..].lines().nth(1).unwrap_or("");
    assert!(
        next.contains("╭─[examples/hello.batchflow:44:8]"),
        "not at the planned line:\n{}",
        out.stderr
    );
    // The excerpt is the planned text, not the changed file's.
    assert!(
        out.stderr.contains(" 44 │   task greet[i in 0..greetings] {"),
        "{}",
        out.stderr
    );
}
