//! Integration tests: they run the real `batchflow` binary on fixture files.

mod support;

mod architecture;
mod autoscale;
mod azure;
mod azure_resume;
mod azure_versions;
mod azurite;
mod azurite_tests;
mod cases;
mod cli;
mod examples;
mod fake_arm;
mod fake_batch;
mod fake_batch_tests;
mod local_repo;
mod no_panic;
mod online;
mod plan_schema;
mod resume;
mod retired_sizes;
mod rule_messages;
mod rules;
mod run;
mod run_commands;
mod run_nodes;
mod schema;
mod schema_tests;
mod stdlib;
