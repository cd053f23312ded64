//! Custom-image pools: the managed-image node limits (BF110), resize timeouts (BF111) and
//! Entra ID auth (BF112).
//!
//! The hard node limits belong to managed images only (batch-quota-limit.md, "Compute nodes in
//! pool created with a managed image resource"); a Compute Gallery image has no fixed cap, only
//! the gallery guidance of one replica per 300 nodes and 15 minutes of resize timeout per
//! 1,000 nodes (batch-sig-images.md, "Considerations for large pools").

use super::Context;
use crate::auth_mode::AuthMode;
use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::graph::{Image, Pool, Workflow};
use crate::value::{format_count, format_duration};
use std::collections::BTreeMap;

/// batch-quota-limit.md: "Dedicated nodes | 2000", "Spot nodes | 1000" for managed-image pools.
const MANAGED_MAX_DEDICATED: u64 = 2_000;
const MANAGED_MAX_LOW_PRIORITY: u64 = 1_000;
/// The custom-image seed: "resizeTimeout ... 20~30 minutes" for fixed-size managed-image pools.
const MANAGED_RESIZE_TIMEOUT: u64 = 20 * 60;
/// batch-sig-images.md: "For every 1,000 VMs, the recommended resize timeout is at least 15 minutes".
const GALLERY_RESIZE_PER_THOUSAND: u64 = 15 * 60;
const DEFAULT_RESIZE_TIMEOUT: u64 = 15 * 60;
/// Both articles: above 300 nodes a pool may need several resizes (or one more replica per 300).
const LARGE_POOL: u64 = 300;

pub fn check(wf: &Workflow, ctx: &Context, out: &mut Vec<Diagnostic>) {
    managed_image_limits(wf, out);
    for pool in &wf.pools {
        custom_image(pool, ctx, out);
    }
}

/// BF110 across pools: every pool built from one managed image counts against its limits.
fn managed_image_limits(wf: &Workflow, out: &mut Vec<Diagnostic>) {
    let mut groups: BTreeMap<String, Vec<&Pool>> = BTreeMap::new();
    for pool in &wf.pools {
        if let Some(image @ Image::Managed { .. }) = &pool.image {
            if let Some(key) = image.custom_key() {
                groups.entry(key).or_default().push(pool);
            }
        }
    }
    for pools in groups.values() {
        let dedicated: u64 = pools.iter().map(|p| u64::from(p.dedicated.unwrap_or(0))).sum();
        let low: u64 = pools.iter().map(|p| u64::from(p.low_priority.unwrap_or(0))).sum();
        let Some(first) = pools.first() else { continue };
        let shared = pools.len() > 1;
        let across = if shared {
            format!(" across the {} pools that share this image", pools.len())
        } else {
            String::new()
        };
        let mut over = Vec::new();
        if dedicated > MANAGED_MAX_DEDICATED {
            over.push(format!(
                "{} dedicated nodes (limit {})",
                format_count(dedicated),
                format_count(MANAGED_MAX_DEDICATED)
            ));
        }
        if low > MANAGED_MAX_LOW_PRIORITY {
            over.push(format!(
                "{} low-priority nodes (limit {})",
                format_count(low),
                format_count(MANAGED_MAX_LOW_PRIORITY)
            ));
        }
        let mut others = pools.iter().skip(1);
        if !over.is_empty() {
            let mut d = Diagnostic::new(Code::BF110, first.attrs.or("dedicated", first.name.span), format!("a managed image serves {}{across}", over.join(" and ")))
                .with_help("Batch caps pools from one managed image at 2,000 dedicated or 1,000 low-priority (Spot) nodes: move the image into an Azure Compute Gallery (`gallery_image(\"...\")`), which has no such cap");
            for p in others.by_ref() {
                d = d.with_label(p.name.span, "also uses this image");
            }
            out.push(d);
        } else if shared {
            let mut d = Diagnostic::new(Code::BF110, first.attrs.or("image", first.name.span), format!("{} pools share one managed image", pools.len()))
                .with_severity(Severity::Warning)
                .with_help("the custom-image article advises one managed image per pool: their node counts add up against the image's limits");
            for p in others {
                d = d.with_label(p.attrs.or("image", p.name.span), "same image");
            }
            out.push(d);
        }
    }
}

fn custom_image(pool: &Pool, ctx: &Context, out: &mut Vec<Diagnostic>) {
    let Some(image) = pool.image.as_ref().filter(|i| i.is_custom()) else {
        return;
    };
    let image_span = pool.attrs.or("image", pool.name.span);
    if ctx.auth == Some(AuthMode::SharedKey) {
        out.push(
            Diagnostic::new(Code::BF112, image_span, "a custom-image pool, but the target authenticates with a shared key")
                .with_help("custom images need Microsoft Entra ID auth: unset `AZURE_BATCH_ACCESS_KEY` and sign in (`az login`, a managed identity or a service principal)"),
        );
    }
    if pool.autoscale.is_some() {
        return;
    }
    let nodes = pool.target_nodes();
    let gallery = matches!(image, Image::Gallery { .. });
    let want = if gallery {
        GALLERY_RESIZE_PER_THOUSAND * nodes.div_ceil(1_000).max(1)
    } else {
        MANAGED_RESIZE_TIMEOUT
    };
    let timeout = pool.resize_timeout.unwrap_or(DEFAULT_RESIZE_TIMEOUT);
    if timeout < want {
        let given = if pool.resize_timeout.is_some() {
            format_duration(timeout)
        } else {
            "the default 15m".into()
        };
        let (what, help) = if gallery {
            (
                format!(
                    "a fixed-size pool of {} nodes from a Compute Gallery image with a resize timeout of {given}",
                    format_count(nodes)
                ),
                format!(
                    "the Compute Gallery article advises at least 15 minutes per 1,000 nodes: `resize_timeout = {}`",
                    format_duration(want)
                ),
            )
        } else {
            (
                format!("a fixed-size managed-image pool with a resize timeout of {given}"),
                "the custom-image article advises 20-30 minutes: `resize_timeout = 25m`".to_string(),
            )
        };
        out.push(Diagnostic::new(Code::BF111, pool.attrs.or("resize_timeout", pool.name.span), what).with_help(help));
    }
    if nodes > LARGE_POOL {
        let help = if gallery {
            format!("keep at least one image replica per 300 nodes ({} here) in the pool's region; the runner re-issues the resize a bounded number of times", nodes.div_ceil(LARGE_POOL))
        } else {
            "above 300 nodes Batch may need several resizes; the runner re-issues the resize a bounded number of times"
                .to_string()
        };
        out.push(
            Diagnostic::new(
                Code::BF111,
                pool.attrs.or("dedicated", pool.name.span),
                format!(
                    "a custom-image pool of {} nodes may stop short of its target",
                    format_count(nodes)
                ),
            )
            .with_severity(Severity::Info)
            .with_help(help),
        );
    }
}
