//! The online half of checking and planning: `check --online` and the pre-flight of
//! `run --target azure` (the account's facts read by `exec`, judged by `check::online`), and the
//! cost estimate (prices read by `exec`, computed by `plan::estimate`). The CLI chooses when;
//! this module says how.

use crate::account::{AccountFacts, Wanted};
use crate::check;
use crate::diagnostics::{self, Diagnostic};
use crate::exec::azure::config;
use crate::exec::azure::reach::Reach;
use crate::exec::error::RunError;
use crate::graph::Workflow;
use crate::plan::estimate::{self, Estimate, Prices};
use crate::settings::File;
use crate::stdlib::Date;
use std::collections::HashMap;

/// The target of `batchflow.toml` and the environment, when one is configured (an endpoint is
/// set); `Ok(None)` when none is.
pub fn reach(file: &File, env: &HashMap<String, String>) -> Result<Option<Reach>, RunError> {
    let endpoint_set =
        env.get("AZURE_BATCH_ENDPOINT").is_some_and(|v| !v.trim().is_empty()) || file.target.endpoint.is_some();
    if !endpoint_set {
        return Ok(None);
    }
    let target = config::resolve(file, env)?;
    Reach::new(target, file, env).map(Some)
}

/// What to read for all of `workflows` at once.
pub fn wanted(workflows: &[&Workflow]) -> Wanted {
    let mut all = Wanted::default();
    for wf in workflows {
        let w = check::online::wanted(wf);
        for id in w.custom_images {
            if !all.custom_images.iter().any(|x| x.eq_ignore_ascii_case(&id)) {
                all.custom_images.push(id);
            }
        }
        for id in w.identities {
            if !all.identities.iter().any(|x| x.eq_ignore_ascii_case(&id)) {
                all.identities.push(id);
            }
        }
    }
    all
}

/// Adds the online rules' verdicts on `wf` to its offline diagnostics, dropping the offline
/// ones the account's live lists replace.
pub fn judge(wf: &Workflow, facts: &AccountFacts, today: Date, diags: &mut Vec<Diagnostic>) {
    check::online::supersede(diags, wf, facts);
    diags.extend(check::online::check(wf, facts, today));
    diagnostics::normalize(diags);
}

/// The pre-flight of one workflow: the account read for it, and the online verdicts added to
/// `diags`. Returns what was read (its region prices the estimate).
pub fn preflight(reach: &Reach, wf: &Workflow, today: Date, diags: &mut Vec<Diagnostic>) -> AccountFacts {
    let facts = reach.facts(&wanted(&[wf]));
    judge(wf, &facts, today, diags);
    facts
}

/// The run's cost estimate, with notes on what could not be priced. Without a target, or
/// without its region, every price is unknown.
pub fn estimate(
    reach: Option<&Reach>,
    wf: &Workflow,
    facts: Option<&AccountFacts>,
    offline: bool,
) -> (Estimate, Vec<String>) {
    let sizes = estimate::sizes(wf);
    let Some(reach) = reach else {
        return (estimate::estimate(wf, &Prices::new("USD")), Vec::new());
    };
    let (prices, notes) = match reach.region(facts, offline) {
        Ok(region) => reach.prices(&region, &sizes, offline),
        Err(why) => (Prices::new("USD"), vec![format!("no prices: {why}")]),
    };
    (estimate::estimate(wf, &prices), notes)
}

/// `--budget`: refuses an upper bound above `budget`, or an unknown one unless `unknown_ok`.
pub fn within_budget(e: &Estimate, budget: f64, unknown_ok: bool) -> Result<(), RunError> {
    match e.upper_bound {
        Some(bound) if bound > budget => Err(RunError::Refused(format!(
            "the run may cost up to {bound:.2} {}, above --budget {budget:.2}: lower the node counts or the job's `max_wall_clock`, or raise the budget",
            e.currency
        ))),
        None if !unknown_ok => Err(RunError::Refused(format!(
            "the run's cost is unknown (a price, a node count or its hours is not known), so --budget {budget:.2} cannot be kept: give the job a `max_wall_clock` and fixed node counts, or add --budget-unknown-ok"
        ))),
        _ => Ok(()),
    }
}
