//! What the account and its region offer: VM sizes (BF304), marketplace images and node agents
//! in the account's supported-images list (BF305), and the user's own resources: custom images
//! replicated to the region (BF306), user-assigned identities (BF307).

use super::at;
use crate::account::{region_key, AccountFacts, Lookup, Sku, SupportedImage};
use crate::check::RETIREMENT_NOTICE_DAYS;
use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::graph::{Image, Pool, Workflow};
use crate::stdlib::facts::effective_node_agent;
use crate::stdlib::Date;
use crate::suggest::did_you_mean;

/// The region's row for the pool's VM size.
pub fn offered<'s>(skus: &'s [Sku], pool: &Pool) -> Option<&'s Sku> {
    let size = pool.vm_size.as_deref()?;
    skus.iter().find(|s| s.name.eq_ignore_ascii_case(size))
}

fn region(facts: &AccountFacts) -> String {
    facts
        .account
        .found()
        .map_or_else(|| "the account's region".to_string(), |a| format!("`{}`", a.region))
}

pub fn sizes(wf: &Workflow, facts: &AccountFacts, out: &mut Vec<Diagnostic>) {
    let Some(skus) = facts.skus.found() else { return };
    let region = region(facts);
    for pool in &wf.pools {
        let Some(size) = pool.vm_size.as_deref() else { continue };
        match offered(skus, pool) {
            None => {
                let names = skus.iter().map(|s| s.name.as_str());
                let hint = did_you_mean(size, names).map_or_else(String::new, |h| format!("{h} "));
                out.push(
                    Diagnostic::new(
                        Code::BF304,
                        at(pool, "vm_size"),
                        format!("VM size `{size}` is not offered for Batch pools in {region}, the account's region"),
                    )
                    .with_help(format!(
                        "{hint}pick a size the region offers (`az batch location list-skus --location REGION`), or use a Batch account in a region that has `{size}`"
                    )),
                );
            }
            Some(sku) if sku.low_priority == Some(false) && pool.low_priority.unwrap_or(0) > 0 => {
                out.push(
                    Diagnostic::new(
                        Code::BF304,
                        at(pool, "low_priority"),
                        format!("VM size `{}` has no low-priority (spot) nodes in {region}", sku.name),
                    )
                    .with_help(
                        "use dedicated nodes for this size, or a size whose `LowPriorityCapable` is true in the region",
                    ),
                );
            }
            Some(_) => {}
        }
    }
}

fn same(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

pub fn marketplace(wf: &Workflow, facts: &AccountFacts, today: Date, out: &mut Vec<Diagnostic>) {
    let Some(list) = facts.images.found() else { return };
    for pool in &wf.pools {
        let Some(Image::Marketplace {
            publisher, offer, sku, ..
        }) = &pool.image
        else {
            continue;
        };
        let name = format!("{publisher}/{offer}/{sku}");
        let span = at(pool, "image");
        let rows: Vec<&SupportedImage> = list
            .iter()
            .filter(|r| same(&r.publisher, publisher) && same(&r.offer, offer) && same(&r.sku, sku))
            .collect();
        if rows.is_empty() {
            let skus = list
                .iter()
                .filter(|r| same(&r.publisher, publisher) && same(&r.offer, offer))
                .map(|r| r.sku.as_str());
            let hint = did_you_mean(sku, skus).map_or_else(String::new, |h| format!("{h} "));
            out.push(
                Diagnostic::new(
                    Code::BF305,
                    span,
                    format!("image `{name}` is not in the Batch account's list of supported images"),
                )
                .with_help(format!(
                    "{hint}pick an image the account lists (`az batch pool supported-images list`) with its node agent"
                )),
            );
            continue;
        }
        let agent = effective_node_agent(pool).unwrap_or_default();
        let Some(row) = rows.iter().find(|r| same(&r.node_agent, &agent)) else {
            let agents: Vec<String> = rows.iter().map(|r| format!("`{}`", r.node_agent)).collect();
            out.push(
                Diagnostic::new(
                    Code::BF305,
                    at(pool, "node_agent"),
                    format!(
                        "image `{name}` is supported with node agent {}, not `{agent}`",
                        agents.join(" or ")
                    ),
                )
                .with_help(format!("set `node_agent = \"{}\"`", rows[0].node_agent)),
            );
            continue;
        };
        if let Some(d) = end_of_life(row, &name, span, today) {
            out.push(d);
            continue;
        }
        let docker = row.capabilities.iter().any(|c| same(c, "DockerCompatible"));
        if pool.containers.is_some() && !docker {
            out.push(
                Diagnostic::new(
                    Code::BF305,
                    span,
                    format!("image `{name}` has no `DockerCompatible` capability in the account's list, and the pool runs containers"),
                )
                .with_help("use a container-ready image, such as marketplace(\"microsoft-dsvm\", \"ubuntu-hpc\", \"2404\") with `node_agent = \"batch.node.ubuntu 24.04\"`"),
            );
        } else if same(&row.verification, "unverified") {
            out.push(
                Diagnostic::new(
                    Code::BF305,
                    span,
                    format!("image `{name}` is unverified: Batch does not test it with node agent `{agent}`"),
                )
                .with_severity(Severity::Info)
                .with_help("prefer a verified image from `az batch pool supported-images list`, or test the pool before a large run"),
            );
        }
    }
}

/// The image's Batch end of support: passed (an error) or within the notice period (a warning).
fn end_of_life(row: &SupportedImage, name: &str, span: crate::source::Span, today: Date) -> Option<Diagnostic> {
    let date = Date::parse(row.end_of_life.as_deref()?)?;
    let (severity, message) = if date <= today {
        (
            Severity::Error,
            format!(
                "image `{name}` reached the end of its Batch support on {date}: Batch no longer creates pools with it"
            ),
        )
    } else if date <= today.plus_days(RETIREMENT_NOTICE_DAYS) {
        (
            Severity::Warning,
            format!("image `{name}` reaches the end of its Batch support on {date}"),
        )
    } else {
        return None;
    };
    Some(
        Diagnostic::new(Code::BF305, span, message)
            .with_severity(severity)
            .with_help("move to a newer image from `az batch pool supported-images list`, such as marketplace(\"microsoft-dsvm\", \"ubuntu-hpc\", \"2404\")"),
    )
}

pub fn custom(wf: &Workflow, facts: &AccountFacts, out: &mut Vec<Diagnostic>) {
    let region = facts.account.found().map(|a| a.region.clone());
    for pool in &wf.pools {
        let Some(Image::Managed { resource_id } | Image::Gallery { resource_id }) = &pool.image else {
            continue;
        };
        let span = at(pool, "image");
        match facts.custom_images.get(&resource_id.to_ascii_lowercase()) {
            Some(Lookup::Missing) => out.push(
                Diagnostic::new(
                    Code::BF306,
                    span,
                    format!("image `{resource_id}` does not exist (or the gallery image has no version)"),
                )
                .with_help("check the resource id (`az sig image-version list`, `az image list`) and that the identity batchflow signs in with can read it"),
            ),
            Some(Lookup::Found(image)) => {
                let Some(region) = &region else { continue };
                if !image.regions.contains(&region_key(region)) {
                    out.push(
                        Diagnostic::new(
                            Code::BF306,
                            span,
                            format!("image `{resource_id}` is not replicated to `{region}`, the Batch account's region"),
                        )
                        .with_help(format!(
                            "replicate the image version to `{region}` (`az sig image-version update … --add publishingProfile.targetRegions name={region}`), or use a Batch account in a region that has it"
                        )),
                    );
                }
            }
            _ => {}
        }
    }
}

pub fn identities(wf: &Workflow, facts: &AccountFacts, out: &mut Vec<Diagnostic>) {
    for registry in &wf.registries {
        let Some(id) = &registry.identity else { continue };
        if let Some(Lookup::Missing) = facts.identities.get(&id.to_ascii_lowercase()) {
            out.push(
                Diagnostic::new(
                    Code::BF307,
                    registry.attrs.or("identity", registry.name.span),
                    format!("user-assigned identity `{id}` does not exist"),
                )
                .with_help("check the resource id (`az identity list`), or create the identity (`az identity create`) and give it the AcrPull role on the registry"),
            );
        }
    }
}
