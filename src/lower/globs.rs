//! The globs a file hands to `files(...)`, read from the syntax tree before anything is
//! evaluated: the compiler scans the repository for them up front, so evaluation stays pure.
//! Only plain strings count; `files()` refuses anything else (BF006).

use crate::ast::{Arg, Block, Entry, Expr, ExprKind, File, Item, StrPart};

/// The name of the built-in function whose argument is read here.
pub const FILES: &str = "files";

/// Every plain-string argument of a `files(...)` call in `file`, in order, each once.
pub fn file_globs(file: &File) -> Vec<String> {
    let mut exprs: Vec<&Expr> = Vec::new();
    for item in &file.items {
        match item {
            Item::Workflow(e) | Item::Hooks(e) => exprs.push(e),
            Item::Import { path, .. } => exprs.push(path),
            Item::Param { default, .. } => exprs.extend(default.iter()),
            Item::Let { value, .. } => exprs.push(value),
            Item::Resource { body, .. } | Item::Storage { body, .. } | Item::Job { body, .. } => {
                block_exprs(body, &mut exprs);
            }
        }
    }
    let mut out: Vec<String> = Vec::new();
    while let Some(e) = exprs.pop() {
        match &e.kind {
            ExprKind::Call { name, args } => {
                if name.name == FILES {
                    for glob in args.iter().filter_map(|a| a.value.as_plain_str()) {
                        if !out.contains(&glob) {
                            out.push(glob);
                        }
                    }
                }
                exprs.extend(args.iter().map(|a: &Arg| &a.value));
            }
            ExprKind::Str(parts) => exprs.extend(parts.iter().filter_map(|p| match p {
                StrPart::Interp(e) => Some(e),
                StrPart::Lit(_) => None,
            })),
            ExprKind::List(items) | ExprKind::Sum(items) => exprs.extend(items),
            ExprKind::Map(attrs) => {
                for a in attrs {
                    exprs.push(&a.value);
                    exprs.extend(a.key_expr.iter());
                }
            }
            ExprKind::Range(a, b) => {
                exprs.push(a);
                exprs.push(b);
            }
            ExprKind::Path(_) | ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Duration(_) | ExprKind::Bool(_) => {}
        }
    }
    out.sort();
    out
}

/// The expressions of a block and of the blocks and tasks inside it.
fn block_exprs<'a>(block: &'a Block, out: &mut Vec<&'a Expr>) {
    let mut blocks = vec![block];
    while let Some(b) = blocks.pop() {
        for entry in &b.entries {
            match entry {
                Entry::Attr(a) => {
                    out.push(&a.value);
                    out.extend(a.key_expr.iter());
                }
                Entry::Nested(n) => blocks.push(&n.body),
                Entry::Task(t) => {
                    out.extend(t.loops.iter().map(|l| &l.source));
                    blocks.push(&t.body);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SrcId;

    #[test]
    fn globs_come_from_every_corner_of_the_file() {
        let text = r#"
let reads = files("data/*.fq")
param n: int = 2
pool p { vm_size = "x" image = "a:b:c" start_task { command = "${files(\"tools/*\")}" } }
job j on p {
  task align[f in files("data/*.fq"), g in files(glob = "ref/*.fa")] { command = "x" }
  task t { inputs { "a" = files("${n}/*") } }
}
"#;
        let file = crate::syntax::parse(SrcId(0), text).expect("parses");
        assert_eq!(file_globs(&file), vec!["data/*.fq", "ref/*.fa", "tools/*"]);
    }
}
