//! BF308: what could not be read is reported as not checked, never as passed: one warning per
//! part of the account (quotas and VM sizes, supported images, active jobs), and one at each
//! custom image or identity that could not be read, each with the reason.

use super::at;
use crate::account::{AccountFacts, Lookup, NEEDS_ENTRA, NEEDS_READER};
use crate::diagnostics::{Code, Diagnostic};
use crate::graph::{Image, Workflow};
use crate::source::Span;

fn why<T>(l: &Lookup<T>) -> Option<&str> {
    match l {
        Lookup::NotChecked(why) => Some(why),
        _ => None,
    }
}

fn help(why: &str) -> String {
    if why == NEEDS_READER || why.starts_with("needs Reader") {
        "ask for the Reader role on the Batch account (Azure portal: the account → Access control (IAM) → Add role assignment), then check again".into()
    } else if why == NEEDS_ENTRA {
        "sign in with Microsoft Entra ID (`az login`, a managed identity or a service principal) and unset AZURE_BATCH_ACCESS_KEY to have these checked".into()
    } else {
        "check the connection and the credentials, then run `batchflow check --online` again".into()
    }
}

fn skipped(span: Span, what: &str, why: &str) -> Diagnostic {
    Diagnostic::new(Code::BF308, span, format!("not checked: {what} ({why})")).with_help(help(why))
}

pub fn check(wf: &Workflow, facts: &AccountFacts, out: &mut Vec<Diagnostic>) {
    let first = wf
        .pools
        .first()
        .map(|p| p.name.span)
        .or_else(|| wf.jobs.first().map(|j| j.name.span));
    if let Some(span) = first.filter(|_| !wf.pools.is_empty()) {
        // Without the account, nothing of it was read: one warning says so.
        if let Some(w) = why(&facts.account) {
            out.push(skipped(span, "the core and pool quotas and the region's VM sizes", w));
        } else {
            if let Some(w) = why(&facts.pools) {
                out.push(skipped(span, "the cores and pools the account uses now", w));
            }
            if let Some(w) = why(&facts.skus) {
                out.push(skipped(span, "the VM sizes of the account's region", w));
            }
        }
        let marketplace = wf
            .pools
            .iter()
            .any(|p| matches!(p.image, Some(Image::Marketplace { .. })));
        if let (true, Some(w)) = (marketplace, why(&facts.images)) {
            out.push(skipped(span, "the images the account supports", w));
        }
    }
    if let (Some(job), Some(w), true) = (
        wf.jobs.first(),
        why(&facts.active_jobs),
        facts.account.found().is_some(),
    ) {
        out.push(skipped(job.name.span, "the active job quota", w));
    }
    for pool in &wf.pools {
        if let Some(Image::Managed { resource_id } | Image::Gallery { resource_id }) = &pool.image {
            if let Some(w) = facts.custom_images.get(&resource_id.to_ascii_lowercase()).and_then(why) {
                out.push(skipped(at(pool, "image"), &format!("image `{resource_id}`"), w));
            }
        }
    }
    for registry in &wf.registries {
        let Some(id) = &registry.identity else { continue };
        if let Some(w) = facts.identities.get(&id.to_ascii_lowercase()).and_then(why) {
            out.push(skipped(
                registry.attrs.or("identity", registry.name.span),
                &format!("identity `{id}`"),
                w,
            ));
        }
    }
}
