//! `run FILE --rerun-failed [RUN]`: which earlier run, with which parameters, and what of it
//! runs again (the library's `exec::rerun` decides); nothing failed is said, with exit 0.

use super::eprint_line;
use batchflow::exec::error::RunError;
use batchflow::exec::rerun::{self, Rerun};
use batchflow::exec::state::RunState;
use batchflow::exit;
use batchflow::plan::Plan;
use std::path::Path;

/// What `run` was given that a rerun looks at.
pub struct Asked<'a> {
    /// `--rerun-failed [RUN]`.
    pub which: Option<&'a str>,
    pub resume: bool,
    pub file: Option<&'a Path>,
    /// `--target azure`.
    pub azure: bool,
}

/// The run `--rerun-failed` names, read; `None` without the option.
pub fn earlier(root: &Path, asked: Asked<'_>) -> Result<Option<RunState>, RunError> {
    let Some(which) = asked.which else {
        return Ok(None);
    };
    if asked.resume {
        return Err(RunError::Refused(
            "--rerun-failed does not apply to this run: `--resume` continues a run, `--rerun-failed` starts a new one of what failed; give one of them".into(),
        ));
    }
    let file = asked.file.ok_or_else(|| {
        RunError::Refused("--rerun-failed needs the workflow file: `batchflow run FILE --rerun-failed [RUN]`".into())
    })?;
    let st = rerun::earlier(root, which, file)?;
    if asked.azure && st.target == "local" {
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

/// The parameters a rerun of `earlier` takes when `given` is empty: the earlier run's.
/// Others given are used, with a note that the tasks that succeeded are still taken.
pub fn params(earlier: &RunState, given: &[String]) -> Option<Vec<String>> {
    if given.is_empty() {
        return Some(earlier.params.clone());
    }
    if given != earlier.params.as_slice() {
        let before = if earlier.params.is_empty() {
            "none".to_string()
        } else {
            earlier.params.join(" ")
        };
        eprint_line(&format!(
            "note: these parameters differ from run `{}`'s ({before}); its succeeded tasks are still taken as they are: start a new run without --rerun-failed to run them all",
            earlier.run_id
        ));
    }
    None
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
