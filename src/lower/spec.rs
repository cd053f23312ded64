//! The attributes of everything Batch runs (tasks, start tasks, job prep/release tasks) as a
//! [`TaskSpec`]. Sweep instances share the values that ignore their loop variables.

use super::eval_error::Bindings;
use super::mentions::mentions;
use super::schema::{self, Fields, MapEntry, Schema};
use super::{typed, Lowerer};
use crate::ast::{Block, Entry, Nested};
use crate::diagnostics::{Code, Diagnostic};
use crate::graph::{AttrSpans, AuxTask, EnvVar, TaskSpec};
use crate::source::Span;
use std::sync::Arc;

/// Which attributes to evaluate in one pass.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Pick {
    /// Those that do not use loop variables: once per declaration.
    Invariant,
    /// Those that do: once per instance.
    Variant,
}

/// A task-like block, sorted by its schema once per declaration.
pub(super) struct Body<'a> {
    pub fields: Fields<'a>,
    pub multi: Option<Fields<'a>>,
    /// The `multi_instance` keyword, where a missing attribute of the block is reported.
    pub multi_owner: Span,
    pub spans: AttrSpans,
    pub loop_vars: Vec<String>,
}

impl Body<'_> {
    /// Whether any attribute depends on a loop variable.
    pub fn varies(&self) -> bool {
        self.attr_exprs().any(|e| mentions(e, &self.loop_vars))
    }

    fn attr_exprs(&self) -> impl Iterator<Item = &crate::ast::Expr> {
        let attrs = self.fields.attrs.iter().map(|(_, a)| &a.value);
        let maps = self.fields.maps.iter().flat_map(|(_, m, _)| map_exprs(*m));
        let multi = self.multi.iter().flat_map(|f| f.attrs.iter().map(|(_, a)| &a.value));
        attrs.chain(maps).chain(multi)
    }
}

/// The expressions of a map block: its values, and its keys that interpolate.
fn map_exprs(entry: MapEntry<'_>) -> Box<dyn Iterator<Item = &crate::ast::Expr> + '_> {
    match entry {
        MapEntry::Expr(e) => Box::new(std::iter::once(e)),
        MapEntry::Block(b) => Box::new(
            b.entries
                .iter()
                .flat_map(|e| match e {
                    Entry::Attr(a) => vec![Some(&a.value), a.key_expr.as_ref()],
                    _ => Vec::new(),
                })
                .flatten(),
        ),
    }
}

impl Lowerer<'_> {
    pub(super) fn body<'a>(
        &mut self,
        block: &'a Block,
        schema: &'static Schema,
        owner: Span,
        loop_vars: Vec<String>,
    ) -> Body<'a> {
        let fields = Fields::collect(block, schema, owner, &mut self.sink);
        let mut spans = AttrSpans::default();
        for (name, attr) in &fields.attrs {
            spans.insert(name, attr.span);
        }
        for (name, _, span) in &fields.maps {
            spans.insert(name, *span);
        }
        for (_, entry, _) in &fields.maps {
            if let MapEntry::Block(b) = entry {
                self.only_attrs(b);
            }
        }
        let multi_owner = fields.block("multi_instance").map_or(owner, |n| n.name.span);
        let multi = fields.block("multi_instance").map(|n| {
            spans.insert("multi_instance", n.span);
            let f = Fields::collect(&n.body, &schema::MULTI_INSTANCE, n.name.span, &mut self.sink);
            for (name, attr) in &f.attrs {
                spans.insert(name, attr.span);
            }
            f
        });
        Body {
            fields,
            multi,
            multi_owner,
            spans,
            loop_vars,
        }
    }

    /// BF008 for anything but `KEY = value` inside `env`/`inputs`/`outputs`, BF003 for a
    /// key given twice.
    fn only_attrs(&mut self, block: &Block) {
        let mut seen: std::collections::HashMap<&str, Span> = std::collections::HashMap::new();
        for entry in &block.entries {
            let span = match entry {
                // An interpolated key is known per instance only.
                Entry::Attr(a) if a.key_expr.is_some() => continue,
                Entry::Attr(a) => {
                    if let Some(first) = seen.insert(&a.key.name, a.key.span) {
                        self.sink.push(
                            Diagnostic::new(Code::BF003, a.key.span, format!("`{}` is given twice here", a.key.name))
                                .with_label(first, "first given here")
                                .with_help("keep one of them"),
                        );
                    }
                    continue;
                }
                Entry::Nested(n) => n.name.span,
                Entry::Task(t) => t.name.span,
            };
            self.sink.push(
                Diagnostic::new(Code::BF008, span, "this block holds only `NAME = value` pairs")
                    .with_help("write each entry as `NAME = \"value\"`"),
            );
        }
    }

    /// A start task, job preparation or job release task.
    pub(super) fn aux_task(&mut self, nested: &Nested, schema: &'static Schema) -> AuxTask {
        let body = self.body(&nested.body, schema, nested.name.span, Vec::new());
        let mut spec = TaskSpec::default();
        self.fill_spec(&body, &[], Pick::Invariant, &mut spec);
        AuxTask {
            span: nested.span,
            attrs: body.spans,
            spec,
        }
    }

    /// A task declaration's `cache`: one value for all its instances, so it cannot use a
    /// loop variable. `true` when absent or broken (the task cache is on by default).
    pub(super) fn cache(&mut self, body: &Body<'_>) -> bool {
        let Some(attr) = body.fields.attr("cache") else {
            return true;
        };
        let used = body
            .loop_vars
            .iter()
            .find(|v| mentions(&attr.value, std::slice::from_ref(*v)));
        if let Some(var) = used {
            self.sink.push(
                Diagnostic::new(
                    Code::BF006,
                    attr.value.span,
                    format!("`cache` is one value for every instance of a sweep, it cannot use `{var}`"),
                )
                .with_help("write `cache = false` to turn the task cache off for every instance, or split the sweep"),
            );
            return true;
        }
        self.typed(&body.fields, "cache", &[], typed::boolean).unwrap_or(true)
    }

    /// Evaluates the picked attributes of `body` into `spec`.
    pub(super) fn fill_spec(&mut self, body: &Body<'_>, vars: Bindings<'_>, pick: Pick, spec: &mut TaskSpec) {
        let wanted = |e: &crate::ast::Expr| (pick == Pick::Variant) == mentions(e, &body.loop_vars);
        let f = &body.fields;
        for (name, attr) in &f.attrs {
            if !wanted(&attr.value) {
                continue;
            }
            let text = |lw: &mut Self| lw.typed(f, name, vars, typed::string);
            match *name {
                "command" => spec.command = text(self),
                "display_name" => spec.display_name = text(self),
                "container" => spec.container = text(self),
                "run_options" => spec.run_options = text(self),
                "elevation" => spec.elevation = self.word(f, name, vars, typed::elevation),
                "scope" => spec.scope = self.word(f, name, vars, typed::scope),
                "retries" => spec.retries = self.typed(f, name, vars, typed::retries),
                "timeout" => spec.timeout = self.typed(f, name, vars, typed::duration),
                "slots" => spec.slots = self.typed(f, name, vars, typed::count),
                "wait_for_success" => spec.wait_for_success = self.typed(f, name, vars, typed::boolean),
                _ => {}
            }
        }
        for (name, entry, _) in &f.maps {
            let varies = map_exprs(*entry).any(|e| mentions(e, &body.loop_vars));
            if varies != (pick == Pick::Variant) {
                continue;
            }
            match *name {
                "env" => {
                    let Some(pairs) = self.map_pairs(name, *entry, vars) else {
                        continue;
                    };
                    spec.env = pairs
                        .into_iter()
                        .map(|(name, value)| EnvVar { name, value })
                        .collect::<Vec<_>>()
                        .into();
                }
                "inputs" => {
                    if let Some(files) = self.file_maps(*entry, false, vars) {
                        spec.inputs = files;
                    }
                }
                _ => {
                    if let Some(files) = self.file_maps(*entry, true, vars) {
                        spec.outputs = files;
                    }
                }
            }
        }
        if let Some(m) = &body.multi {
            let varies = m.attrs.iter().any(|(_, a)| mentions(&a.value, &body.loop_vars));
            if varies == (pick == Pick::Variant) {
                spec.multi_instance = self.multi_instance(m, body.multi_owner, vars);
            }
        }
    }

    pub(super) fn map_pairs(
        &mut self,
        name: &str,
        entry: MapEntry<'_>,
        vars: Bindings<'_>,
    ) -> Option<Vec<(Arc<str>, Arc<str>)>> {
        match entry {
            MapEntry::Expr(e) => {
                let v = self.eval_once(e, vars)?;
                match typed::text_map(name, &v, e.span) {
                    Ok(pairs) => Some(pairs),
                    Err(d) => {
                        self.sink.push(*d);
                        self.failed.insert(e.span);
                        None
                    }
                }
            }
            MapEntry::Block(b) => {
                let mut out = Vec::new();
                for entry in &b.entries {
                    let Entry::Attr(a) = entry else { continue };
                    if a.key_expr.is_some() {
                        self.sink.push(
                            Diagnostic::new(Code::BF001, a.key.span, "an attribute name cannot use `${...}`")
                                .with_help("write the name as a plain string; only file names in `inputs` and `outputs` may be interpolated"),
                        );
                        return None;
                    }
                    let v = self.eval_once(&a.value, vars)?;
                    match v.to_text() {
                        Some(t) => out.push((Arc::from(a.key.name.as_str()), Arc::from(t))),
                        None => {
                            self.sink.push(
                                Diagnostic::new(
                                    Code::BF006,
                                    a.value.span,
                                    format!("`{name}.{}` must be text, found {}", a.key.name, v.type_name()),
                                )
                                .with_help("write a string, number or bool"),
                            );
                            self.failed.insert(a.value.span);
                            return None;
                        }
                    }
                }
                Some(out)
            }
        }
    }
}
