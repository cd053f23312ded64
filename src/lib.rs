//! batchflow: a compiler for `.batchflow` workflows that run on Azure Batch.
//!
//! The pipeline: [`syntax`] (text to AST) -> [`lower`] (AST to [`graph::Workflow`]) ->
//! [`check`] (rules, diagnostics) -> [`plan`] (Batch REST requests). The front half is pure;
//! [`compile`] is the one place that reads files.

pub mod account;
pub mod ast;
pub mod auth_mode;
pub mod check;
pub mod compile;
pub mod diagnostics;
pub mod exec;
pub mod exit;
pub mod format;
pub mod graph;
pub mod guide;
pub mod hooks;
pub mod image_ref;
pub mod init;
pub mod lower;
pub mod lsp;
pub mod online;
pub mod plan;
pub mod render_graph;
pub mod repo;
pub mod repo_scan;
pub mod secrets;
pub mod settings;
pub mod source;
pub mod stdlib;
pub mod suggest;
pub mod syntax;
pub mod value;

pub use compile::{compile, CompileOptions, Compiled};
