//! Pool sizing and Batch's ranges: autoscale (BF113), inter-node communication (BF117,
//! BF123), task slots (BF118), value ranges (BF119) and pools with no nodes (BF122).

use super::autoscale::MAX_CHARS;
use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::graph::{Pool, Workflow};
use crate::source::Span;
use crate::stdlib::facts::size;
use crate::value::{format_count, format_duration};

/// batch-quota-limit.md, "Pool size limits": compute nodes in an inter-node communication
/// enabled pool, Batch service pool allocation mode (80 in user subscription mode).
const INTER_NODE_MAX: u64 = 100;

pub fn check(wf: &Workflow, out: &mut Vec<Diagnostic>) {
    for (i, pool) in wf.pools.iter().enumerate() {
        no_nodes(wf, i, pool, out);
        inter_node_size(pool, out);
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

/// BF122: a fixed-size pool of zero nodes that a job runs on never runs its tasks.
fn no_nodes(wf: &Workflow, index: usize, pool: &Pool, out: &mut Vec<Diagnostic>) {
    // A count that failed to evaluate was reported where it is written.
    let unknown = |attr: &str| pool.attrs.get(attr).is_some();
    if pool.autoscale.is_some() || pool.target_nodes() > 0 || unknown("autoscale") {
        return;
    }
    if (pool.dedicated.is_none() && unknown("dedicated")) || (pool.low_priority.is_none() && unknown("low_priority")) {
        return;
    }
    let Some(job) = wf.jobs.iter().find(|j| j.pool.is_some_and(|p| p.index() == index)) else {
        return;
    };
    let span = pool
        .attrs
        .get("dedicated")
        .or_else(|| pool.attrs.get("low_priority"))
        .unwrap_or(pool.name.span);
    out.push(
        Diagnostic::new(
            Code::BF122,
            span,
            format!("pool `{}` has no nodes, but job `{}` runs on it", pool.name.value, job.name.value),
        )
        .with_label(job.name.span, "runs here")
        .with_help("Batch never schedules these tasks and the run waits forever: give the pool `dedicated = N` or `low_priority = N` nodes, or an `autoscale` formula"),
    );
}

/// BF123: Batch caps inter-node communication pools at 100 nodes.
fn inter_node_size(pool: &Pool, out: &mut Vec<Diagnostic>) {
    let nodes = pool.target_nodes();
    if pool.inter_node != Some(true) || pool.autoscale.is_some() || nodes <= INTER_NODE_MAX {
        return;
    }
    out.push(
        Diagnostic::new(
            Code::BF123,
            pool.attrs.or("inter_node", pool.name.span),
            format!(
                "`inter_node = true` on a pool of {} nodes; Batch allows at most 100",
                format_count(nodes)
            ),
        )
        .with_label(pool.attrs.or("dedicated", pool.name.span), "the node count")
        .with_help("Batch limits inter-node communication pools to 100 nodes (80 in user subscription mode): split the work over several pools of at most 100 nodes, or drop `inter_node` if the tasks do not talk to each other"),
    );
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
