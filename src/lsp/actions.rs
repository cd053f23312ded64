//! Quick fixes for the mechanical fixes a diagnostic's help states, computed from the same
//! stdlib tables the rule used: the node agent an image pairs with (BF105), the image without
//! `-rdma` (BF101), an image with InfiniBand drivers for an RDMA container pool (BF102), the
//! replacement of a retired image (BF116) or VM size (BF120), and the name a "did you mean"
//! suggests (BF002, BF008).

use super::analysis::Analysis;
use super::find;
use super::images::{image_of, marketplace_args};
use super::publish;
use crate::ast::{Attr, Entry, Item, ResourceKind};
use crate::diagnostics::{Code, Diagnostic};
use crate::source::Span;
use crate::stdlib::{self, Date, ImageInfo, Os};
use lsp_types::{CodeAction, CodeActionKind, TextEdit, Uri, WorkspaceEdit};
use std::collections::HashMap;

/// The image to move an RDMA container pool to, as BF102's help says.
const HPC_IMAGE: (&str, &str, &str) = ("microsoft-dsvm", "ubuntu-hpc", "2404");

/// Quick fixes for the diagnostics that overlap bytes `start..end` of the workflow.
pub fn actions(a: &Analysis, doc: &Uri, start: usize, end: usize, today: Date) -> Vec<CodeAction> {
    let overlapping = a
        .diagnostics
        .iter()
        .filter(|d| d.span.src == a.src && d.span.start as usize <= end && start <= d.span.end as usize);
    let mut out = Vec::new();
    for d in overlapping {
        if let Some((title, edits)) = fix(a, d, today) {
            let edits: Vec<TextEdit> = edits
                .into_iter()
                .map(|(s, text)| TextEdit::new(a.lines.range(&a.text, s.start as usize, s.end as usize), text))
                .collect();
            out.push(CodeAction {
                title,
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![publish::diagnostic(a, doc, d)]),
                edit: Some(WorkspaceEdit {
                    changes: Some(HashMap::from([(doc.clone(), edits)])),
                    ..WorkspaceEdit::default()
                }),
                is_preferred: Some(true),
                ..CodeAction::default()
            });
        }
    }
    out
}

type Fix = (String, Vec<(Span, String)>);

fn fix(a: &Analysis, d: &Diagnostic, today: Date) -> Option<Fix> {
    match d.code {
        Code::BF002 | Code::BF008 => did_you_mean(a, d),
        Code::BF105 => {
            let pool = pool_at(a, d.span)?;
            let info = image_of(&attr(pool, "image")?.value, a.file.as_ref())?;
            let agent = attr(pool, "node_agent")?;
            let text = format!("\"{}\"", info.node_agent);
            Some((format!("write `node_agent = {text}`"), vec![(agent.value.span, text)]))
        }
        Code::BF101 => {
            let pool = pool_at(a, d.span)?;
            let (p, o, s) = marketplace_args(&attr(pool, "image")?.value)?;
            let plain = stdlib::image(&p, o.strip_suffix("-rdma")?, &s)?;
            Some(use_image(pool, current(plain, today)))
        }
        Code::BF102 => {
            // The container pool's form (the image lacks drivers); the Windows one has no fix.
            let pool = pool_at(a, d.span)?;
            let info = image_of(&attr(pool, "image")?.value, a.file.as_ref())?;
            if info.rdma || info.os != Os::Linux {
                return None;
            }
            let (p, o, s) = HPC_IMAGE;
            Some(use_image(pool, stdlib::image(p, o, s)?))
        }
        Code::BF116 => {
            let pool = pool_at(a, d.span)?;
            let info = image_of(&attr(pool, "image")?.value, a.file.as_ref())?;
            let next = replacement(info)?;
            Some(use_image(pool, current(next, today)))
        }
        Code::BF120 => {
            let pool = pool_at(a, d.span)?;
            let size = attr(pool, "vm_size")?;
            let to = stdlib::vm_size(&size.value.as_plain_str()?)?.replacement.clone()?;
            let text = format!("\"{to}\"");
            Some((
                format!("use `{to}`, Microsoft's replacement"),
                vec![(size.value.span, text)],
            ))
        }
        _ => None,
    }
}

/// The image Microsoft names to move to from `info`.
fn replacement(info: &ImageInfo) -> Option<&'static ImageInfo> {
    let mut parts = info.replacement.as_deref()?.split('/');
    stdlib::image(parts.next()?, parts.next()?, parts.next()?)
}

/// `info`, or the image that replaces it when Batch no longer creates pools with it: a fix
/// never writes a retired image.
fn current(info: &'static ImageInfo, today: Date) -> &'static ImageInfo {
    let mut at = info;
    for _ in 0..8 {
        match (at.retirement.is_some_and(|r| r.refuses_pools(today)), replacement(at)) {
            (true, Some(next)) => at = next,
            _ => break,
        }
    }
    at
}

/// Replaces a pool's image by `to`, and its `node_agent` (when written) by `to`'s agent.
fn use_image(pool: &crate::ast::Block, to: &ImageInfo) -> Fix {
    let call = format!("marketplace(\"{}\", \"{}\", \"{}\")", to.publisher, to.offer, to.sku);
    let mut edits = Vec::new();
    if let Some(image) = attr(pool, "image") {
        edits.push((image.value.span, call.clone()));
    }
    if let Some(agent) = attr(pool, "node_agent") {
        if agent
            .value
            .as_plain_str()
            .is_none_or(|v| !v.eq_ignore_ascii_case(&to.node_agent))
        {
            edits.push((agent.value.span, format!("\"{}\"", to.node_agent)));
        }
    }
    (format!("use {call}"), edits)
}

/// `did you mean `x`?` in the help: replace the unknown word by `x`.
fn did_you_mean(a: &Analysis, d: &Diagnostic) -> Option<Fix> {
    let help = d.help.as_deref()?;
    let rest = help.split("did you mean `").nth(1)?;
    let name = rest.split('`').next()?;
    let written = a.text.get(d.span.start as usize..d.span.end as usize)?;
    // Only a bare word is replaced: a span over more than the name is not this fix's.
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if written.is_empty() || !written.chars().all(word) {
        return None;
    }
    Some((
        format!("change `{written}` to `{name}`"),
        vec![(d.span, name.to_string())],
    ))
}

/// The body of the pool whose declaration holds `span`.
fn pool_at(a: &Analysis, span: Span) -> Option<&crate::ast::Block> {
    a.file.as_ref()?.items.iter().find_map(|item| match item {
        Item::Resource {
            kind: ResourceKind::Pool,
            body,
            span: s,
            ..
        } if find::inside(*s, span.start as usize) => Some(body),
        _ => None,
    })
}

fn attr<'a>(block: &'a crate::ast::Block, key: &str) -> Option<&'a Attr> {
    block.entries.iter().find_map(|e| match e {
        Entry::Attr(a) if a.key.name == key => Some(a),
        _ => None,
    })
}
