//! Hover: what a name stands for (a param's or let's type and value, a pool's size, a task's
//! instances), what the stdlib knows of a VM size, an image or a node agent, and what a rule
//! reported here (or named in a comment) is about.

use super::analysis::Analysis;
use super::facts;
use super::find::{self, Found};
use super::images;
use super::symbols::SymKind;
use crate::ast::StrPart;
use crate::diagnostics::Code;
use crate::stdlib::{self, Date};
use crate::value::Value;

/// Markdown for the hover at `offset`, and the byte range it is about.
pub fn hover(a: &Analysis, offset: usize, today: Date) -> Option<(String, (usize, usize))> {
    let mut parts: Vec<String> = Vec::new();
    let mut range = None;
    if let Some((sym, span)) = a.index.at(offset) {
        parts.push(name(a, sym));
        range = Some((span.start as usize, span.end as usize));
    } else if let Some(found) = a.file.as_ref().and_then(|f| find::expr_at(f, offset)) {
        if let Some(text) = value_facts(a, &found, today) {
            parts.push(text);
            range = Some((found.expr.span.start as usize, found.expr.span.end as usize));
        }
    }
    let mut codes: Vec<Code> = a
        .diagnostics
        .iter()
        .filter(|d| d.span.src == a.src && find::inside(d.span, offset))
        .map(|d| d.code)
        .collect();
    codes.extend(code_word(&a.text, offset));
    codes.dedup();
    for code in codes {
        let text = facts::rule(code);
        if !parts.contains(&text) {
            parts.push(text);
        }
    }
    if parts.is_empty() {
        return None;
    }
    Some((parts.join("\n\n---\n\n"), range.unwrap_or((offset, offset))))
}

/// A rule code such as `BF101` written at `offset` (in a comment, say).
fn code_word(text: &str, offset: usize) -> Option<Code> {
    let b = text.as_bytes();
    let word = |c: &u8| c.is_ascii_alphanumeric();
    let mut start = offset.min(b.len());
    while start > 0 && b.get(start - 1).is_some_and(word) {
        start -= 1;
    }
    let mut end = offset.min(b.len());
    while b.get(end).is_some_and(word) {
        end += 1;
    }
    let w = text.get(start..end)?;
    (w.len() == 5 && w.starts_with("BF")).then(|| Code::parse(w)).flatten()
}

/// A declared name: how it is declared and what it is.
fn name(a: &Analysis, sym: usize) -> String {
    let Some(s) = a.index.symbols.get(sym) else {
        return String::new();
    };
    let source = |span: Option<crate::source::Span>| {
        span.map_or("", |sp| a.text.get(sp.start as usize..sp.end as usize).unwrap_or(""))
    };
    let code = |text: &str| format!("```batchflow\n{}\n```", first_lines(text, 6));
    match s.kind {
        SymKind::Param | SymKind::Let => {
            let mut out = code(source(s.item));
            match a.value(&s.name) {
                Some(v) => out.push_str(&format!("\n\n{}: `{}`", v.type_name(), show(v))),
                None if s.kind == SymKind::Param => out.push_str("\n\nno value (give one with `--param`)"),
                None => out.push_str("\n\nno value (it does not evaluate)"),
            }
            out
        }
        SymKind::Import => code(source(s.item)),
        SymKind::LoopVar => format!(
            "loop variable `{}` of task `{}`",
            s.name,
            s.scope.as_deref().and_then(|t| t.split('@').next()).unwrap_or("")
        ),
        SymKind::Pool => pool(a, &s.name),
        SymKind::Job => job(a, &s.name),
        SymKind::Task => task(a, &s.name, s.scope.as_deref()),
        SymKind::Registry => code(source(s.item)),
        SymKind::HookFn => match a.hook.as_ref() {
            Some(h) => {
                let line = h
                    .functions
                    .iter()
                    .find(|f| f.name == s.name)
                    .and_then(|f| h.text.get(f.start..).and_then(|t| t.lines().next()))
                    .map(|l| format!("```rhai\nfn {l}\n```\n\n"))
                    .unwrap_or_default();
                format!("{line}hook function `{}` in `{}`", s.name, h.path.display())
            }
            None => format!("hook function `{}` (no hook script found)", s.name),
        },
    }
}

fn pool(a: &Analysis, name: &str) -> String {
    let Some(p) = a
        .workflow
        .as_ref()
        .and_then(|w| w.pools.iter().find(|p| p.name.value == name))
    else {
        return format!("pool `{name}`");
    };
    let mut out = format!("pool `{name}`");
    if let Some(size) = &p.vm_size {
        out.push_str(&format!(" on `{size}`"));
    }
    match &p.autoscale {
        Some(_) => out.push_str(", autoscaled"),
        None => out.push_str(&format!(
            ", {} dedicated and {} low-priority node(s)",
            p.dedicated.unwrap_or(0),
            p.low_priority.unwrap_or(0)
        )),
    }
    if let Some(img) = &p.image {
        out.push_str(&format!("\n\nimage `{img}`"));
    }
    out
}

fn job(a: &Analysis, name: &str) -> String {
    let Some(w) = a.workflow.as_ref() else {
        return format!("job `{name}`");
    };
    let Some(j) = w.jobs.iter().find(|j| j.name.value == name) else {
        return format!("job `{name}`");
    };
    let pool = j.pool.and_then(|p| w.pool(p)).map_or("?", |p| p.name.value.as_str());
    let instances: u32 = j.templates.iter().filter_map(|t| w.template(*t)).map(|t| t.count).sum();
    format!(
        "job `{name}` on pool `{pool}`: {} task declaration(s), {instances} task(s)",
        j.templates.len()
    )
}

fn task(a: &Analysis, name: &str, job: Option<&str>) -> String {
    let Some(w) = a.workflow.as_ref() else {
        return format!("task `{name}`");
    };
    let t = w
        .templates
        .iter()
        .find(|t| t.name.value == name && w.job(t.job).is_some_and(|j| Some(j.name.value.as_str()) == job));
    let Some(t) = t else { return format!("task `{name}`") };
    let mut out = format!("task `{name}` in job `{}`: {} instance(s)", job.unwrap_or("?"), t.count);
    if !t.after.is_empty() {
        let after: Vec<&str> = t.after.iter().map(|a| a.value.as_str()).collect();
        out.push_str(&format!(", after {}", after.join(", ")));
    }
    out
}

/// A value the stdlib knows: a VM size, an image, a node agent.
fn value_facts(a: &Analysis, found: &Found<'_>, today: Date) -> Option<String> {
    if let Some(img) = images::image_of(found.expr, a.file.as_ref()) {
        return Some(facts::image(img, today));
    }
    // A string argument of `marketplace(...)` is about the whole image.
    for outer in found.outer.iter().rev() {
        if let Some(img) = images::image_of(outer, a.file.as_ref()) {
            return Some(facts::image(img, today));
        }
    }
    let text = match &found.expr.kind {
        crate::ast::ExprKind::Str(parts) => match parts.as_slice() {
            [StrPart::Lit(s)] => s.clone(),
            _ => return None,
        },
        _ => return None,
    };
    if let Some(size) = stdlib::vm_size(&text) {
        return Some(facts::vm_size(size, today));
    }
    stdlib::node_agent(&text).map(|agent| facts::node_agent(agent, today))
}

/// A value as the hover shows it: strings quoted, long lists cut short.
pub fn show(v: &Value) -> String {
    const MAX_ITEMS: usize = 20;
    match v {
        Value::Str(s) => format!("{:?}", first_lines(s, 1)),
        Value::List(items) => {
            let mut shown: Vec<String> = items.iter().take(MAX_ITEMS).map(show).collect();
            if items.len() > MAX_ITEMS {
                shown.push(format!("... {} more", items.len() - MAX_ITEMS));
            }
            format!("[{}]", shown.join(", "))
        }
        Value::Map(entries) => {
            let shown: Vec<String> = entries
                .iter()
                .take(MAX_ITEMS)
                .map(|(k, v)| format!("{k} = {}", show(v)))
                .collect();
            format!("{{ {} }}", shown.join(", "))
        }
        Value::Range(a, b) => format!("{a}..{b}"),
        other => other.to_text().unwrap_or_default(),
    }
}

/// The first `n` lines of `text`, and `...` when there are more (or a line is very long).
fn first_lines(text: &str, n: usize) -> String {
    const MAX_CHARS: usize = 400;
    let mut out: String = text.lines().take(n).collect::<Vec<_>>().join("\n");
    if out.chars().count() > MAX_CHARS {
        out = out.chars().take(MAX_CHARS).collect();
        out.push_str("...");
    } else if text.lines().nth(n).is_some() {
        out.push_str("\n...");
    }
    out
}
