//! BF004 (Batch id rules after sweep expansion) and BF007 for `node_agent` when the stdlib
//! cannot infer it.

use crate::diagnostics::{Code, Diagnostic};
use crate::graph::Workflow;
use crate::source::Span;
use crate::stdlib::facts;

const MAX_ID: usize = 64;

pub fn check(wf: &Workflow, out: &mut Vec<Diagnostic>) {
    for pool in &wf.pools {
        id_rule("pool", &pool.name.value, pool.name.span, out);
        if pool.node_agent.is_none() && pool.image.is_some() && facts::image_info(pool).is_none() {
            let custom = pool.image.as_ref().is_some_and(|i| i.is_custom());
            let why = if custom {
                "a custom image"
            } else {
                "an image the stdlib does not know"
            };
            out.push(
                Diagnostic::new(
                    Code::BF007,
                    pool.name.span,
                    format!("this pool has no `node_agent`, and it uses {why}"),
                )
                .with_label(pool.attrs.or("image", pool.name.span), "the image")
                .with_help(
                    "add `node_agent = \"batch.node.ubuntu 24.04\"` (the agent SKU that matches the image's OS)",
                ),
            );
        }
    }
    for job in &wf.jobs {
        id_rule("job", &job.name.value, job.name.span, out);
    }
    for template in &wf.templates {
        // Ids of one declaration differ only in their indices: the last is the longest.
        let longest = template
            .instances()
            .filter_map(|t| wf.task(t))
            .map(|t| &t.id)
            .max_by_key(|id| id.len());
        if let Some(id) = longest {
            id_rule("task", id, template.name.span, out);
        }
    }
}

fn id_rule(what: &str, id: &str, span: Span, out: &mut Vec<Diagnostic>) {
    let bad_char = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'));
    if id.chars().count() > MAX_ID {
        out.push(
            Diagnostic::new(
                Code::BF004,
                span,
                format!(
                    "{what} id `{}` is {} characters; Batch allows at most {MAX_ID}",
                    shorten(id),
                    id.chars().count()
                ),
            )
            .with_help("use a shorter name (sweep instances add `-N` per loop variable)"),
        );
    } else if let Some(c) = bad_char {
        out.push(
            Diagnostic::new(
                Code::BF004,
                span,
                format!("{what} id `{id}` contains `{c}`; Batch ids take letters, digits, `-` and `_`"),
            )
            .with_help("rename it with only letters, digits, `-` and `_`"),
        );
    }
}

fn shorten(id: &str) -> String {
    if id.chars().count() <= 40 {
        return id.to_string();
    }
    let head: String = id.chars().take(30).collect();
    let tail: String = id.chars().rev().take(8).collect::<Vec<_>>().into_iter().rev().collect();
    format!("{head}...{tail}")
}
