//! Whether two syntax trees say the same thing: equal but for spans (the formatter moves
//! every span) and with the same comments in the same order.

use crate::ast::{Arg, Attr, Block, Entry, Expr, ExprKind, File, Ident, Item, StrPart};

/// `a` (parsed from `a_text`) and `b` (from `b_text`) hold the same items and comments.
pub fn same_file(a: &File, a_text: &str, b: &File, b_text: &str) -> bool {
    let comments = |f: &File, text: &str| -> Vec<String> {
        f.comments
            .iter()
            .map(|c| {
                text.get(c.start as usize..c.end as usize)
                    .unwrap_or("")
                    .trim_end()
                    .to_string()
            })
            .collect()
    };
    all(&a.items, &b.items, item) && comments(a, a_text) == comments(b, b_text)
}

fn all<T>(a: &[T], b: &[T], same: fn(&T, &T) -> bool) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
}

fn ident(a: &Ident, b: &Ident) -> bool {
    a.name == b.name
}

fn opt<T>(a: &Option<T>, b: &Option<T>, same: fn(&T, &T) -> bool) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => same(x, y),
        (None, None) => true,
        _ => false,
    }
}

fn item(a: &Item, b: &Item) -> bool {
    match (a, b) {
        (Item::Workflow(x), Item::Workflow(y)) | (Item::Hooks(x), Item::Hooks(y)) => expr(x, y),
        (Item::Import { path: p, alias: a, .. }, Item::Import { path: q, alias: b, .. }) => {
            expr(p, q) && opt(a, b, ident)
        }
        (
            Item::Param {
                name: n,
                ty: t,
                default: d,
                ..
            },
            Item::Param {
                name: m,
                ty: u,
                default: e,
                ..
            },
        ) => ident(n, m) && t == u && opt(d, e, expr),
        (Item::Let { name: n, value: v, .. }, Item::Let { name: m, value: w, .. }) => ident(n, m) && expr(v, w),
        (
            Item::Resource {
                kind: k,
                name: n,
                body: x,
                ..
            },
            Item::Resource {
                kind: l,
                name: m,
                body: y,
                ..
            },
        ) => k == l && ident(n, m) && block(x, y),
        (Item::Storage { body: x, .. }, Item::Storage { body: y, .. }) => block(x, y),
        (
            Item::Job {
                name: n,
                pool: p,
                body: x,
                ..
            },
            Item::Job {
                name: m,
                pool: q,
                body: y,
                ..
            },
        ) => ident(n, m) && ident(p, q) && block(x, y),
        _ => false,
    }
}

fn block(a: &Block, b: &Block) -> bool {
    all(&a.entries, &b.entries, entry)
}

fn entry(a: &Entry, b: &Entry) -> bool {
    match (a, b) {
        (Entry::Attr(x), Entry::Attr(y)) => attr(x, y),
        (Entry::Nested(x), Entry::Nested(y)) => ident(&x.name, &y.name) && block(&x.body, &y.body),
        (Entry::Task(x), Entry::Task(y)) => {
            ident(&x.name, &y.name)
                && x.loops.len() == y.loops.len()
                && x.loops
                    .iter()
                    .zip(&y.loops)
                    .all(|(l, m)| ident(&l.name, &m.name) && expr(&l.source, &m.source))
                && all(&x.after, &y.after, ident)
                && block(&x.body, &y.body)
        }
        _ => false,
    }
}

fn attr(a: &Attr, b: &Attr) -> bool {
    ident(&a.key, &b.key) && opt(&a.key_expr, &b.key_expr, expr) && expr(&a.value, &b.value)
}

fn arg(a: &Arg, b: &Arg) -> bool {
    opt(&a.name, &b.name, ident) && expr(&a.value, &b.value)
}

fn part(a: &StrPart, b: &StrPart) -> bool {
    match (a, b) {
        (StrPart::Lit(x), StrPart::Lit(y)) => x == y,
        (StrPart::Interp(x), StrPart::Interp(y)) => expr(x, y),
        _ => false,
    }
}

fn expr(a: &Expr, b: &Expr) -> bool {
    match (&a.kind, &b.kind) {
        (ExprKind::Str(x), ExprKind::Str(y)) => all(x, y, part),
        (ExprKind::Int(x), ExprKind::Int(y)) => x == y,
        (ExprKind::Float(x), ExprKind::Float(y)) => x.to_bits() == y.to_bits(),
        (ExprKind::Duration(x), ExprKind::Duration(y)) => x == y,
        (ExprKind::Bool(x), ExprKind::Bool(y)) => x == y,
        (ExprKind::List(x), ExprKind::List(y)) | (ExprKind::Sum(x), ExprKind::Sum(y)) => all(x, y, expr),
        (ExprKind::Map(x), ExprKind::Map(y)) => all(x, y, attr),
        (ExprKind::Path(x), ExprKind::Path(y)) => all(x, y, ident),
        (ExprKind::Call { name: n, args: x }, ExprKind::Call { name: m, args: y }) => ident(n, m) && all(x, y, arg),
        (ExprKind::Range(s, e), ExprKind::Range(t, f)) => expr(s, t) && expr(e, f),
        _ => false,
    }
}
