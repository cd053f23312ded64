//! Integration tests: they run the real `batchflow` binary on fixture files.

mod support;

mod cli;
mod examples;
mod no_panic;
mod plan_schema;
mod resume;
mod rules;
mod run;
mod stdlib;
