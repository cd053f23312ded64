//! Completion from the text as it is being typed: item keywords, the attributes and blocks a
//! block takes, values the stdlib knows (VM sizes, images, node agents: none that is retired),
//! the workflow's names, pools after `on`, tasks after `after`, hook functions in `rhai("…")`.

use super::analysis::Analysis;
use super::context::{self, DeclKind, Want};
use super::images::module_images;
use crate::lower::schema_of;
use crate::stdlib::{self, Date};
use lsp_types::{CompletionItem, CompletionItemKind, CompletionTextEdit, TextEdit};

const ITEMS: [&str; 9] = [
    "workflow", "import", "hooks", "param", "let", "registry", "pool", "job", "storage",
];
const TYPES: [&str; 6] = ["int", "float", "string", "bool", "duration", "list<"];
const FUNCTIONS: [&str; 6] = ["marketplace", "gallery_image", "managed_image", "secret", "env", "rhai"];

/// What may go at `offset` of `text`; `a` is the latest analysis (for the hook functions).
pub fn complete(text: &str, offset: usize, a: &Analysis, today: Date) -> Vec<CompletionItem> {
    let scan = context::scan(text, Some(offset));
    let Some(cursor) = scan.cursor else { return Vec::new() };
    let names = |kind: DeclKind| {
        scan.decls
            .iter()
            .filter(move |d| d.kind == kind)
            .map(|d| d.name.clone())
    };
    let mut out = Out {
        items: Vec::new(),
        range: (cursor.word_start.min(offset), offset),
        a,
        text,
    };
    match &cursor.want {
        Want::Item => out.words(ITEMS, CompletionItemKind::KEYWORD, ""),
        Want::Type => out.words(TYPES, CompletionItemKind::TYPE_PARAMETER, ""),
        Want::Pool => out.words(names(DeclKind::Pool), CompletionItemKind::CLASS, ""),
        Want::Job => out.words(names(DeclKind::Job), CompletionItemKind::MODULE, ""),
        Want::Registry => out.words(names(DeclKind::Registry), CompletionItemKind::STRUCT, ""),
        Want::Task(job) => {
            let tasks = scan.decls.iter().filter(|d| d.kind == DeclKind::Task && d.job == *job);
            out.words(tasks.map(|d| d.name.clone()), CompletionItemKind::FUNCTION, "");
        }
        Want::Key(path) => {
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            if let Some(schema) = schema_of(&path) {
                out.words(schema.attrs.iter().copied(), CompletionItemKind::PROPERTY, " = ");
                out.words(schema.blocks.iter().copied(), CompletionItemKind::STRUCT, " {");
                if schema.tasks {
                    out.words(["task"], CompletionItemKind::KEYWORD, " ");
                }
            }
        }
        Want::Value { key, .. } => match key.as_deref() {
            Some("vm_size") => out.vm_sizes(today, true),
            Some("node_agent") => out.node_agents(today, true),
            Some("image") => out.images(today, &scan.decls),
            Some("elevation") => out.words(["admin", "nonadmin"], CompletionItemKind::ENUM_MEMBER, ""),
            Some("scope") => out.words(["task", "pool"], CompletionItemKind::ENUM_MEMBER, ""),
            Some("wait_for_success" | "inter_node" | "cache") => {
                out.words(["true", "false"], CompletionItemKind::VALUE, "");
            }
            _ => {
                out.words(cursor.loop_vars.iter().cloned(), CompletionItemKind::VARIABLE, "");
                for kind in [DeclKind::Param, DeclKind::Let] {
                    out.words(names(kind), CompletionItemKind::VARIABLE, "");
                }
                out.words(names(DeclKind::Import), CompletionItemKind::MODULE, ".");
                out.words(FUNCTIONS, CompletionItemKind::FUNCTION, "(");
            }
        },
        Want::Str {
            key, call, start, end, ..
        } => {
            out.range = (*start, (*end).max(offset));
            match (key.as_deref(), call.as_deref()) {
                (_, Some("rhai")) => {
                    let fns = a.hook.iter().flat_map(|h| h.functions.iter().map(|f| f.name.clone()));
                    out.words(fns, CompletionItemKind::FUNCTION, "");
                }
                (Some("vm_size"), _) => out.vm_sizes(today, false),
                (Some("node_agent"), _) => out.node_agents(today, false),
                (Some("image"), None) => {
                    let urns = live_images(today).map(|i| format!("{}:{}:{}", i.publisher, i.offer, i.sku));
                    out.words(urns, CompletionItemKind::VALUE, "");
                }
                _ => {}
            }
        }
        Want::Nothing => {}
    }
    out.items
}

fn live_images(today: Date) -> impl Iterator<Item = &'static stdlib::ImageInfo> {
    stdlib::images()
        .iter()
        .filter(move |i| !i.retirement.is_some_and(|r| r.refuses_pools(today)))
}

struct Out<'a> {
    items: Vec<CompletionItem>,
    /// The bytes the chosen item replaces.
    range: (usize, usize),
    a: &'a Analysis,
    text: &'a str,
}

impl Out<'_> {
    fn push(&mut self, label: String, insert: String, kind: CompletionItemKind, doc: Option<String>) {
        let range = self.a_range();
        self.items.push(CompletionItem {
            label,
            kind: Some(kind),
            documentation: doc.map(|d| {
                lsp_types::Documentation::MarkupContent(lsp_types::MarkupContent {
                    kind: lsp_types::MarkupKind::Markdown,
                    value: d,
                })
            }),
            text_edit: Some(CompletionTextEdit::Edit(TextEdit::new(range, insert))),
            ..CompletionItem::default()
        });
    }

    fn a_range(&self) -> lsp_types::Range {
        // Positions of the text being typed (the analysis may be of an older version).
        let lines = super::lines::Lines::new(self.text, self.a.lines.encoding());
        lines.range(self.text, self.range.0, self.range.1)
    }

    fn words<S: Into<String>>(&mut self, words: impl IntoIterator<Item = S>, kind: CompletionItemKind, suffix: &str) {
        let mut seen: Vec<String> = Vec::new();
        for w in words {
            let w: String = w.into();
            if w.is_empty() || seen.contains(&w) {
                continue;
            }
            self.push(w.clone(), format!("{w}{suffix}"), kind, None);
            seen.push(w);
        }
    }

    fn vm_sizes(&mut self, today: Date, quoted: bool) {
        for s in stdlib::vm_sizes()
            .iter()
            .filter(|s| !s.is_retired(today) && s.retired.is_none())
        {
            let insert = if quoted {
                format!("\"{}\"", s.name)
            } else {
                s.name.clone()
            };
            let doc = super::facts::vm_size(s, today);
            self.push(s.name.clone(), insert, CompletionItemKind::VALUE, Some(doc));
        }
    }

    fn node_agents(&mut self, today: Date, quoted: bool) {
        let live = stdlib::node_agents()
            .iter()
            .filter(|a| !a.retirement.is_some_and(|r| r.refuses_pools(today)));
        for agent in live {
            let insert = if quoted {
                format!("\"{}\"", agent.id)
            } else {
                agent.id.clone()
            };
            let doc = super::facts::node_agent(agent, today);
            self.push(agent.id.clone(), insert, CompletionItemKind::VALUE, Some(doc));
        }
    }

    fn images(&mut self, today: Date, decls: &[context::Decl]) {
        let alias = decls
            .iter()
            .find(|d| d.kind == DeclKind::Import && self.a.file.as_ref().is_none_or(|f| is_images(f, &d.name)));
        if let Some(alias) = alias {
            for (name, info) in module_images() {
                if info.retirement.is_some_and(|r| r.refuses_pools(today)) {
                    continue;
                }
                let text = format!("{}.{name}", alias.name);
                let doc = super::facts::image(info, today);
                self.push(text.clone(), text, CompletionItemKind::CONSTANT, Some(doc));
            }
        }
        for i in live_images(today) {
            let text = format!("marketplace(\"{}\", \"{}\", \"{}\")", i.publisher, i.offer, i.sku);
            let doc = super::facts::image(i, today);
            self.push(text.clone(), text, CompletionItemKind::VALUE, Some(doc));
        }
    }
}

fn is_images(file: &crate::ast::File, alias: &str) -> bool {
    super::images::import_path(file, alias).is_none_or(|p| p == "std/images")
}
