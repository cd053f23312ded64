//! Go to definition, find references, rename, and the outline of a workflow.

use super::analysis::Analysis;
use super::rhai;
use super::symbols::{SymKind, Symbol};
use super::uri;
use crate::ast::{Entry, Item, ResourceKind};
use crate::source::Span;
use lsp_types::{DocumentSymbol, Location, Range, SymbolKind, TextEdit, Uri, WorkspaceEdit};

/// Where the name at `offset` is declared: in the workflow, or in the hook script.
pub fn definition(a: &Analysis, doc: &Uri, offset: usize) -> Option<Location> {
    let (sym, _) = a.index.at(offset)?;
    declaration(a, doc, a.index.symbols.get(sym)?)
}

/// Every use of the name at `offset`, and its declaration when `with_declaration`.
pub fn references(a: &Analysis, doc: &Uri, offset: usize, with_declaration: bool) -> Vec<Location> {
    let Some((sym, _)) = a.index.at(offset) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if with_declaration {
        out.extend(a.index.symbols.get(sym).and_then(|s| declaration(a, doc, s)));
    }
    out.extend(a.index.uses_of(sym).map(|s| Location::new(doc.clone(), range(a, s))));
    if let Some(s) = a.index.symbols.get(sym).filter(|s| s.kind == SymKind::HookFn) {
        out.extend(script_calls(a, &s.name).map(|(u, r)| Location::new(u, r)));
    }
    out
}

/// Where the hook script calls function `name`, as (script URI, range).
fn script_calls<'a>(a: &'a Analysis, name: &str) -> impl Iterator<Item = (Uri, Range)> + 'a {
    let found = a.hook.as_ref().and_then(|hook| {
        let script = uri::from_path(&hook.path)?;
        let lines = super::lines::Lines::new(&hook.text, a.lines.encoding());
        let calls = rhai::calls(&hook.text, name);
        Some(
            calls
                .into_iter()
                .map(move |(s, e)| (script.clone(), lines.range(&hook.text, s, e))),
        )
    });
    found.into_iter().flatten()
}

/// The range of the name `rename` would change at `offset`, or why it cannot.
pub fn prepare_rename(a: &Analysis, offset: usize) -> Result<Option<Range>, String> {
    let Some((sym, span)) = a.index.at(offset) else {
        return Ok(None);
    };
    renamable(a, a.index.symbols.get(sym))?;
    Ok(Some(range(a, span)))
}

/// The edits that rename the name at `offset` to `new_name` everywhere in the workflow (and,
/// for a hook function, in the hook script beside it).
pub fn rename(a: &Analysis, doc: &Uri, offset: usize, new_name: &str) -> Result<Option<WorkspaceEdit>, String> {
    let Some((sym, _)) = a.index.at(offset) else {
        return Ok(None);
    };
    let symbol = a.index.symbols.get(sym);
    renamable(a, symbol)?;
    if !is_ident(new_name) {
        return Err(format!(
            "`{new_name}` is not a name: names start with a letter or `_` and hold letters, digits, `_` and `-`"
        ));
    }
    let spans = symbol.and_then(|s| s.def).into_iter().chain(a.index.uses_of(sym));
    let edits: Vec<TextEdit> = spans
        .map(|s| TextEdit::new(range(a, s), new_name.to_string()))
        .collect();
    let mut changes = vec![(doc.clone(), edits)];
    if let Some(s) = symbol.filter(|s| s.kind == SymKind::HookFn) {
        changes.push(hook_rename(a, doc, s, new_name)?);
    }
    Ok(Some(WorkspaceEdit {
        changes: Some(changes.into_iter().collect()),
        ..WorkspaceEdit::default()
    }))
}

/// The edits of the hook script that rename function `s` (its declaration and the script's
/// calls), once the name is known to be free.
fn hook_rename(a: &Analysis, doc: &Uri, s: &Symbol, new_name: &str) -> Result<(Uri, Vec<TextEdit>), String> {
    if !new_name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(format!(
            "`{new_name}` is not a Rhai function name: use letters, digits and `_`"
        ));
    }
    if a.hook.iter().flat_map(|h| &h.functions).any(|f| f.name == new_name) {
        return Err(format!("the hook script already declares `{new_name}`"));
    }
    let declared = declaration(a, doc, s).ok_or("the hook script declares no such function")?;
    let edits = std::iter::once(declared.range)
        .chain(script_calls(a, &s.name).map(|(_, r)| r))
        .map(|r| TextEdit::new(r, new_name.to_string()))
        .collect();
    Ok((declared.uri, edits))
}

fn renamable(a: &Analysis, symbol: Option<&Symbol>) -> Result<(), String> {
    let Some(s) = symbol else { return Ok(()) };
    match s.kind {
        SymKind::HookFn => match &a.hook {
            None => Err("this workflow has no hook script to rename the function in".into()),
            Some(h) if h.named => {
                Err("the hook script is named with `hooks = ...` and may serve other workflows: rename the function there, then here".into())
            }
            Some(h) if !h.functions.iter().any(|f| f.name == s.name) => {
                Err(format!("the hook script declares no function `{}`", s.name))
            }
            Some(_) => Ok(()),
        },
        SymKind::Import => {
            // Without `as`, the name is the module path's last part, which is not the user's.
            let before = s
                .def
                .and_then(|d| a.text.as_bytes().get((d.start as usize).checked_sub(1)?));
            match before {
                Some(b'"' | b'/') => Err("name the import first: `import \"std/images\" as NAME`".into()),
                _ => Ok(()),
            }
        }
        _ => Ok(()),
    }
}

fn is_ident(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn declaration(a: &Analysis, doc: &Uri, s: &Symbol) -> Option<Location> {
    if let Some(def) = s.def {
        return Some(Location::new(doc.clone(), range(a, def)));
    }
    // A hook function: in the script.
    let hook = a.hook.as_ref()?;
    let f = hook.functions.iter().find(|f| f.name == s.name)?;
    let lines = super::lines::Lines::new(&hook.text, a.lines.encoding());
    Some(Location::new(
        uri::from_path(&hook.path)?,
        lines.range(&hook.text, f.start, f.end),
    ))
}

fn range(a: &Analysis, span: Span) -> Range {
    a.lines.range(&a.text, span.start as usize, span.end as usize)
}

/// The outline: params, lets, imports, registries, pools (with their blocks) and jobs (with
/// their tasks).
#[allow(deprecated)] // `DocumentSymbol::deprecated` must be written; `tags` replaces it.
pub fn outline(a: &Analysis) -> Vec<DocumentSymbol> {
    let Some(file) = &a.file else { return Vec::new() };
    let sym = |name: &str, detail: Option<String>, kind, item: Span, at: Span, children: Vec<DocumentSymbol>| {
        DocumentSymbol {
            name: if name.is_empty() { "?".into() } else { name.to_string() },
            detail,
            kind,
            tags: None,
            deprecated: None,
            range: range(a, item),
            selection_range: range(a, at),
            children: (!children.is_empty()).then_some(children),
        }
    };
    let nested = |body: &crate::ast::Block| -> Vec<DocumentSymbol> {
        body.entries
            .iter()
            .filter_map(|e| match e {
                Entry::Nested(n) => Some(sym(
                    &n.name.name,
                    None,
                    SymbolKind::STRUCT,
                    n.span,
                    n.name.span,
                    Vec::new(),
                )),
                Entry::Task(t) => {
                    let after: Vec<&str> = t.after.iter().map(|d| d.name.as_str()).collect();
                    let detail = (!after.is_empty()).then(|| format!("after {}", after.join(", ")));
                    Some(sym(
                        &t.name.name,
                        detail,
                        SymbolKind::FUNCTION,
                        t.span,
                        t.name.span,
                        Vec::new(),
                    ))
                }
                Entry::Attr(_) => None,
            })
            .collect()
    };
    file.items
        .iter()
        .filter_map(|item| match item {
            Item::Param { name, ty, span, .. } => Some(sym(
                &name.name,
                Some(ty.to_string()),
                SymbolKind::VARIABLE,
                *span,
                name.span,
                Vec::new(),
            )),
            Item::Let { name, span, .. } => {
                let detail = a.value(&name.name).map(|v| v.type_name().to_string());
                Some(sym(
                    &name.name,
                    detail,
                    SymbolKind::VARIABLE,
                    *span,
                    name.span,
                    Vec::new(),
                ))
            }
            Item::Import { path, alias, span } => {
                let at = alias.as_ref().map_or(path.span, |al| al.span);
                let text = path.as_plain_str().unwrap_or_default();
                Some(sym(&text, None, SymbolKind::MODULE, *span, at, Vec::new()))
            }
            Item::Resource { kind, name, body, span } => {
                let (k, detail) = match kind {
                    ResourceKind::Pool => (SymbolKind::CLASS, "pool"),
                    ResourceKind::Registry => (SymbolKind::OBJECT, "registry"),
                };
                Some(sym(&name.name, Some(detail.into()), k, *span, name.span, nested(body)))
            }
            Item::Job { name, pool, body, span } => Some(sym(
                &name.name,
                Some(format!("on {}", pool.name)),
                SymbolKind::NAMESPACE,
                *span,
                name.span,
                nested(body),
            )),
            Item::Storage { span, .. } => Some(sym("storage", None, SymbolKind::OBJECT, *span, *span, Vec::new())),
            Item::Workflow(_) | Item::Hooks(_) => None,
        })
        .collect()
}
