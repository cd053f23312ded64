//! What is at a byte offset of the syntax tree: the innermost expression there and the
//! expressions around it.

use crate::ast::{Block, Entry, Expr, ExprKind, File, Item, StrPart};
use crate::source::Span;

/// The innermost expression at an offset and where it sits.
#[derive(Debug)]
pub struct Found<'a> {
    pub expr: &'a Expr,
    /// The expressions around it, outermost first (a call around a string argument).
    pub outer: Vec<&'a Expr>,
}

pub fn expr_at(file: &File, offset: usize) -> Option<Found<'_>> {
    let mut found = None;
    for item in &file.items {
        let top: Option<&Expr> = match item {
            Item::Workflow(e) | Item::Hooks(e) => Some(e),
            Item::Param { default: Some(e), .. } => Some(e),
            Item::Let { value, .. } => Some(value),
            _ => None,
        };
        if let Some(e) = top.filter(|e| inside(e.span, offset)) {
            found = Some(descend(e, offset));
        }
    }
    if found.is_some() {
        return found;
    }
    walk_blocks(file, &mut |block| {
        for entry in &block.entries {
            let attr = match entry {
                Entry::Attr(a) => a,
                Entry::Task(t) => {
                    if let Some(l) = t.loops.iter().find(|l| inside(l.source.span, offset)) {
                        found = Some(descend(&l.source, offset));
                    }
                    continue;
                }
                Entry::Nested(_) => continue,
            };
            if inside(attr.value.span, offset) {
                found = Some(descend(&attr.value, offset));
            }
        }
    });
    found
}

fn descend(e: &Expr, offset: usize) -> Found<'_> {
    let mut outer = Vec::new();
    let mut here = e;
    loop {
        let next: Option<&Expr> = match &here.kind {
            ExprKind::List(items) | ExprKind::Sum(items) => items.iter().find(|i| inside(i.span, offset)),
            ExprKind::Call { args, .. } => args.iter().map(|a| &a.value).find(|v| inside(v.span, offset)),
            ExprKind::Map(attrs) => attrs.iter().map(|a| &a.value).find(|v| inside(v.span, offset)),
            ExprKind::Range(a, b) => [a, b].into_iter().map(|x| &**x).find(|x| inside(x.span, offset)),
            ExprKind::Str(parts) => parts.iter().find_map(|p| match p {
                StrPart::Interp(i) if inside(i.span, offset) => Some(i),
                _ => None,
            }),
            _ => None,
        };
        match next {
            Some(inner) => {
                outer.push(here);
                here = inner;
            }
            None => return Found { expr: here, outer },
        }
    }
}

/// Calls `f` with every block of the file, nested ones too.
fn walk_blocks<'a>(file: &'a File, f: &mut dyn FnMut(&'a Block)) {
    for item in &file.items {
        match item {
            Item::Resource { body, .. } | Item::Storage { body, .. } | Item::Job { body, .. } => walk(body, f),
            _ => {}
        }
    }
}

fn walk<'a>(block: &'a Block, f: &mut dyn FnMut(&'a Block)) {
    f(block);
    for entry in &block.entries {
        match entry {
            Entry::Nested(n) => walk(&n.body, f),
            Entry::Task(t) => walk(&t.body, f),
            Entry::Attr(_) => {}
        }
    }
}

/// Whether `offset` is in `span`, its end included (a cursor just after a word is on it).
pub fn inside(span: Span, offset: usize) -> bool {
    span.start as usize <= offset && offset <= span.end as usize
}
