//! Every file in `examples/` checks without errors and plans.

use crate::support::{examples, Test};

#[test]
fn there_are_at_least_eight_examples() {
    assert!(examples().len() >= 8, "{:?}", examples());
}

#[test]
fn every_example_checks_without_errors_or_warnings() {
    for file in examples() {
        Test::project()
            .args(["check", "--deny-warnings", "--format", "json", &file])
            .success();
    }
}

#[test]
fn every_example_plans() {
    for file in examples() {
        let out = Test::project().args(["plan", "--format", "json", &file]).success();
        let plan: serde_json::Value = serde_json::from_str(&out.stdout).expect("plan JSON");
        assert!(!plan["steps"].as_array().expect("steps").is_empty(), "{file}");
    }
}

#[test]
fn checking_the_folder_checks_every_example() {
    Test::project()
        .args(["check", "examples/"])
        .stderr_contains(format!("checked {} files", examples().len()))
        .success();
}
