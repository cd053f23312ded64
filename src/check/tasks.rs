//! Task rules: commands (BF007, BF209), slots (BF210), timeouts (BF211), multi-instance
//! tasks (BF212), URLs (BF213) and dependency lists beyond Batch's limit (BF214).

use super::runnables::{self, Kind, Runnable};
use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::graph::{Location, Workflow};
use crate::value::{format_count, format_duration};

/// Batch's limit on the combined length of the task ids in one `dependsOn`.
pub const DEPENDS_ON_LIMIT: usize = 64_000;

pub fn check(wf: &Workflow, out: &mut Vec<Diagnostic>) {
    for r in runnables::all(wf) {
        command(&r, out);
        urls(&r, out);
        if r.kind != Kind::Task {
            continue;
        }
        slots(&r, out);
        timeout(&r, out);
        multi_instance(&r, out);
        dependency_length(wf, &r, out);
    }
}

fn command(r: &Runnable<'_>, out: &mut Vec<Diagnostic>) {
    let Some(spec) = r.first() else { return };
    let container = spec.container.is_some();
    match spec.command.as_deref() {
        // A `command` that failed to evaluate was reported where it is written.
        None if !container && r.kind == Kind::Task && r.attrs.get("command").is_none() => out.push(
            Diagnostic::new(Code::BF007, r.span, "this task has no `command`").with_help(
                "add `command = \"...\"`; only container tasks may leave it out to run the image's ENTRYPOINT",
            ),
        ),
        Some(c) if c.trim().is_empty() && !container => out.push(
            Diagnostic::new(
                Code::BF209,
                r.span_of("command"),
                format!("an empty `command` on a {} that is not in a container", r.kind.what()),
            )
            .with_severity(Severity::Error)
            .with_help(
                "give the command to run; an empty command only makes sense in a container, to run its ENTRYPOINT",
            ),
        ),
        Some(c) if c.trim().is_empty() && r.kind == Kind::Task => out.push(
            Diagnostic::new(
                Code::BF209,
                r.span_of("command"),
                "an empty `command`: the container image's ENTRYPOINT runs",
            )
            .with_help("this is fine when the image has an ENTRYPOINT; otherwise give a command"),
        ),
        None if r.kind == Kind::Task && container => out.push(
            Diagnostic::new(
                Code::BF209,
                r.span,
                "no `command`: the container image's ENTRYPOINT runs",
            )
            .with_help("this is fine when the image has an ENTRYPOINT; otherwise add `command = \"...\"`"),
        ),
        _ => {}
    }
}

fn urls(r: &Runnable<'_>, out: &mut Vec<Diagnostic>) {
    let Some(spec) = r.first() else { return };
    for f in spec.inputs.iter() {
        if escapes_working_dir(&f.path) {
            out.push(
                Diagnostic::new(
                    Code::BF119,
                    r.span_of("inputs"),
                    format!("input path `{}` leaves the task's working directory", f.path),
                )
                .with_help("Batch downloads inputs below the working directory: use a relative path without `..`"),
            );
        }
    }
    for (attr, files) in [("inputs", &spec.inputs), ("outputs", &spec.outputs)] {
        // Repository paths and `az://` paths are the run's to move, over https; a URL held
        // whole in a secret cannot be judged.
        for f in files
            .iter()
            .filter(|f| f.location == Location::Url && f.url.contains("://"))
        {
            if !f.url.starts_with("https://") && !loopback(&f.url) {
                out.push(
                    Diagnostic::new(
                        Code::BF213,
                        r.span_of(attr),
                        format!("`{}` is not an `https://` URL", f.url),
                    )
                    .with_help("use https so data and SAS tokens are encrypted in transit"),
                );
            }
        }
    }
}

fn slots(r: &Runnable<'_>, out: &mut Vec<Diagnostic>) {
    let (Some(pool), Some(spec)) = (r.pool, r.first()) else {
        return;
    };
    let Some(slots) = spec.slots else { return };
    let pool_slots = pool.task_slots();
    if slots > pool_slots {
        out.push(
            Diagnostic::new(
                Code::BF210,
                r.span_of("slots"),
                format!(
                    "this task asks for {slots} slots, but pool `{}` has {pool_slots} per node",
                    pool.name.value
                ),
            )
            .with_label(pool.attrs.or("task_slots", pool.name.span), "the pool's task slots")
            .with_help(format!(
                "lower `slots`, or raise the pool's `task_slots` to {slots} or more"
            )),
        );
    }
}

fn timeout(r: &Runnable<'_>, out: &mut Vec<Diagnostic>) {
    let (Some(job), Some(spec)) = (r.job, r.first()) else {
        return;
    };
    let (Some(t), Some(wall)) = (spec.timeout, job.max_wall_clock) else {
        return;
    };
    if t > wall {
        out.push(
            Diagnostic::new(
                Code::BF211,
                r.span_of("timeout"),
                format!("`timeout = {}` is longer than the job's `max_wall_clock = {}`", format_duration(t), format_duration(wall)),
            )
            .with_label(job.attrs.or("max_wall_clock", job.name.span), "the job ends here")
            .with_help("the job is terminated first, so the task timeout can never be reached: shorten it or raise `max_wall_clock`"),
        );
    }
}

fn multi_instance(r: &Runnable<'_>, out: &mut Vec<Diagnostic>) {
    let (Some(pool), Some(spec)) = (r.pool, r.first()) else {
        return;
    };
    let Some(mi) = &spec.multi_instance else { return };
    let span = r.span_of("multi_instance");
    if pool.inter_node != Some(true) {
        out.push(
            Diagnostic::new(
                Code::BF212,
                span,
                format!(
                    "a multi-instance task on pool `{}`, which has no inter-node communication",
                    pool.name.value
                ),
            )
            .with_help("set `inter_node = true` on the pool"),
        );
    }
    if pool.task_slots() > 1 {
        out.push(
            Diagnostic::new(
                Code::BF212,
                span,
                format!(
                    "a multi-instance task on pool `{}`, which runs {} tasks per node",
                    pool.name.value,
                    pool.task_slots()
                ),
            )
            .with_label(pool.attrs.or("task_slots", pool.name.span), "more than one slot per node")
            .with_help("Batch never schedules a multi-instance task on a pool with `task_slots` above 1 (it stays active forever): set `task_slots = 1`, or give the MPI work a pool of its own"),
        );
    }
    if pool.autoscale.is_none() && u64::from(mi.nodes) > pool.target_nodes() {
        out.push(
            Diagnostic::new(
                Code::BF212,
                r.span_of("nodes"),
                format!(
                    "this task needs {} nodes, but pool `{}` has {}",
                    mi.nodes,
                    pool.name.value,
                    pool.target_nodes()
                ),
            )
            .with_help("lower `nodes`, or raise the pool's `dedicated` count"),
        );
    }
    if spec.slots.is_some_and(|s| s != 1) {
        out.push(
            Diagnostic::new(
                Code::BF212,
                r.span_of("slots"),
                "a multi-instance task must use exactly one slot",
            )
            .with_help("remove `slots` (multi-instance tasks take one slot on each node)"),
        );
    }
}

/// BF214: the first instance's dependency ids (all instances depend alike).
fn dependency_length(wf: &Workflow, r: &Runnable<'_>, out: &mut Vec<Diagnostic>) {
    let Some(task) = r.template.and_then(|t| t.instances().next()).and_then(|id| wf.task(id)) else {
        return;
    };
    let (mut count, mut length) = (0usize, 0usize);
    for dep in wf.dependencies(task) {
        if let Some(d) = wf.task(dep) {
            count += 1;
            length += d.id.len() + 1;
        }
    }
    if length > DEPENDS_ON_LIMIT {
        out.push(
            Diagnostic::new(
                Code::BF214,
                r.template.and_then(|t| t.after.first()).map_or(r.span, |a| a.span),
                format!(
                    "this task depends on {} tasks whose ids add up to {} characters, over Batch's 64,000",
                    format_count(count as u64),
                    format_count(length as u64)
                ),
            )
            .with_help("nothing to do: the plan adds barrier tasks that each depend on a share of them"),
        );
    }
}

/// `http://127.0.0.1...` or `http://localhost...`: an emulator on this machine.
fn loopback(url: &str) -> bool {
    let host = url
        .split("://")
        .nth(1)
        .unwrap_or("")
        .split(['/', ':'])
        .next()
        .unwrap_or("");
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

/// An absolute path, a drive letter or a `..` segment: Batch rejects them in `filePath`.
fn escapes_working_dir(path: &str) -> bool {
    let p = path.replace('\\', "/");
    p.starts_with('/') || p.as_bytes().get(1) == Some(&b':') || p.split('/').any(|seg| seg == "..")
}

#[cfg(test)]
mod tests {
    use super::escapes_working_dir;

    #[test]
    fn input_paths() {
        assert!(escapes_working_dir("../x.csv"));
        assert!(escapes_working_dir("data/../../x"));
        assert!(escapes_working_dir("/etc/passwd"));
        assert!(escapes_working_dir("C:\\data"));
        assert!(!escapes_working_dir("data/train.csv"));
        assert!(!escapes_working_dir("data..csv"));
    }
}
