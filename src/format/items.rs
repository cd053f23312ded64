//! The file's items and the blocks they hold: one item or entry a line, keywords and names
//! one space apart, `{` on the line of its header.

use super::doc::{concat, group, if_break, indent, text, Doc};
use super::lines::{self, LineKind};
use super::trivia::Fmt;
use super::WIDTH;
use crate::ast::{Block, Entry, File, Item, ResourceKind, TaskDecl};

impl Fmt<'_> {
    pub fn file(&mut self, file: &File) -> Doc {
        let body = self.body(&file.items, self.text.len(), item_span, |f, item| match item {
            // Consecutive `let`s align their `=` as a block's attributes do.
            Item::Let { name, value, .. } if !f.comment_pending(name.span.start) => LineKind::Attr {
                key: format!("let {}", name.name),
                value: f.expr(value),
            },
            _ => LineKind::Other(f.item(item)),
        });
        lines::top(body, WIDTH)
    }

    fn item(&mut self, item: &Item) -> Doc {
        match item {
            Item::Workflow(name) => concat(vec![text("workflow "), self.expr(name)]),
            Item::Hooks(path) => concat(vec![text("hooks = "), self.expr(path)]),
            Item::Import { path, alias, .. } => {
                let mut out = vec![text("import "), self.expr(path)];
                if let Some(alias) = alias {
                    out.push(text(" as "));
                    out.push(self.ident(alias));
                }
                concat(out)
            }
            Item::Param { name, ty, default, .. } => {
                let mut out = vec![text("param "), self.ident(name), text(format!(": {ty}"))];
                if let Some(value) = default {
                    out.push(text(" = "));
                    out.push(self.expr(value));
                }
                concat(out)
            }
            Item::Let { name, value, .. } => {
                concat(vec![text("let "), self.ident(name), text(" = "), self.expr(value)])
            }
            Item::Resource { kind, name, body, .. } => {
                let keyword = match kind {
                    ResourceKind::Pool => "pool ",
                    ResourceKind::Registry => "registry ",
                };
                concat(vec![text(keyword), self.ident(name), text(" "), self.block(body)])
            }
            Item::Storage { body, .. } => concat(vec![text("storage "), self.block(body)]),
            Item::Job { name, pool, body, .. } => concat(vec![
                text("job "),
                self.ident(name),
                text(" on "),
                self.ident(pool),
                text(" "),
                self.block(body),
            ]),
        }
    }

    /// `{ ... }`: on one line if the source has it on one line and it fits (never with tasks),
    /// else one entry a line.
    fn block(&mut self, block: &Block) -> Doc {
        let open = block.span.start as usize;
        let lead = self.comments_before(open);
        let close = (block.span.end as usize).saturating_sub(1);
        let flat_ok = !self.newline_between(open, close) && !block.entries.iter().any(|e| matches!(e, Entry::Task(_)));
        self.depth += 1;
        let body = self.body(&block.entries, close, entry_span, |f, e| f.entry(e));
        self.depth -= 1;
        concat(vec![lead, lines::braces(body, flat_ok, (self.depth + 1) * 2, WIDTH)])
    }

    fn entry(&mut self, entry: &Entry) -> LineKind {
        match entry {
            Entry::Attr(a) => self.attr(a),
            Entry::Nested(n) => LineKind::Other(concat(vec![self.ident(&n.name), text(" "), self.block(&n.body)])),
            Entry::Task(t) => LineKind::Other(self.task(t)),
        }
    }

    /// `task name[v in xs, w in ys] after a, b { ... }`
    fn task(&mut self, task: &TaskDecl) -> Doc {
        let mut out = vec![text("task "), self.ident(&task.name)];
        if !task.loops.is_empty() {
            let mut inner = Vec::new();
            for (i, lv) in task.loops.iter().enumerate() {
                if i > 0 {
                    inner.push(text(","));
                }
                inner.push(self.comments_before(lv.name.span.start as usize));
                inner.push(if i == 0 { Doc::SoftLine } else { Doc::Line });
                inner.push(self.ident(&lv.name));
                inner.push(text(" in "));
                inner.push(self.expr(&lv.source));
            }
            inner.push(if_break(text(","), Doc::Nil));
            out.push(group(concat(vec![
                text("["),
                indent(concat(inner)),
                Doc::SoftLine,
                text("]"),
            ])));
        }
        if !task.after.is_empty() {
            let mut inner = Vec::new();
            for (i, name) in task.after.iter().enumerate() {
                if i > 0 {
                    inner.push(text(","));
                }
                inner.push(self.comments_before(name.span.start as usize));
                inner.push(Doc::Line);
                inner.push(self.ident(name));
            }
            out.push(text(" after"));
            out.push(group(indent(concat(inner))));
        }
        out.push(text(" "));
        out.push(self.block(&task.body));
        concat(out)
    }
}

/// Where an item starts and ends; `workflow` and `hooks` keep only their value's span, whose
/// start still finds the blank lines before the item.
fn item_span(item: &Item) -> (usize, usize) {
    let span = match item {
        Item::Workflow(e) | Item::Hooks(e) => e.span,
        Item::Import { span, .. }
        | Item::Param { span, .. }
        | Item::Let { span, .. }
        | Item::Resource { span, .. }
        | Item::Storage { span, .. }
        | Item::Job { span, .. } => *span,
    };
    (span.start as usize, span.end as usize)
}

fn entry_span(entry: &Entry) -> (usize, usize) {
    let span = match entry {
        Entry::Attr(a) => a.span,
        Entry::Nested(n) => n.span,
        Entry::Task(t) => t.span,
    };
    (span.start as usize, span.end as usize)
}
