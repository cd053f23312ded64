//! `run FILE --rerun-failed [RUN]`: which earlier run, with which parameters, and what of it
//! runs again (the library's `exec::rerun` decides); nothing failed is said, with exit 0.

use super::eprint_line;
use super::run::RunArgs;
use batchflow::exec::error::RunError;
use batchflow::exec::rerun::{self, Rerun};
use batchflow::exec::state::RunState;
use batchflow::exit;
use batchflow::plan::Plan;
use std::path::Path;

/// The run `--rerun-failed` names, read; `None` without the option.
pub fn earlier(root: &Path, args: &RunArgs) -> Result<Option<RunState>, RunError> {
    let Some(which) = &args.rerun_failed else {
        return Ok(None);
    };
    if args.resume.is_some() {
        return Err(RunError::Refused(
            "--rerun-failed does not apply to this run: `--resume` continues a run, `--rerun-failed` starts a new one of what failed; give one of them".into(),
        ));
    }
    let file = args.file.as_deref().ok_or_else(|| {
        RunError::Refused("--rerun-failed needs the workflow file: `batchflow run FILE --rerun-failed [RUN]`".into())
    })?;
    let st = rerun::earlier(root, which, file)?;
    if args.azure && st.target == "local" {
        return Err(RunError::Refused(format!(
            "run `{}` ran on this machine, and a rerun goes where its run went (its outputs are there): drop `--target azure`, or start a full run there",
            st.run_id
        )));
    }
    if st.target != "local" && matches!(st.status_text(), "stopped" | "interrupted") {
        eprint_line(&format!(
            "note: run `{}` did not end: its pools and jobs may still be on Batch; the rerun makes jobs of its own (end the old ones with `batchflow cancel {}`)",
            st.run_id, st.run_id
        ));
    }
    Ok(Some(st))
}

/// The arguments a rerun runs with: the earlier run's parameters unless others are given.
pub fn args_for(args: &RunArgs, earlier: &RunState) -> RunArgs {
    let mut out = args.clone();
    if out.params.is_empty() {
        out.params.clone_from(&earlier.params);
    }
    out
}

/// What runs again, said; nothing to run again is said too, and ends the command with exit 0
/// before a run is made.
pub fn select(plan: &Plan, earlier: &RunState, quiet: bool) -> Result<Rerun, u8> {
    let r = rerun::select(plan, earlier);
    if r.again == 0 {
        eprint_line(&format!(
            "nothing to rerun: every task of run `{}` succeeded ({} tasks); no run was started",
            earlier.run_id,
            r.tasks.len()
        ));
        return Err(exit::OK);
    }
    if !quiet {
        eprint_line(&format!(
            "rerunning run `{}`: {} task{} that did not succeed there and what depends on them; {} succeeded task{} taken as {} (outputs where that run left them)",
            earlier.run_id,
            r.again,
            plural(r.again),
            r.reused(),
            plural(r.reused()),
            if r.reused() == 1 { "it is" } else { "they are" },
        ));
    }
    Ok(r)
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
