//! `registry` and `pool` items.

use super::schema::{self, Fields};
use super::{typed, Lowerer};
use crate::ast::{self, Item, ResourceKind};
use crate::diagnostics::{Code, Diagnostic};
use crate::graph::{AttrSpans, Containers, Edge, Node, Pool, PoolId, Registry, RegistryId};
use crate::source::{LiteralMap, SourceMap, Span, Spanned};
use crate::suggest::did_you_mean;
use crate::syntax;

pub(super) fn lower_all(lw: &mut Lowerer<'_>, file: &ast::File, sources: &SourceMap) {
    for item in &file.items {
        if let Item::Resource {
            kind: ResourceKind::Registry,
            name,
            body,
            span,
        } = item
        {
            if lw.claim_name(name, ResourceKind::Registry) {
                registry(lw, name, body, *span);
            }
        }
    }
    for item in &file.items {
        if let Item::Resource {
            kind: ResourceKind::Pool,
            name,
            body,
            span,
        } = item
        {
            if lw.claim_name(name, ResourceKind::Pool) {
                pool(lw, name, body, *span, sources);
            }
        }
    }
}

impl Lowerer<'_> {
    /// BF003: pool and registry names are unique, ignoring case (Batch ids are).
    fn claim_name(&mut self, name: &ast::Ident, kind: ResourceKind) -> bool {
        let claimed = match kind {
            ResourceKind::Pool => self
                .pools
                .claim(&name.name, name.span, PoolId(self.wf.pools.len() as u32)),
            ResourceKind::Registry => {
                self.registries
                    .claim(&name.name, name.span, RegistryId(self.wf.registries.len() as u32))
            }
        };
        if let Err((first, first_span)) = claimed {
            let what = if kind == ResourceKind::Pool { "pool" } else { "registry" };
            self.sink.push(
                Diagnostic::new(
                    Code::BF003,
                    name.span,
                    format!("a {what} named `{first}` already exists"),
                )
                .with_label(first_span, "first declared here")
                .with_help("Batch ids ignore case: give each one a distinct name"),
            );
            return false;
        }
        true
    }
}

fn attr_spans(fields: &Fields<'_>) -> AttrSpans {
    let mut spans = AttrSpans::default();
    for (name, attr) in &fields.attrs {
        spans.insert(name, attr.span);
    }
    for (name, block) in &fields.blocks {
        spans.insert(name, block.span);
    }
    for (name, _, span) in &fields.maps {
        spans.insert(name, *span);
    }
    spans
}

fn registry(lw: &mut Lowerer<'_>, name: &ast::Ident, body: &ast::Block, span: Span) {
    let f = Fields::collect(body, &schema::REGISTRY, name.span, &mut lw.sink);
    let id = RegistryId(lw.wf.registries.len() as u32);
    let text = |lw: &mut Lowerer<'_>, key: &str| lw.typed(&f, key, &[], typed::string).map(|s| s.to_string());
    let reg = Registry {
        name: Spanned::new(name.name.clone(), name.span),
        span,
        node: lw.wf.graph.add_node(Node::Registry(id)),
        attrs: attr_spans(&f),
        server: text(lw, "server"),
        username: text(lw, "username"),
        password: text(lw, "password"),
        identity: text(lw, "identity"),
    };
    lw.wf.registries.push(reg);
}

fn pool(lw: &mut Lowerer<'_>, name: &ast::Ident, body: &ast::Block, span: Span, sources: &SourceMap) {
    let f = Fields::collect(body, &schema::POOL, name.span, &mut lw.sink);
    let id = PoolId(lw.wf.pools.len() as u32);
    let node = lw.wf.graph.add_node(Node::Pool(id));
    let text = |lw: &mut Lowerer<'_>, key: &str| lw.typed(&f, key, &[], typed::string).map(|s| s.to_string());
    let mut pool = Pool {
        name: Spanned::new(name.name.clone(), name.span),
        span,
        node,
        attrs: attr_spans(&f),
        display_name: text(lw, "display_name"),
        vm_size: text(lw, "vm_size"),
        image: lw.typed(&f, "image", &[], typed::image),
        node_agent: text(lw, "node_agent"),
        dedicated: lw.typed(&f, "dedicated", &[], typed::count),
        low_priority: lw.typed(&f, "low_priority", &[], typed::count),
        autoscale: text(lw, "autoscale"),
        autoscale_map: None,
        autoscale_interval: lw.typed(&f, "autoscale_interval", &[], typed::duration),
        task_slots: lw.typed(&f, "task_slots", &[], typed::count),
        resize_timeout: lw.typed(&f, "resize_timeout", &[], typed::duration),
        inter_node: lw.typed(&f, "inter_node", &[], typed::boolean),
        keep: lw.typed(&f, "keep", &[], typed::duration),
        containers: None,
        start_task: None,
        mounts: Vec::new(),
    };
    if let (Some(attr), Some(formula)) = (f.attr("autoscale"), pool.autoscale.as_deref()) {
        pool.autoscale_map = literal_map(&attr.value, formula, sources);
    }
    if pool.task_slots == Some(0) {
        lw.sink.push(
            Diagnostic::new(
                Code::BF006,
                pool.attrs.or("task_slots", name.span),
                "`task_slots` must be at least 1",
            )
            .with_help("write `task_slots = 1` or more"),
        );
    }
    if let Some(block) = f.block("containers") {
        pool.containers = Some(containers(lw, block));
    }
    if let Some(block) = f.block("mounts") {
        pool.mounts = lw.mounts(block);
    }
    if let Some(block) = f.block("start_task") {
        let aux = lw.aux_task(block, &schema::START_TASK);
        let st_node = lw.wf.graph.add_node(crate::graph::Node::StartTask(id));
        lw.wf.graph.add_edge(node, st_node, Edge::Starts);
        pool.start_task = Some((aux, st_node));
    }
    for reg in pool.containers.iter().flat_map(|c| c.registries.iter()) {
        if let Some(r) = lw.wf.registries.get(reg.index()) {
            lw.wf.graph.add_edge(r.node, node, Edge::Pulls);
        }
    }
    lw.wf.pools.push(pool);
}

/// Where `value` sits in the file, when `expr` is a string literal that spells it out (not
/// an interpolation, a `let` or a sum, whose bytes are not all written in one place).
fn literal_map(expr: &ast::Expr, value: &str, sources: &SourceMap) -> Option<LiteralMap> {
    let ast::ExprKind::Str(parts) = &expr.kind else {
        return None;
    };
    if parts.iter().any(|p| matches!(p, ast::StrPart::Interp(_))) {
        return None;
    }
    let (written, map) = syntax::literal_map(expr.span.src, sources.snippet(expr.span), expr.span.start as usize)?;
    (written == value).then_some(map)
}

fn containers(lw: &mut Lowerer<'_>, block: &ast::Nested) -> Containers {
    let f = Fields::collect(&block.body, &schema::CONTAINERS, block.name.span, &mut lw.sink);
    let images = lw.typed(&f, "images", &[], typed::strings).unwrap_or_default();
    let mut registries = Vec::new();
    if let Some(attr) = f.attr("registries") {
        for name in lw.name_list(&attr.value, "registries") {
            match lw.registries.get(&name.name) {
                Some(id) => registries.push(id),
                None => {
                    let known = lw.registries.names();
                    let help = did_you_mean(&name.name, known)
                        .unwrap_or_else(|| "declare it with `registry NAME { server = \"...\" }`".into());
                    lw.sink.push(
                        Diagnostic::new(Code::BF002, name.span, format!("unknown registry `{}`", name.name))
                            .with_help(help),
                    );
                }
            }
        }
    }
    Containers {
        span: block.span,
        images,
        registries,
    }
}

impl Lowerer<'_> {
    /// A list of bare names (`[acr, hub]`) or one name (`acr`), as written.
    pub(super) fn name_list(&mut self, expr: &ast::Expr, attr: &str) -> Vec<ast::Ident> {
        let items: Vec<&ast::Expr> = match &expr.kind {
            ast::ExprKind::List(items) => items.iter().collect(),
            _ => vec![expr],
        };
        let mut out = Vec::new();
        for item in items {
            match item.as_word() {
                Some(w) => out.push(w.clone()),
                None => self.sink.push(
                    Diagnostic::new(Code::BF006, item.span, format!("`{attr}` takes names, not values"))
                        .with_help(format!("write `{attr} = [name1, name2]` with the declared names")),
                ),
            }
        }
        out
    }
}
