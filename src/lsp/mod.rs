//! `batchflow lsp`: a language server for `.batchflow` files. The analysis is the compiler's
//! own (`compile_text`, the rule pages, the stdlib tables, `format`); what is new here is
//! finding things by position and answering in the protocol's terms. The stdio loop
//! ([`server`], [`session`]) is thin; the rest are functions of an [`analysis::Analysis`] or
//! of the text being typed ([`context`], for completion mid-edit).
//!
//! The language server never runs a workflow: it does not import `exec`.

mod actions;
pub mod analysis;
mod completion;
mod context;
mod facts;
mod find;
mod handlers;
mod hover;
mod images;
pub mod lines;
mod navigate;
mod publish;
mod rhai;
mod scan;
mod server;
mod session;
mod symbols;
pub mod uri;

pub use server::{run_stdio, serve};
