//! Retirement against today's date: VM sizes (BF120), marketplace images and node agents
//! (BF116). Past the date it is an error when Batch no longer creates such pools; within
//! [`RETIREMENT_NOTICE_DAYS`] before it, a warning.

use super::{Context, RETIREMENT_NOTICE_DAYS};
use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::graph::{Pool, Workflow};
use crate::stdlib::facts::{image_info, size};
use crate::stdlib::{self, Date, Effect, ImageInfo, Retirement};

pub fn check(wf: &Workflow, ctx: &Context, out: &mut Vec<Diagnostic>) {
    for pool in &wf.pools {
        vm_size(pool, ctx.today, out);
        image_or_agent(pool, ctx.today, out);
    }
}

/// Where a retirement date stands on a given day.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Past,
    Soon,
}

fn stage(date: Date, today: Date) -> Option<Stage> {
    if date <= today {
        Some(Stage::Past)
    } else if date <= today.plus_days(RETIREMENT_NOTICE_DAYS) {
        Some(Stage::Soon)
    } else {
        None
    }
}

fn vm_size(pool: &Pool, today: Date, out: &mut Vec<Diagnostic>) {
    let Some(size) = size(pool) else { return };
    let Some((date, stage)) = size.retired.and_then(|d| Some((d, stage(d, today)?))) else {
        return;
    };
    let (severity, message) = match stage {
        Stage::Past => (
            Severity::Error,
            format!(
                "VM size `{}` was retired on {date}: Batch can no longer allocate it",
                size.name
            ),
        ),
        Stage::Soon => (
            Severity::Warning,
            format!(
                "VM size `{}` retires on {date}: then its nodes are deallocated",
                size.name
            ),
        ),
    };
    let help = match size.replacement.as_deref().and_then(stdlib::vm_size) {
        Some(to) if size.rdma && !to.rdma => format!(
            "use `{}` instead, Microsoft's replacement; it has no InfiniBand, so for MPI pick an RDMA size such as `Standard_HB120rs_v3`",
            to.name
        ),
        Some(to) => format!("use `{}` instead, Microsoft's replacement for it", to.name),
        None => "pick a current size; see `stdlib/vm-sizes.csv`".to_string(),
    };
    out.push(
        Diagnostic::new(Code::BF120, pool.attrs.or("vm_size", pool.name.span), message)
            .with_severity(severity)
            .with_help(help),
    );
}

fn image_or_agent(pool: &Pool, today: Date, out: &mut Vec<Diagnostic>) {
    if let Some(info) = image_info(pool) {
        let name = format!("image `{}/{}/{}`", info.publisher, info.offer, info.sku);
        if let Some(d) = info.retirement.and_then(|r| report(r, today, &name)) {
            out.push(d.with_span_of(pool, "image").with_help(image_help(info)));
            return;
        }
    }
    let Some(agent) = pool.node_agent.as_deref().and_then(stdlib::node_agent) else {
        return;
    };
    let name = format!("node agent `{}`", agent.id);
    if let Some(d) = agent.retirement.and_then(|r| report(r, today, &name)) {
        let help = agent.replacement.as_deref().map_or_else(
            || "pick a current node agent and an image for it".to_string(),
            |r| format!("move to `{r}` with an image for it"),
        );
        out.push(d.with_span_of(pool, "node_agent").with_help(help));
    }
}

/// How to move off a retiring image: its replacement, with the node agent that goes with it.
fn image_help(info: &ImageInfo) -> String {
    let parts: Vec<&str> = info
        .replacement
        .as_deref()
        .map(|r| r.split('/').collect())
        .unwrap_or_default();
    match parts.as_slice() {
        [p, o, s] => {
            let agent = stdlib::image(p, o, s)
                .map(|to| format!(" with `node_agent = \"{}\"`", to.node_agent))
                .unwrap_or_default();
            format!("use marketplace(\"{p}\", \"{o}\", \"{s}\"){agent} instead")
        }
        _ => "pick a current image; see `stdlib/images.csv`".to_string(),
    }
}

/// The BF116 diagnostic for an image or agent (without span and help), if it is due.
fn report(retirement: Retirement, today: Date, name: &str) -> Option<Pending> {
    let date = retirement.date;
    let (severity, message) = match (retirement.effect, stage(date, today)?) {
        (Effect::NoNewPools, Stage::Past) => (
            Severity::Error,
            format!("{name} was retired on {date}: Batch no longer creates pools with it"),
        ),
        (Effect::NoNewPools, Stage::Soon) => (
            Severity::Warning,
            format!("{name} retires on {date}: from then Batch no longer creates pools with it"),
        ),
        (Effect::EndOfSupport, Stage::Past) => (
            Severity::Warning,
            format!("{name} reached its end of support on {date}"),
        ),
        (Effect::EndOfSupport, Stage::Soon) => (
            Severity::Warning,
            format!("{name} reaches its end of support on {date}"),
        ),
    };
    Some(Pending { severity, message })
}

/// A BF116 finding waiting for the attribute it points at.
struct Pending {
    severity: Severity,
    message: String,
}

impl Pending {
    fn with_span_of(self, pool: &Pool, attr: &str) -> Diagnostic {
        Diagnostic::new(Code::BF116, pool.attrs.or(attr, pool.name.span), self.message).with_severity(self.severity)
    }
}

#[cfg(test)]
mod tests {
    use super::{stage, Stage};
    use crate::stdlib::Date;

    #[test]
    fn stages_around_the_notice_window() {
        let today = Date::parse("2026-11-23").expect("date");
        let on = |s: &str| stage(Date::parse(s).expect("date"), today);
        assert!(on("2026-11-23") == Some(Stage::Past));
        assert!(on("2025-09-30") == Some(Stage::Past));
        assert!(on("2026-11-24") == Some(Stage::Soon));
        assert!(on("2027-05-22") == Some(Stage::Soon));
        assert!(on("2027-05-23").is_none());
        assert!(on("2027-06-30").is_none());
    }
}
