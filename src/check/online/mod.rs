//! The online rules (`check --online`, the pre-flight of `run --target azure`): the workflow
//! against what was read of the Batch account ([`AccountFacts`]): core, pool and job quotas
//! (BF301-BF303), the region's VM sizes (BF304), the account's supported images (BF305), the
//! user's custom images (BF306) and identities (BF307), and what could not be read (BF308).
//! Pure: the facts are gathered by `exec`, so these rules run on facts a test writes by hand.

mod images;
mod quota;
#[cfg(test)]
mod rules_tests;
mod skipped;

use crate::account::{AccountFacts, Wanted};
use crate::diagnostics::{Code, Diagnostic};
use crate::graph::{Image, Pool, Workflow};
use crate::source::Span;
use crate::stdlib::Date;

/// What must be read one by one for `wf`: its custom images and its pools' identities.
pub fn wanted(wf: &Workflow) -> Wanted {
    let mut out = Wanted::default();
    for pool in &wf.pools {
        if let Some(Image::Managed { resource_id } | Image::Gallery { resource_id }) = &pool.image {
            push_once(&mut out.custom_images, resource_id);
        }
        for id in wf.pool_identities(pool) {
            push_once(&mut out.identities, &id);
        }
    }
    out
}

fn push_once(list: &mut Vec<String>, id: &str) {
    if !list.iter().any(|x| x.eq_ignore_ascii_case(id)) {
        list.push(id.to_string());
    }
}

/// Runs the online rules.
pub fn check(wf: &Workflow, facts: &AccountFacts, today: Date) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if wf.pools.is_empty() && wf.jobs.is_empty() {
        return out;
    }
    quota::check(wf, facts, &mut out);
    images::sizes(wf, facts, &mut out);
    images::marketplace(wf, facts, today, &mut out);
    images::custom(wf, facts, &mut out);
    images::identities(wf, facts, &mut out);
    skipped::check(wf, facts, &mut out);
    out
}

/// Drops the offline verdicts the live lists replace: the embedded image table's (BF104,
/// BF105, BF116) for marketplace-image pools once the account's supported images are read,
/// and "unknown VM size" (BF107) for sizes the region offers. The tables stay the answer
/// offline.
pub fn supersede(offline: &mut Vec<Diagnostic>, wf: &Workflow, facts: &AccountFacts) {
    let images_read = facts.images.found().is_some();
    let skus = facts.skus.found();
    offline.retain(|d| {
        let Some(pool) = wf.pools.iter().find(|p| within(d.span, p.span)) else {
            return true;
        };
        let marketplace = matches!(pool.image, Some(Image::Marketplace { .. }));
        match d.code {
            Code::BF104 | Code::BF105 | Code::BF116 => !(images_read && marketplace),
            Code::BF107 => skus.is_none_or(|list| images::offered(list, pool).is_none()),
            _ => true,
        }
    });
}

fn within(inner: Span, outer: Span) -> bool {
    inner.src == outer.src && outer.start <= inner.start && inner.end <= outer.end
}

/// The span of a pool's attribute, or its name.
fn at(pool: &Pool, attr: &str) -> Span {
    pool.attrs.or(attr, pool.name.span)
}
