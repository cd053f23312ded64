//! Every name a workflow declares and every place it is used, from the syntax tree: params,
//! lets, imports, loop variables, registries, pools, jobs, tasks, and the hook functions
//! `rhai("name", ...)` calls (declared in the `.rhai` file).

use crate::ast::{Attr, Block, Entry, Expr, ExprKind, File, Ident, Item, ResourceKind, StrPart, TaskDecl};
use crate::source::Span;
use std::collections::HashMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SymKind {
    Param,
    Let,
    Import,
    LoopVar,
    Registry,
    Pool,
    Job,
    Task,
    HookFn,
}

impl SymKind {
    pub fn word(self) -> &'static str {
        match self {
            SymKind::Param => "param",
            SymKind::Let => "let",
            SymKind::Import => "import",
            SymKind::LoopVar => "loop variable",
            SymKind::Registry => "registry",
            SymKind::Pool => "pool",
            SymKind::Job => "job",
            SymKind::Task => "task",
            SymKind::HookFn => "hook function",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Symbol {
    pub kind: SymKind,
    pub name: String,
    /// Where the name is declared in the workflow (`None` for a hook function, declared in
    /// the hook script).
    pub def: Option<Span>,
    /// The whole declaration (the item or the task), for the outline.
    pub item: Option<Span>,
    /// The job of a task; the task of a loop variable.
    pub scope: Option<String>,
}

/// A name's declarations and uses.
#[derive(Debug, Default)]
pub struct Index {
    pub symbols: Vec<Symbol>,
    /// (symbol, the span of the name where it is used).
    pub uses: Vec<(usize, Span)>,
}

impl Index {
    pub fn build(file: &File) -> Index {
        let mut b = Builder::default();
        b.declare(file);
        b.walk(file);
        b.index
    }

    /// The symbol whose name is at `offset` (at its declaration or a use; the end of a name
    /// counts, so a cursor just after it finds it), with the span of that occurrence.
    pub fn at(&self, offset: usize) -> Option<(usize, Span)> {
        let hit = |s: &Span| s.start as usize <= offset && offset <= s.end as usize;
        let def = self
            .symbols
            .iter()
            .enumerate()
            .find_map(|(i, s)| s.def.filter(hit).map(|d| (i, d)));
        def.or_else(|| self.uses.iter().find(|(_, s)| hit(s)).copied())
    }

    pub fn uses_of(&self, symbol: usize) -> impl Iterator<Item = Span> + '_ {
        self.uses.iter().filter(move |(i, _)| *i == symbol).map(|(_, s)| *s)
    }
}

/// A symbol's identity: its kind, name and scope.
type Key = (SymKind, String, Option<String>);

#[derive(Default)]
struct Builder {
    index: Index,
    /// Where each symbol is in `index.symbols` (a file may declare tens of thousands).
    by_key: HashMap<Key, usize>,
}

/// Where a walk is: the job and task around it, the loop variables in scope, and the
/// attribute whose value it is in.
#[derive(Clone, Copy, Default)]
struct Place<'a> {
    job: Option<&'a str>,
    task: Option<&'a TaskDecl>,
    key: Option<&'a str>,
}

impl Builder {
    fn find(&self, kind: SymKind, name: &str, scope: Option<&str>) -> Option<usize> {
        self.by_key
            .get(&(kind, name.to_string(), scope.map(str::to_string)))
            .copied()
    }

    fn add(&mut self, kind: SymKind, name: &Ident, item: Span, scope: Option<&str>) {
        if let Some(first) = self.find(kind, &name.name, scope) {
            // A second declaration (BF003) is a use of the first, so a rename renames both.
            self.index.uses.push((first, name.span));
            return;
        }
        let key = (kind, name.name.clone(), scope.map(str::to_string));
        self.by_key.insert(key, self.index.symbols.len());
        self.index.symbols.push(Symbol {
            kind,
            name: name.name.clone(),
            def: Some(name.span),
            item: Some(item),
            scope: scope.map(str::to_string),
        });
    }

    fn declare(&mut self, file: &File) {
        for item in &file.items {
            match item {
                Item::Param { name, span, .. } => self.add(SymKind::Param, name, *span, None),
                Item::Let { name, span, .. } => self.add(SymKind::Let, name, *span, None),
                Item::Import {
                    alias: Some(alias),
                    span,
                    ..
                } => self.add(SymKind::Import, alias, *span, None),
                Item::Import { path, span, .. } => {
                    if let Some(p) = path.as_plain_str() {
                        let name = p.rsplit('/').next().unwrap_or(&p).to_string();
                        let inner = Span {
                            start: path.span.start.saturating_add(1),
                            end: path.span.end.saturating_sub(1).max(path.span.start),
                            ..path.span
                        };
                        self.add(SymKind::Import, &Ident { name, span: inner }, *span, None);
                    }
                }
                Item::Resource { kind, name, span, .. } => {
                    let k = match kind {
                        ResourceKind::Pool => SymKind::Pool,
                        ResourceKind::Registry => SymKind::Registry,
                    };
                    self.add(k, name, *span, None);
                }
                Item::Job { name, body, span, .. } => {
                    self.add(SymKind::Job, name, *span, None);
                    for entry in &body.entries {
                        if let Entry::Task(t) = entry {
                            self.add(SymKind::Task, &t.name, t.span, Some(&name.name));
                            for var in &t.loops {
                                self.add(SymKind::LoopVar, &var.name, var.name.span, Some(&task_scope(t)));
                            }
                        }
                    }
                }
                Item::Workflow(_) | Item::Hooks(_) | Item::Storage { .. } => {}
            }
        }
    }

    fn walk(&mut self, file: &File) {
        let top = Place::default();
        for item in &file.items {
            match item {
                Item::Workflow(e) | Item::Hooks(e) => self.expr(e, top),
                Item::Param { default, .. } => default.iter().for_each(|e| self.expr(e, top)),
                Item::Let { value, .. } => self.expr(value, top),
                Item::Import { .. } => {}
                Item::Resource { body, .. } | Item::Storage { body, .. } => self.block(body, top),
                Item::Job { name, pool, body, .. } => {
                    self.use_of(SymKind::Pool, pool, None);
                    self.block(
                        body,
                        Place {
                            job: Some(&name.name),
                            ..top
                        },
                    );
                }
            }
        }
    }

    fn block<'a>(&mut self, block: &'a Block, place: Place<'a>) {
        for entry in &block.entries {
            match entry {
                Entry::Attr(a) => self.attr(a, place),
                Entry::Nested(n) => self.block(&n.body, place),
                Entry::Task(t) => self.task(t, place),
            }
        }
    }

    fn attr<'a>(&mut self, a: &'a Attr, place: Place<'a>) {
        if let Some(k) = &a.key_expr {
            self.expr(k, place);
        }
        let key = Some(a.key.name.as_str());
        self.expr(&a.value, Place { key, ..place });
    }

    fn task<'a>(&mut self, t: &'a TaskDecl, place: Place<'a>) {
        for var in &t.loops {
            self.expr(&var.source, place);
        }
        for dep in &t.after {
            // `after train-3` names one instance of `train`: the use is the name's part.
            let base = self.task_base(&dep.name, place.job);
            if let Some((sym, len)) = base {
                let span = Span {
                    end: dep.span.start.saturating_add(len),
                    ..dep.span
                };
                self.index.uses.push((sym, span));
            }
        }
        self.block(&t.body, Place { task: Some(t), ..place });
    }

    fn task_base(&self, name: &str, job: Option<&str>) -> Option<(usize, u32)> {
        let mut candidate = name;
        loop {
            if let Some(i) = self.find(SymKind::Task, candidate, job) {
                return Some((i, u32::try_from(candidate.len()).unwrap_or(0)));
            }
            let (head, tail) = candidate.rsplit_once('-')?;
            if tail.is_empty() || !tail.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            candidate = head;
        }
    }

    fn use_of(&mut self, kind: SymKind, name: &Ident, scope: Option<&str>) -> bool {
        match self.find(kind, &name.name, scope) {
            Some(i) => {
                self.index.uses.push((i, name.span));
                true
            }
            None => false,
        }
    }

    fn expr<'a>(&mut self, e: &'a Expr, place: Place<'a>) {
        match &e.kind {
            ExprKind::Path(parts) => {
                if let Some(first) = parts.first() {
                    self.word(first, place);
                }
            }
            ExprKind::Call { name, args } => {
                if name.name == "rhai" {
                    if let Some(f) = args.first() {
                        self.hook_call(&f.value);
                    }
                }
                for a in args {
                    self.expr(&a.value, Place { key: None, ..place });
                }
            }
            ExprKind::Str(parts) => {
                for p in parts {
                    if let StrPart::Interp(inner) = p {
                        self.expr(inner, place);
                    }
                }
            }
            ExprKind::List(items) | ExprKind::Sum(items) => items.iter().for_each(|i| self.expr(i, place)),
            ExprKind::Map(attrs) => attrs.iter().for_each(|a| self.attr(a, Place { key: None, ..place })),
            ExprKind::Range(a, b) => {
                self.expr(a, place);
                self.expr(b, place);
            }
            ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Duration(_) | ExprKind::Bool(_) => {}
        }
    }

    /// A bare word: a loop variable, a global, or (in `registries` and a job's `after`) a
    /// registry or a job. Other words (`admin`, `task`) are values, not names.
    fn word(&mut self, id: &Ident, place: Place<'_>) {
        if let Some(t) = place.task {
            if t.loops.iter().any(|l| l.name.name == id.name) {
                self.use_of(SymKind::LoopVar, id, Some(&task_scope(t)));
                return;
            }
        }
        for kind in [SymKind::Let, SymKind::Param, SymKind::Import] {
            if self.use_of(kind, id, None) {
                return;
            }
        }
        match place.key {
            Some("registries") => {
                self.use_of(SymKind::Registry, id, None);
            }
            Some("after") if place.task.is_none() => {
                self.use_of(SymKind::Job, id, None);
            }
            _ => {}
        }
    }

    /// `rhai("name", ...)`: a use of hook function `name`, at the string's text.
    fn hook_call(&mut self, e: &Expr) {
        let Some(name) = e.as_plain_str() else { return };
        let i = match self.find(SymKind::HookFn, &name, None) {
            Some(i) => i,
            None => {
                self.by_key
                    .insert((SymKind::HookFn, name.clone(), None), self.index.symbols.len());
                self.index.symbols.push(Symbol {
                    kind: SymKind::HookFn,
                    name: name.clone(),
                    def: None,
                    item: None,
                    scope: None,
                });
                self.index.symbols.len() - 1
            }
        };
        let quote = u32::from(e.span.len() >= 2);
        let span = Span {
            start: e.span.start.saturating_add(quote),
            end: e.span.end.saturating_sub(quote).max(e.span.start),
            ..e.span
        };
        self.index.uses.push((i, span));
    }
}

/// Loop variables are scoped to their task declaration, which its span tells apart.
fn task_scope(t: &TaskDecl) -> String {
    format!("{}@{}", t.name.name, t.span.start)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SrcId;

    fn index(text: &str) -> Index {
        Index::build(&crate::syntax::parse(SrcId(0), text).expect("parses"))
    }

    fn names_at(ix: &Index, text: &str, word: &str) -> Vec<String> {
        let at = text.find(word).expect("word");
        let (sym, _) = ix.at(at).expect("a symbol");
        let s = &ix.symbols[sym];
        let mut out = vec![format!("{} {}", s.kind.word(), s.name)];
        out.extend(
            ix.uses_of(sym)
                .map(|u| text[u.start as usize..u.end as usize].to_string()),
        );
        out
    }

    #[test]
    fn globals_tasks_and_loop_variables() {
        let text = "param n: int = 2\nlet msg = \"hi ${n}\"\npool p { vm_size = \"x\" }\njob j on p {\n  task a[s in 0..n] { command = \"${msg} ${s}\" }\n  task b after a-1, a { command = rhai(\"f\", n) }\n}\n";
        let ix = index(text);
        assert_eq!(names_at(&ix, text, "n:"), ["param n", "n", "n", "n"]);
        assert_eq!(names_at(&ix, text, "msg"), ["let msg", "msg"]);
        assert_eq!(names_at(&ix, text, "p {"), ["pool p", "p"]);
        assert_eq!(names_at(&ix, text, "a[s"), ["task a", "a", "a"]);
        assert_eq!(names_at(&ix, text, "s in"), ["loop variable s", "s"]);
        assert_eq!(names_at(&ix, text, "f\""), ["hook function f", "f"]);
    }

    #[test]
    fn registries_and_job_order() {
        let text = "registry acr { server = \"a\" }\npool p { containers { registries = [acr] } }\njob one on p { }\njob two on p { after = one }\n";
        let ix = index(text);
        assert_eq!(names_at(&ix, text, "acr"), ["registry acr", "acr"]);
        assert_eq!(names_at(&ix, text, "one on"), ["job one", "one"]);
    }
}
