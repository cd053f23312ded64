//! Batch takes a request body of under 1 MB, so a task whose own body reaches that can never
//! be added, in a collection or alone. `check` asks here (without the `dependsOn` the planner
//! adds later), so the error comes before planning; the planner asks again with it.

use super::bodies;
use super::limits::{ENVELOPE, MAX_COLLECTION_BYTES};
use crate::diagnostics::{Code, Diagnostic};
use crate::graph::{TaskSpec, Workflow};
use crate::source::Span;

/// Repository inputs count as written: their files are known only to a plan.
fn no_files() -> super::staging::Files<'static> {
    static EMPTY: std::sync::OnceLock<(crate::repo::RepoFacts, super::staging::StorageChoice)> =
        std::sync::OnceLock::new();
    let (repo, storage) = EMPTY.get_or_init(Default::default);
    super::staging::Files { repo, storage }
}
use crate::value::format_count;

/// BF119 when a task body of `size` bytes cannot fit in any request.
pub fn too_large(size: usize, origin: Span) -> Option<Diagnostic> {
    (ENVELOPE + size >= MAX_COLLECTION_BYTES).then(|| {
        Diagnostic::new(
            Code::BF119,
            origin,
            format!(
                "a task body is {} bytes; Batch takes at most 1 MB per request",
                format_count(size as u64)
            ),
        )
        .with_help("shorten the command, environment and file lists (pass large data through `inputs`)")
    })
}

/// Every task declaration with an instance whose body is too large (one diagnostic each).
pub fn oversized_tasks(wf: &Workflow) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for template in &wf.templates {
        for id in template.instances() {
            let Some(task) = wf.task(id) else { continue };
            // Most bodies are far from the limit: serialize only those that might reach it.
            if upper_bound(&task.id, &task.spec) + ENVELOPE < MAX_COLLECTION_BYTES {
                continue;
            }
            let size = super::raw(&bodies::task(&task.id, &task.spec, "", no_files()))
                .get()
                .len();
            if let Some(d) = too_large(size, template.span) {
                out.push(d);
                break;
            }
        }
    }
    out
}

/// At least the serialized size of the task's body: JSON escapes a character into at most six
/// bytes, and each field adds its key and punctuation.
fn upper_bound(id: &str, s: &TaskSpec) -> usize {
    const FIELD: usize = 64;
    const FIXED: usize = 1_024;
    let text = |v: Option<&str>| v.map_or(0, |t| 6 * t.len() + FIELD);
    let env: usize = s.env.iter().map(|e| 6 * (e.name.len() + e.value.len()) + FIELD).sum();
    let files: usize = s
        .inputs
        .iter()
        .chain(s.outputs.iter())
        .map(|f| 6 * (f.path.len() + f.url.len()) + 4 * FIELD)
        .sum();
    let multi = s
        .multi_instance
        .as_ref()
        .map_or(0, |m| 6 * m.coordination.len() + FIELD);
    FIXED
        + 6 * id.len()
        + text(s.command.as_deref())
        + text(s.display_name.as_deref())
        + text(s.container.as_deref())
        + text(s.run_options.as_deref())
        + env
        + files
        + multi
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::EnvVar;
    use std::sync::Arc;

    #[test]
    fn the_bound_is_never_below_the_body() {
        let weird = "\"\\\u{1}é漢".repeat(50);
        let spec = TaskSpec {
            command: Some(Arc::from(weird.as_str())),
            display_name: Some(Arc::from("d")),
            container: Some(Arc::from("ubuntu:24.04")),
            run_options: Some(Arc::from(weird.as_str())),
            env: vec![EnvVar {
                name: Arc::from("A"),
                value: Arc::from(weird.as_str()),
            }]
            .into(),
            retries: Some(3),
            timeout: Some(60),
            ..TaskSpec::default()
        };
        let body = crate::plan::raw(&bodies::task("t-1", &spec, "", no_files()))
            .get()
            .len();
        assert!(
            upper_bound("t-1", &spec) >= body,
            "{} < {body}",
            upper_bound("t-1", &spec)
        );
    }
}
