//! Integration tests: they run the real `batchflow` binary on fixture files.

mod support;

mod cli;
mod examples;
mod plan_schema;
mod rules;
mod stdlib;
