//! Quotas (BF301-BF303): the cores the workflow's pools need (nodes × vCPUs, an autoscale pool
//! by the maximum its formula states), per VM family when the account enforces per-family
//! dedicated quotas and in all, dedicated and low-priority apart, against each quota minus what
//! the account's pools use now; the pool quota; the active job quota. A pool of the account with
//! the id of one of the workflow's is not counted twice: the run uses it (or stops on it).

use super::at;
use crate::account::{AccountFacts, ExistingPool, Quotas, Sku};
use crate::diagnostics::{Code, Diagnostic};
use crate::graph::{Pool, Workflow};
use crate::stdlib::{self, facts::node_counts};

pub fn check(wf: &Workflow, facts: &AccountFacts, out: &mut Vec<Diagnostic>) {
    let Some(account) = facts.account.found() else {
        return;
    };
    let q = &account.quotas;
    let skus = facts.skus.found().map(Vec::as_slice).unwrap_or(&[]);
    let existing: Vec<&ExistingPool> = facts
        .pools
        .found()
        .map(|all| {
            all.iter()
                .filter(|e| !wf.pools.iter().any(|p| p.name.value.eq_ignore_ascii_case(&e.id)))
                .collect()
        })
        .unwrap_or_default();
    let needs: Vec<Need> = wf.pools.iter().filter_map(|p| need(p, skus)).collect();
    // "The Azure Batch cores quotas do not apply to an account created in this mode."
    if !q.user_subscription {
        cores(&needs, &existing, q, skus, out);
    }
    pool_quota(wf, facts, q, out);
    job_quota(wf, facts, q, out);
}

/// What one pool of the workflow asks for.
struct Need<'a> {
    pool: &'a Pool,
    family: Option<String>,
    vcpus: u32,
    dedicated: u32,
    low_priority: u32,
}

fn vcpus(size: &str, skus: &[Sku]) -> Option<u32> {
    skus.iter()
        .find(|s| s.name.eq_ignore_ascii_case(size))
        .and_then(|s| s.vcpus)
        .or_else(|| stdlib::vm_size(size).map(|s| s.vcpus))
}

fn family(size: &str, skus: &[Sku]) -> Option<String> {
    skus.iter()
        .find(|s| s.name.eq_ignore_ascii_case(size))
        .map(|s| s.family.clone())
        .filter(|f| !f.is_empty())
}

fn need<'a>(pool: &'a Pool, skus: &[Sku]) -> Option<Need<'a>> {
    let size = pool.vm_size.as_deref()?;
    let counts = node_counts(pool);
    Some(Need {
        pool,
        family: family(size, skus),
        vcpus: vcpus(size, skus)?,
        dedicated: counts.dedicated.unwrap_or(0),
        low_priority: counts.low_priority.unwrap_or(0),
    })
}

/// Cores in use now: (dedicated, low-priority), over `existing` pools of `in_family` (all
/// when `None`).
fn in_use(existing: &[&ExistingPool], skus: &[Sku], in_family: Option<&str>) -> (u64, u64) {
    let (mut dedicated, mut low) = (0u64, 0u64);
    for e in existing {
        if in_family.is_some_and(|f| family(&e.vm_size, skus).as_deref() != Some(f)) {
            continue;
        }
        let v = u64::from(vcpus(&e.vm_size, skus).unwrap_or(0));
        dedicated += v * u64::from(e.dedicated_nodes);
        low += v * u64::from(e.low_priority_nodes);
    }
    (dedicated, low)
}

fn cores(needs: &[Need<'_>], existing: &[&ExistingPool], q: &Quotas, skus: &[Sku], out: &mut Vec<Diagnostic>) {
    let mut reported_family = false;
    if q.per_family_enforced {
        let mut families: Vec<&str> = needs.iter().filter_map(|n| n.family.as_deref()).collect();
        families.sort_unstable();
        families.dedup();
        for fam in families {
            let members: Vec<&Need<'_>> = needs.iter().filter(|n| n.family.as_deref() == Some(fam)).collect();
            let quota = q
                .per_family
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(fam))
                .map_or(0, |(_, c)| *c);
            let used = in_use(existing, skus, Some(fam)).0;
            let what = format!("dedicated cores of family `{fam}`");
            reported_family |= over(&members, Kind::Dedicated, u64::from(quota), used, &what, Some(fam), out);
        }
    }
    let all: Vec<&Need<'_>> = needs.iter().collect();
    let (used_dedicated, used_low) = in_use(existing, skus, None);
    if let (Some(quota), false) = (q.dedicated_cores, reported_family) {
        over(
            &all,
            Kind::Dedicated,
            u64::from(quota),
            used_dedicated,
            "dedicated cores",
            None,
            out,
        );
    }
    if let Some(quota) = q.low_priority_cores {
        over(
            &all,
            Kind::LowPriority,
            u64::from(quota),
            used_low,
            "low-priority cores",
            None,
            out,
        );
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dedicated,
    LowPriority,
}

/// Reports each pool of `members` when together they need more of `what` than the quota
/// leaves; whether it reported.
fn over(
    members: &[&Need<'_>],
    kind: Kind,
    quota: u64,
    used: u64,
    what: &str,
    family: Option<&str>,
    out: &mut Vec<Diagnostic>,
) -> bool {
    let nodes = |n: &Need<'_>| match kind {
        Kind::Dedicated => n.dedicated,
        Kind::LowPriority => n.low_priority,
    };
    let asking: Vec<&&Need<'_>> = members.iter().filter(|n| nodes(n) > 0).collect();
    let total: u64 = asking.iter().map(|n| u64::from(nodes(n)) * u64::from(n.vcpus)).sum();
    let free = quota.saturating_sub(used);
    if total <= free {
        return false;
    }
    let attr = match kind {
        Kind::Dedicated => "dedicated",
        Kind::LowPriority => "low_priority",
    };
    for n in asking {
        let mine = u64::from(nodes(n)) * u64::from(n.vcpus);
        let together = if mine == total {
            String::new()
        } else {
            format!(" ({total} with the workflow's other pools)")
        };
        let message = format!(
            "pool `{}` needs {mine} {what} ({} nodes × {} vCPUs){together}, and the account has {free} free: its quota is {quota}, its pools use {used}",
            n.pool.name.value,
            nodes(n),
            n.vcpus
        );
        let fits = free / u64::from(n.vcpus.max(1));
        let ask = match (kind, family) {
            (Kind::Dedicated, Some(f)) => format!("a dedicated core quota increase for family `{f}`"),
            (Kind::Dedicated, None) => "a dedicated core quota increase".to_string(),
            (Kind::LowPriority, _) => "a low-priority (spot) core quota increase".to_string(),
        };
        let span = if n.pool.autoscale.is_some() {
            at(n.pool, "autoscale")
        } else {
            at(n.pool, attr)
        };
        out.push(
            Diagnostic::new(Code::BF301, span, message).with_help(format!(
                "request {ask} of at least {} cores (Azure portal: the Batch account → Quotas → Request quota increase), or lower `{attr}` to what fits ({fits} node{} now)",
                total.saturating_sub(free),
                if fits == 1 { "" } else { "s" }
            )),
        );
    }
    true
}

fn pool_quota(wf: &Workflow, facts: &AccountFacts, q: &Quotas, out: &mut Vec<Diagnostic>) {
    let (Some(quota), Some(all)) = (q.pools, facts.pools.found()) else {
        return;
    };
    let new: Vec<&Pool> = wf
        .pools
        .iter()
        .filter(|p| !all.iter().any(|e| e.id.eq_ignore_ascii_case(&p.name.value)))
        .collect();
    let have = all.len();
    let Some(first_over) = new.get((quota as usize).saturating_sub(have)) else {
        return;
    };
    out.push(
        Diagnostic::new(
            Code::BF302,
            first_over.name.span,
            format!(
                "the account has {have} pools of its quota of {quota}, and this workflow adds {}: pool `{}` would be one too many",
                new.len(),
                first_over.name.value
            ),
        )
        .with_help("delete pools the account no longer needs (`az batch pool list`), or request a pool quota increase (Azure portal: the Batch account → Quotas)"),
    );
}

fn job_quota(wf: &Workflow, facts: &AccountFacts, q: &Quotas, out: &mut Vec<Diagnostic>) {
    let (Some(quota), Some(active)) = (q.active_jobs, facts.active_jobs.found()) else {
        return;
    };
    let Some(first_over) = wf.jobs.get((quota as usize).saturating_sub(*active as usize)) else {
        return;
    };
    out.push(
        Diagnostic::new(
            Code::BF303,
            first_over.name.span,
            format!(
                "the account has {active} active jobs and job schedules of its quota of {quota}, and this workflow adds {}: job `{}` would be one too many",
                wf.jobs.len(),
                first_over.name.value
            ),
        )
        .with_help("terminate or delete jobs the account no longer needs (`az batch job list --filter \"state eq 'active'\"`), or request an active job quota increase (Azure portal: the Batch account → Quotas)"),
    );
}
