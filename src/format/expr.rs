//! Expressions: strings, numbers and durations exactly as written; lists and calls on one
//! line when they fit, else one element a line with a trailing comma; sums broken before
//! `+`; maps laid out like blocks; parentheses kept where the source has them.

use super::doc::{concat, group, if_break, indent, text, Doc};
use super::lines::{self, LineKind};
use super::trivia::Fmt;
use super::WIDTH;
use crate::ast::{Arg, Attr, Expr, ExprKind, Ident};
use crate::source::Span;

impl Fmt<'_> {
    pub fn expr(&mut self, e: &Expr) -> Doc {
        let lead = self.comments_before(e.span.start as usize);
        if !self.parenthesized(e) {
            return concat(vec![lead, self.bare(e, e.span)]);
        }
        let inner = match e.kind {
            ExprKind::Sum(_) | ExprKind::Range(..) => e.span,
            _ => self.inside_parens(e.span),
        };
        let body = self.bare(e, inner);
        let tail = self.comments_before((e.span.end as usize).saturating_sub(1));
        concat(vec![lead, text("("), body, tail, text(")")])
    }

    /// Written in parentheses: the span starts with `(` that no part of it starts with.
    fn parenthesized(&self, e: &Expr) -> bool {
        if !self.src(e.span).starts_with('(') {
            return false;
        }
        match &e.kind {
            ExprKind::Sum(terms) => terms.first().is_none_or(|t| t.span.start > e.span.start),
            ExprKind::Range(a, _) => a.span.start > e.span.start,
            _ => true,
        }
    }

    /// `e` without its parentheses; `span` is where it is written.
    fn bare(&mut self, e: &Expr, span: Span) -> Doc {
        match &e.kind {
            ExprKind::Str(_) | ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Duration(_) | ExprKind::Bool(_) => {
                self.token(span)
            }
            ExprKind::List(items) => {
                let docs = self.elements(items, |item| item.span.start, |f, item| f.expr(item));
                self.bracketed("[", docs, span, "]")
            }
            ExprKind::Call { name, args } => {
                let name = self.ident(name);
                let docs = self.elements(args, arg_start, |f, arg| f.arg(arg));
                concat(vec![name, self.bracketed("(", docs, span, ")")])
            }
            ExprKind::Path(parts) => {
                let mut out = Vec::new();
                for (i, part) in parts.iter().enumerate() {
                    if i > 0 {
                        out.push(text("."));
                    }
                    out.push(self.ident(part));
                }
                concat(out)
            }
            ExprKind::Sum(terms) => {
                let mut rest = Vec::new();
                let mut terms = terms.iter();
                let first = terms.next().map_or(Doc::Nil, |t| self.expr(t));
                for t in terms {
                    rest.push(self.comments_before(t.span.start as usize));
                    rest.push(Doc::Line);
                    rest.push(text("+ "));
                    rest.push(self.expr(t));
                }
                group(concat(vec![first, indent(concat(rest))]))
            }
            ExprKind::Range(a, b) => {
                let a = self.expr(a);
                let between = self.comments_before(b.span.start as usize);
                concat(vec![a, between, text(".."), self.expr(b)])
            }
            ExprKind::Map(attrs) => self.map(attrs, span),
        }
    }

    /// A token written out as it is: a string (interpolations and all), a number, a duration.
    fn token(&mut self, span: Span) -> Doc {
        let lead = self.comments_before(span.start as usize);
        self.skip_to(span.end as usize);
        concat(vec![lead, text(self.src(span))])
    }

    pub fn ident(&mut self, id: &Ident) -> Doc {
        let lead = self.comments_before(id.span.start as usize);
        concat(vec![lead, text(id.name.as_str())])
    }

    fn arg(&mut self, arg: &Arg) -> Doc {
        match &arg.name {
            Some(name) => {
                let name = self.ident(name);
                let value = self.expr(&arg.value);
                concat(vec![name, text(" = "), value])
            }
            None => self.expr(&arg.value),
        }
    }

    /// Each element's leading comments and doc, built in order.
    fn elements<T>(
        &mut self,
        items: &[T],
        start_of: impl Fn(&T) -> u32,
        mut build: impl FnMut(&mut Self, &T) -> Doc,
    ) -> Vec<(Doc, Doc)> {
        let mut out = Vec::new();
        for item in items {
            let before = self.comments_before(start_of(item) as usize);
            out.push((before, build(self, item)));
        }
        out
    }

    /// `open` elements `close`: flat when it fits, else one element a line and a trailing comma.
    fn bracketed(&mut self, open: &str, elements: Vec<(Doc, Doc)>, span: Span, close: &str) -> Doc {
        let end = self.comments_before((span.end as usize).saturating_sub(1));
        if elements.is_empty() && matches!(end, Doc::Nil) {
            return text(format!("{open}{close}"));
        }
        let mut inner = Vec::new();
        let count = elements.len();
        for (i, (before, doc)) in elements.into_iter().enumerate() {
            if i > 0 {
                inner.push(text(","));
            }
            inner.push(before);
            inner.push(if i == 0 { Doc::SoftLine } else { Doc::Line });
            inner.push(doc);
        }
        // One token alone (a long string) stays hugged: breaking would not shorten the line.
        if let [Doc::Nil, Doc::SoftLine, only] = inner.as_slice() {
            if matches!(end, Doc::Nil) && !only.can_break() {
                inner.drain(..2);
                return concat(vec![text(open), concat(inner), text(close)]);
            }
        }
        if count > 0 {
            inner.push(if_break(text(","), Doc::Nil));
        }
        inner.push(end);
        group(concat(vec![
            text(open),
            indent(concat(inner)),
            Doc::SoftLine,
            text(close),
        ]))
    }

    /// `{ key = value ... }` as a value: laid out as a block is (see `items.rs`).
    fn map(&mut self, attrs: &[Attr], span: Span) -> Doc {
        let open = span.start as usize;
        let close = (span.end as usize).saturating_sub(1);
        let flat_ok = !self.newline_between(open, close);
        self.depth += 1;
        let body = self.body(
            attrs,
            close,
            |a| (a.span.start as usize, a.span.end as usize),
            |f, a| f.attr(a),
        );
        self.depth -= 1;
        lines::braces(body, flat_ok, (self.depth + 1) * 2, WIDTH)
    }

    /// `key = value`, the key as written (a name or a string).
    pub fn attr(&mut self, a: &Attr) -> LineKind {
        self.skip_to(a.key.span.end as usize);
        let key = self.src(a.key.span).to_string();
        let value = self.expr(&a.value);
        LineKind::Attr { key, value }
    }
}

fn arg_start(arg: &Arg) -> u32 {
    arg.name.as_ref().map_or(arg.value.span.start, |n| n.span.start)
}
