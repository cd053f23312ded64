//! Pool sizing and Batch's ranges: custom-image limits (BF110-BF112), autoscale (BF113),
//! inter-node communication (BF117), task slots (BF118) and value ranges (BF119).

use super::autoscale::MAX_CHARS;
use super::facts::size;
use super::{Auth, Context};
use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::graph::{Pool, Workflow};
use crate::lower::value::{format_count, format_duration};
use crate::source::Span;
use std::collections::BTreeMap;

const CUSTOM_MAX_DEDICATED: u64 = 2_500;
const CUSTOM_MAX_LOW_PRIORITY: u64 = 1_000;
const CUSTOM_RESIZE_TIMEOUT: u64 = 20 * 60;
const DEFAULT_RESIZE_TIMEOUT: u64 = 15 * 60;
const LARGE_POOL: u64 = 300;

pub fn check(wf: &Workflow, ctx: &Context, out: &mut Vec<Diagnostic>) {
    custom_image_limits(wf, out);
    for pool in &wf.pools {
        custom_image(pool, ctx, out);
        if pool.autoscale.is_some() && (pool.dedicated.is_some() || pool.low_priority.is_some()) {
            let fixed = if pool.dedicated.is_some() {
                "dedicated"
            } else {
                "low_priority"
            };
            out.push(
                Diagnostic::new(
                    Code::BF113,
                    pool.attrs.or("autoscale", pool.name.span),
                    format!("`autoscale` together with `{fixed}`"),
                )
                .with_label(pool.attrs.or(fixed, pool.name.span), "a fixed size")
                .with_help("Batch takes either an autoscale formula or fixed node counts: remove one"),
            );
        }
        if pool.autoscale.is_none() && pool.autoscale_interval.is_some() {
            out.push(
                Diagnostic::new(
                    Code::BF113,
                    pool.attrs.or("autoscale_interval", pool.name.span),
                    "`autoscale_interval` on a pool without `autoscale`",
                )
                .with_severity(Severity::Warning)
                .with_help("it has no effect: add an `autoscale` formula, or remove it"),
            );
        }
        if pool.autoscale.is_some() && pool.resize_timeout.is_some() {
            out.push(
                Diagnostic::new(
                    Code::BF113,
                    pool.attrs.or("resize_timeout", pool.name.span),
                    "`resize_timeout` on an autoscale pool",
                )
                .with_severity(Severity::Warning)
                .with_help("Batch applies resize timeouts only to fixed-size pools: remove it"),
            );
        }
        if pool.inter_node == Some(true) && pool.dedicated.unwrap_or(0) > 0 && pool.low_priority.unwrap_or(0) > 0 {
            out.push(
                Diagnostic::new(
                    Code::BF117,
                    pool.attrs.or("inter_node", pool.name.span),
                    "`inter_node = true` on a pool that mixes dedicated and low-priority nodes",
                )
                .with_help(
                    "inter-node communication needs one kind of node: use only `dedicated` (or only `low_priority`)",
                ),
            );
        }
        task_slots(pool, out);
        ranges(pool, out);
    }
    for job in &wf.jobs {
        if let Some(p) = job.priority.filter(|p| !(-1000..=1000).contains(p)) {
            out.push(range(
                job.attrs.or("priority", job.name.span),
                format!("job `priority` {p} is outside -1000..1000"),
                "Batch takes priorities from -1000 (lowest) to 1000 (highest)",
            ));
        }
        display_name(
            job.display_name.as_deref(),
            job.attrs.or("display_name", job.name.span),
            out,
        );
    }
    for template in &wf.templates {
        if let Some(task) = template.instances().next().and_then(|t| wf.task(t)) {
            display_name(
                task.spec.display_name.as_deref(),
                template.attrs.or("display_name", template.name.span),
                out,
            );
        }
    }
}

/// BF110 across pools: every pool built from one custom image counts against its limits.
fn custom_image_limits(wf: &Workflow, out: &mut Vec<Diagnostic>) {
    let mut groups: BTreeMap<String, Vec<&Pool>> = BTreeMap::new();
    for pool in &wf.pools {
        if let Some(key) = pool.image.as_ref().and_then(|i| i.custom_key()) {
            groups.entry(key).or_default().push(pool);
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
        if dedicated > CUSTOM_MAX_DEDICATED {
            over.push(format!(
                "{} dedicated nodes (limit {})",
                format_count(dedicated),
                format_count(CUSTOM_MAX_DEDICATED)
            ));
        }
        if low > CUSTOM_MAX_LOW_PRIORITY {
            over.push(format!(
                "{} low-priority nodes (limit {})",
                format_count(low),
                format_count(CUSTOM_MAX_LOW_PRIORITY)
            ));
        }
        let mut others = pools.iter().skip(1);
        if !over.is_empty() {
            let mut d = Diagnostic::new(Code::BF110, first.attrs.or("dedicated", first.name.span), format!("a custom image serves {}{across}", over.join(" and ")))
                .with_help("Batch caps custom-image pools at 2,500 dedicated or 1,000 low-priority nodes per image: use one image per pool, or a Compute Gallery image with more replicas");
            for p in others.by_ref() {
                d = d.with_label(p.name.span, "also uses this image");
            }
            out.push(d);
        } else if shared {
            let mut d = Diagnostic::new(Code::BF110, first.attrs.or("image", first.name.span), format!("{} pools share one custom image", pools.len()))
                .with_severity(Severity::Warning)
                .with_help("the custom-image article advises one image per pool: their node counts add up against the image's limits");
            for p in others {
                d = d.with_label(p.attrs.or("image", p.name.span), "same image");
            }
            out.push(d);
        }
    }
}

fn custom_image(pool: &Pool, ctx: &Context, out: &mut Vec<Diagnostic>) {
    if !pool.image.as_ref().is_some_and(|i| i.is_custom()) {
        return;
    }
    let image_span = pool.attrs.or("image", pool.name.span);
    if ctx.auth == Some(Auth::SharedKey) {
        out.push(
            Diagnostic::new(Code::BF112, image_span, "a custom-image pool, but the target authenticates with a shared key")
                .with_help("custom images need Microsoft Entra ID auth: unset `AZURE_BATCH_ACCESS_KEY` and sign in (`az login`, a managed identity or a service principal)"),
        );
    }
    if pool.autoscale.is_some() {
        return;
    }
    let timeout = pool.resize_timeout.unwrap_or(DEFAULT_RESIZE_TIMEOUT);
    if timeout < CUSTOM_RESIZE_TIMEOUT {
        let given = if pool.resize_timeout.is_some() {
            format_duration(timeout)
        } else {
            "the default 15m".into()
        };
        out.push(
            Diagnostic::new(
                Code::BF111,
                pool.attrs.or("resize_timeout", pool.name.span),
                format!("a fixed-size custom-image pool with a resize timeout of {given}"),
            )
            .with_help("the custom-image article advises 20-30 minutes: `resize_timeout = 25m`"),
        );
    }
    let nodes = pool.target_nodes();
    if nodes > LARGE_POOL {
        out.push(
            Diagnostic::new(Code::BF111, pool.attrs.or("dedicated", pool.name.span), format!("a custom-image pool of {} nodes may stop short of its target", format_count(nodes)))
                .with_severity(Severity::Info)
                .with_help("above 300 nodes Batch may need several resizes; the runner re-issues the resize a bounded number of times"),
        );
    }
}

fn task_slots(pool: &Pool, out: &mut Vec<Diagnostic>) {
    let Some(slots) = pool.task_slots else { return };
    let span = pool.attrs.or("task_slots", pool.name.span);
    let bound = size(pool).map(|s| (s.vcpus.saturating_mul(4).min(256), s));
    match bound {
        Some((max, s)) if slots > max => out.push(
            Diagnostic::new(
                Code::BF118,
                span,
                format!(
                    "`task_slots = {slots}` is more than Batch allows on `{}` ({max})",
                    s.name
                ),
            )
            .with_help(format!(
                "Batch allows at most 4 x vCPUs ({} x 4) and never more than 256",
                s.vcpus
            )),
        ),
        None if slots > 256 => out.push(
            Diagnostic::new(Code::BF118, span, format!("`task_slots = {slots}` is more than 256"))
                .with_help("Batch allows at most 256 task slots per node (and 4 x the size's vCPUs)"),
        ),
        _ => {}
    }
}

fn ranges(pool: &Pool, out: &mut Vec<Diagnostic>) {
    if let Some(t) = pool.resize_timeout.filter(|t| *t < 5 * 60) {
        out.push(range(
            pool.attrs.or("resize_timeout", pool.name.span),
            format!("`resize_timeout = {}` is under 5 minutes", format_duration(t)),
            "Batch rejects resize timeouts under 5m",
        ));
    }
    if let Some(i) = pool.autoscale_interval.filter(|i| *i < 5 * 60 || *i > 168 * 3600) {
        out.push(range(
            pool.attrs.or("autoscale_interval", pool.name.span),
            format!("`autoscale_interval = {}` is outside 5m..168h", format_duration(i)),
            "Batch evaluates autoscale formulas every 5 minutes to 168 hours",
        ));
    }
    if let Some(f) = pool.autoscale.as_deref().filter(|f| f.chars().count() > MAX_CHARS) {
        out.push(range(
            pool.attrs.or("autoscale", pool.name.span),
            format!(
                "the autoscale formula has {} characters, more than 8,192",
                f.chars().count()
            ),
            "shorten the formula",
        ));
    }
    display_name(
        pool.display_name.as_deref(),
        pool.attrs.or("display_name", pool.name.span),
        out,
    );
}

fn display_name(name: Option<&str>, span: Span, out: &mut Vec<Diagnostic>) {
    if let Some(n) = name.filter(|n| n.chars().count() > 1024) {
        out.push(range(
            span,
            format!("the display name has {} characters, more than 1,024", n.chars().count()),
            "Batch display names hold at most 1,024 characters",
        ));
    }
}

fn range(span: Span, message: String, help: &str) -> Diagnostic {
    Diagnostic::new(Code::BF119, span, message).with_help(help)
}
