//! The rules of `shared/design/rules.md`, one family per file. The checker reads the
//! lowered workflow and the stdlib tables and does no I/O: the auth mode and today's date
//! come in through [`Context`].

mod command_line;
mod commands;
mod container_images;
mod containers;
mod cycles;
mod docker_ref;
pub mod docs;
mod facts;
mod images;
mod outputs;
mod pools;
mod run_options;
mod runnables;
mod structure;
mod tasks;

use crate::diagnostics::Diagnostic;
use crate::graph::Workflow;
use crate::stdlib::Date;

pub use docker_ref::ImageRef;
pub use facts::{effective_node_agent, pool_os};

/// How the target authenticates (BF112: custom images need Microsoft Entra ID).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    SharedKey,
    EntraId,
}

/// What the checker knows about the world.
#[derive(Clone, Debug)]
pub struct Context {
    /// `None` when no target is configured: BF112 cannot be decided and stays quiet.
    pub auth: Option<Auth>,
    /// Retirement dates are compared with this day.
    pub today: Date,
}

/// Images and agents retiring within this many days are reported too (BF116).
pub const RETIREMENT_NOTICE_DAYS: u32 = 180;

/// Runs every rule over a lowered workflow.
pub fn check(wf: &Workflow, ctx: &Context) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    structure::check(wf, &mut out);
    cycles::check(wf, &mut out);
    images::check(wf, ctx, &mut out);
    pools::check(wf, ctx, &mut out);
    containers::check(wf, &mut out);
    container_images::check(wf, &mut out);
    run_options::check(wf, &mut out);
    tasks::check(wf, &mut out);
    commands::check(wf, &mut out);
    outputs::check(wf, &mut out);
    out
}
