//! `run_options`, the extra arguments of `docker create`: `--gpus` (BF108), `--runtime`
//! (BF205) and `--name` (BF221). Only container tasks on container pools are looked at; the
//! other cases are BF008, BF201 and BF208.

use super::runnables::{self, Runnable};
use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::graph::{Pool, Workflow};
use crate::stdlib::facts::size;
use std::collections::BTreeMap;

pub fn check(wf: &Workflow, out: &mut Vec<Diagnostic>) {
    let all = runnables::all(wf);
    let containers: Vec<(&Runnable<'_>, &Pool)> = all
        .iter()
        .filter_map(|r| Some((r, r.pool.filter(|p| p.containers.is_some())?)))
        .filter(|(r, _)| r.specs.iter().any(|s| s.container.is_some()))
        .collect();
    for (r, pool) in &containers {
        flags(r, pool, out);
    }
    // Container names are per node: count the containers of each pool that share one.
    let mut names: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for (r, pool) in &containers {
        for spec in &r.specs {
            if let Some(name) = spec.run_options.as_deref().and_then(container_name) {
                *names.entry((&pool.name.value, name)).or_default() += 1;
            }
        }
    }
    for (r, pool) in &containers {
        for opts in r.distinct(|s| s.run_options.as_ref()) {
            let Some(name) = container_name(opts) else { continue };
            let count = names.get(&(pool.name.value.as_str(), name)).copied().unwrap_or(0);
            if count > 1 {
                out.push(shared_name(r, pool, name, count));
                break;
            }
            if !words(opts).any(|w| w == "--rm") {
                out.push(kept_name(r, name));
                break;
            }
        }
    }
}

fn words(opts: &str) -> impl Iterator<Item = &str> {
    opts.split_whitespace()
}

fn has(opts: &str, flag: &str) -> bool {
    words(opts).any(|w| w == flag || w.strip_prefix(flag).is_some_and(|rest| rest.starts_with('=')))
}

/// The value of `--name NAME` or `--name=NAME`.
fn container_name(opts: &str) -> Option<&str> {
    let mut it = words(opts);
    while let Some(w) = it.next() {
        if w == "--name" {
            return it.next();
        }
        if let Some(name) = w.strip_prefix("--name=") {
            return Some(name);
        }
    }
    None
}

/// BF108 and BF205.
fn flags(r: &Runnable<'_>, pool: &Pool, out: &mut Vec<Diagnostic>) {
    let span = r.span_of("run_options");
    for opts in r.distinct(|s| s.run_options.as_ref()) {
        if has(opts, "--gpus") {
            let gpu = size(pool).map(|s| s.has_gpu());
            let message = match gpu {
                Some(false) => format!("`--gpus` in `run_options`, and pool `{}` has no GPU", pool.name.value),
                _ => "`--gpus` in `run_options`".to_string(),
            };
            out.push(
                Diagnostic::new(Code::BF108, span, message)
                    .with_help("remove `--gpus`: Batch gives containers the GPUs of GPU pools by itself"),
            );
        }
        if has(opts, "--runtime") {
            out.push(
                Diagnostic::new(Code::BF205, span, "`--runtime` in `run_options`")
                    .with_help("remove it: Batch picks the container runtime (`--rm` and `--workdir` are fine)"),
            );
        }
    }
}

/// BF221: two containers of a pool with one name; the second `docker create` on a node fails.
fn shared_name(r: &Runnable<'_>, pool: &Pool, name: &str, count: usize) -> Diagnostic {
    Diagnostic::new(
        Code::BF221,
        r.span_of("run_options"),
        format!(
            "`--name {name}` names {count} containers on pool `{}`: a node refuses a second container of the same name",
            pool.name.value
        ),
    )
    .with_help("remove `--name` (Batch creates each task's container without it), or make the name unique per task instance, e.g. with the sweep's loop variables")
}

/// BF221 (warning): without `--rm` the exited container keeps its name, and a retry of the
/// task on the same node (Batch retries after node recovery even with no `retries`) fails.
fn kept_name(r: &Runnable<'_>, name: &str) -> Diagnostic {
    Diagnostic::new(
        Code::BF221,
        r.span_of("run_options"),
        format!("`--name {name}` without `--rm`: the exited container keeps the name, so a retry of this {} on the same node cannot create its container", r.kind.what()),
    )
    .with_severity(Severity::Warning)
    .with_help("add `--rm` so the container and its name go when the task ends, or remove `--name`")
}

#[cfg(test)]
mod tests {
    use super::{container_name, has};

    #[test]
    fn options_are_words() {
        assert_eq!(container_name("--rm --name=a-1"), Some("a-1"));
        assert_eq!(container_name("--name b --rm"), Some("b"));
        assert_eq!(container_name("--rm --hostname x"), None);
        assert!(has("--gpus=all", "--gpus") && has("--gpus all", "--gpus"));
        assert!(!has("--gpus-x", "--gpus"));
    }
}
