//! The rules of `shared/design/rules.md`, one family per file. The checker reads the
//! lowered workflow and the stdlib tables and does no I/O: the auth mode and today's date
//! come in through [`Context`].

pub mod autoscale;
mod command_line;
mod commands;
mod container_images;
mod containers;
mod custom_images;
mod cycles;
pub mod docs;
mod identities;
mod images;
mod jobs;
mod mounts;
mod mpi;
pub mod online;
mod outputs;
mod pools;
mod retirement;
mod run_options;
mod runnables;
mod staging;
mod structure;
mod tasks;

use crate::auth_mode::AuthMode;
use crate::diagnostics::Diagnostic;
use crate::graph::Workflow;
use crate::stdlib::Date;

/// What the checker knows about the world.
#[derive(Clone, Debug)]
pub struct Context {
    /// `None` when no target is configured: BF112 cannot be decided and stays quiet.
    pub auth: Option<AuthMode>,
    /// Retirement dates are compared with this day.
    pub today: Date,
    /// What the workflow's repository inputs stand for on disk.
    pub repo: std::sync::Arc<crate::repo::RepoFacts>,
    /// The storage container, when a storage account is configured.
    pub storage: Option<String>,
}

/// Sizes, images and agents retiring within this many days are reported too (BF116, BF120).
pub const RETIREMENT_NOTICE_DAYS: u32 = 180;

/// Runs every rule over a lowered workflow.
pub fn check(wf: &Workflow, ctx: &Context) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    structure::check(wf, &mut out);
    cycles::check(wf, &mut out);
    images::check(wf, ctx, &mut out);
    custom_images::check(wf, ctx, &mut out);
    identities::check(wf, ctx, &mut out);
    retirement::check(wf, ctx, &mut out);
    pools::check(wf, &mut out);
    autoscale::check(wf, &mut out);
    containers::check(wf, &mut out);
    jobs::check(wf, &mut out);
    container_images::check(wf, &mut out);
    run_options::check(wf, &mut out);
    tasks::check(wf, &mut out);
    mpi::check(wf, &mut out);
    mounts::check(wf, &mut out);
    commands::check(wf, &mut out);
    outputs::check(wf, &mut out);
    staging::check(wf, ctx, &mut out);
    out
}
