//! `job` items: their attributes, prep/release tasks, and task declarations expanded into
//! instances (sweeps are cartesian products, `NAME-i-j` by index, or by file name for a
//! sweep over `files()`: `NAME-s1`).

use super::eval_error::EvalError;
use super::schema::{self, Fields};
use super::spec::Pick;
use super::{typed, Lowerer};
use crate::ast::{self, Item};
use crate::diagnostics::{Code, Diagnostic};
use crate::graph::{AttrSpans, Axis, Edge, EnvVar, Job, JobId, Node, Task, TaskId, TaskSpec, TaskTemplate, TemplateId};
use crate::source::{Span, Spanned};
use crate::suggest::did_you_mean;
use crate::value::{format_count, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Most task instances one workflow may expand to; more is BF012, found before expanding.
pub const MAX_INSTANCES: u64 = 2_000_000;

pub(super) fn lower_all(lw: &mut Lowerer<'_>, file: &ast::File) {
    let mut decls: Vec<(JobId, Fields<'_>)> = Vec::new();
    for item in &file.items {
        if let Item::Job { name, pool, body, span } = item {
            if let Err((first, first_span)) = lw.jobs.claim(&name.name, name.span, JobId(lw.wf.jobs.len() as u32)) {
                lw.sink.push(
                    Diagnostic::new(Code::BF003, name.span, format!("a job named `{first}` already exists"))
                        .with_label(first_span, "first declared here")
                        .with_help("Batch job ids ignore case: give each job a distinct name"),
                );
                continue;
            }
            decls.push(job(lw, name, pool, body, *span));
        }
    }
    for (id, f) in &decls {
        super::deps::job_after(lw, *id, f);
        tasks(lw, *id, f);
    }
    super::deps::task_dependencies(lw);
}

fn job<'a>(
    lw: &mut Lowerer<'_>,
    name: &ast::Ident,
    pool_ref: &ast::Ident,
    body: &'a ast::Block,
    span: Span,
) -> (JobId, Fields<'a>) {
    let f = Fields::collect(body, &schema::JOB, name.span, &mut lw.sink);
    let id = JobId(lw.wf.jobs.len() as u32);
    let node = lw.wf.graph.add_node(Node::Job(id));
    let pool = lw.pools.get(&pool_ref.name);
    match pool.and_then(|id| lw.wf.pool(id)) {
        Some(p) => {
            let from = p.start_task.as_ref().map_or(p.node, |(_, n)| *n);
            let edge = if p.start_task.is_some() {
                Edge::Starts
            } else {
                Edge::Hosts
            };
            lw.wf.graph.add_edge(from, node, edge);
        }
        None => {
            let help = did_you_mean(&pool_ref.name, lw.pools.names())
                .unwrap_or_else(|| "declare it with `pool NAME { ... }`".into());
            lw.sink.push(
                Diagnostic::new(Code::BF002, pool_ref.span, format!("unknown pool `{}`", pool_ref.name))
                    .with_help(help),
            );
        }
    }
    let mut attrs = AttrSpans::default();
    for (n, a) in &f.attrs {
        attrs.insert(n, a.span);
    }
    for (n, _, s) in &f.maps {
        attrs.insert(n, *s);
    }
    let env: Arc<[EnvVar]> = f
        .map("env")
        .and_then(|(entry, _)| lw.map_pairs("env", entry, &[]))
        .map(|pairs| pairs.into_iter().map(|(name, value)| EnvVar { name, value }).collect())
        .unwrap_or_else(|| Arc::from(Vec::new()));
    let job = Job {
        name: Spanned::new(name.name.clone(), name.span),
        span,
        node,
        attrs,
        pool,
        display_name: lw.typed(&f, "display_name", &[], typed::string).map(|s| s.to_string()),
        priority: lw.typed(&f, "priority", &[], typed::int),
        max_wall_clock: lw.typed(&f, "max_wall_clock", &[], typed::duration),
        env,
        prep_task: f.block("prep_task").map(|b| lw.aux_task(b, &schema::PREP_TASK)),
        release_task: f.block("release_task").map(|b| lw.aux_task(b, &schema::RELEASE_TASK)),
        after: Vec::new(),
        templates: Vec::new(),
    };
    lw.wf.jobs.push(job);
    (id, f)
}

/// The task declarations of a job, expanded into instances.
fn tasks(lw: &mut Lowerer<'_>, job: JobId, f: &Fields<'_>) {
    let mut named_by_files: HashSet<String> = HashSet::new();
    lw.job_pool = lw.wf.job(job).and_then(|j| j.pool);
    for decl in &f.tasks {
        let id = TemplateId(lw.wf.templates.len() as u32);
        let claimed = lw
            .tasks
            .entry(job)
            .or_default()
            .claim(&decl.name.name, decl.name.span, id);
        if let Err((first, first_span)) = claimed {
            lw.sink.push(
                Diagnostic::new(
                    Code::BF003,
                    decl.name.span,
                    format!("a task named `{first}` already exists in this job"),
                )
                .with_label(first_span, "first declared here")
                .with_help("task ids ignore case within a job: give each task a distinct name"),
            );
            continue;
        }
        if template(lw, job, decl) {
            named_by_files.insert(decl.name.name.to_ascii_lowercase());
        }
    }
    lw.job_pool = None;
    instance_collisions(lw, job, &named_by_files);
}

/// BF003 for two instance ids equal ignoring case (`task t[i in 0..3]` beside `task T-1`).
/// Only a declaration named like another's instance (`NAME-digits...`, or `NAME-anything`
/// beside a sweep over files) can collide, or two file names in one sweep over several
/// lists, so the full comparison runs only when one of these exists.
fn instance_collisions(lw: &mut Lowerer<'_>, job: JobId, named_by_files: &HashSet<String>) {
    let templates: Vec<TemplateId> = lw.wf.job(job).map(|j| j.templates.clone()).unwrap_or_default();
    let names: HashSet<String> = templates
        .iter()
        .filter_map(|t| lw.wf.template(*t))
        .map(|t| t.name.value.to_ascii_lowercase())
        .collect();
    let by_index = names.iter().any(|n| {
        let mut rest = n.as_str();
        while let Some((head, tail)) = rest.rsplit_once('-') {
            if tail.is_empty() || !tail.bytes().all(|b| b.is_ascii_digit()) {
                return false;
            }
            if names.contains(head) {
                return true;
            }
            rest = head;
        }
        false
    });
    let by_file = names.iter().any(|n| {
        n.match_indices('-')
            .any(|(at, _)| n.get(..at).is_some_and(|head| named_by_files.contains(head)))
    });
    let several_lists = templates
        .iter()
        .filter_map(|t| lw.wf.template(*t))
        .any(|t| t.axes.len() > 1 && named_by_files.contains(&t.name.value.to_ascii_lowercase()));
    let suspicious = by_index || by_file || several_lists;
    if !suspicious {
        return;
    }
    let mut seen: HashMap<String, TemplateId> = HashMap::new();
    let mut found = Vec::new();
    for t in &templates {
        let Some(template) = lw.wf.template(*t) else { continue };
        for id in template.instances() {
            let Some(task) = lw.wf.task(id) else { continue };
            if let Some(first) = seen.insert(task.id.to_ascii_lowercase(), *t) {
                found.push((task.id.to_string(), first, *t));
                break;
            }
        }
    }
    for (id, first, second) in found {
        let (Some(a), Some(b)) = (lw.wf.template(first), lw.wf.template(second)) else {
            continue;
        };
        lw.sink.push(
            Diagnostic::new(
                Code::BF003,
                b.name.span,
                format!("task id `{id}` is produced twice in this job"),
            )
            .with_label(a.name.span, "also produced by this declaration")
            .with_help("Batch task ids ignore case, and sweeps add `-N` (or a file's name, over `files()`): rename one of the tasks"),
        );
    }
}

/// Expands one declaration; true when its instances are named after files.
fn template(lw: &mut Lowerer<'_>, job: JobId, decl: &ast::TaskDecl) -> bool {
    let loop_vars: Vec<String> = decl.loops.iter().map(|l| l.name.name.clone()).collect();
    let body = lw.body(&decl.body, &schema::TASK, decl.name.span, loop_vars);
    let Some((axes, labels)) = sweep_axes(lw, decl) else {
        lw.unexpanded.push((job, decl.name.name.clone()));
        return false;
    };
    let id = TemplateId(lw.wf.templates.len() as u32);
    let first = lw.wf.tasks.len() as u32;
    let mut base = TaskSpec::default();
    lw.fill_spec(&body, &[], Pick::Invariant, &mut base);
    let cache = lw.cache(&body);
    let varies = body.varies();
    // The MPI launcher wraps the finished command: once here when no attribute varies, else
    // once per instance.
    let job_env = lw
        .wf
        .job(job)
        .map_or_else(|| Arc::from(Vec::new()), |j| Arc::clone(&j.env));
    let module = mpi_module_of(lw, &base);
    if !varies {
        super::mpi::launch(&mut base, &job_env, module);
    }
    let job_node = lw.wf.job(job).map(|j| j.node);
    let mut count: u32 = 0;
    let total: u64 = axes.iter().map(|(_, v)| v.sweep_len().unwrap_or(0)).product();
    let mut index = vec![0u64; axes.len()];
    for _ in 0..total {
        let vars: Vec<(String, Value)> = axes
            .iter()
            .zip(&index)
            .filter_map(|((name, values), &i)| values.sweep_item(i).map(|v| (name.clone(), v)))
            .collect();
        let mut spec = base.clone();
        if varies {
            lw.fill_spec(&body, &vars, Pick::Variant, &mut spec);
            let module = mpi_module_of(lw, &spec);
            super::mpi::launch(&mut spec, &job_env, module);
        }
        let task_id = TaskId(lw.wf.tasks.len() as u32);
        let node = lw.wf.graph.add_node(Node::Task(task_id));
        if let Some(jn) = job_node {
            lw.wf.graph.add_edge(jn, node, Edge::Contains);
        }
        lw.wf.tasks.push(Task {
            id: instance_id(&decl.name.name, &index, &labels, axes.is_empty()).into_boxed_str(),
            template: id,
            node,
            spec,
        });
        count += 1;
        advance(&mut index, &axes);
    }
    lw.wf.templates.push(TaskTemplate {
        name: Spanned::new(decl.name.name.clone(), decl.name.span),
        span: decl.span,
        job,
        attrs: body.spans,
        is_sweep: !decl.loops.is_empty(),
        after: decl
            .after
            .iter()
            .map(|a| Spanned::new(a.name.clone(), a.span))
            .collect(),
        first,
        count,
        axes: axes.iter().map(|(name, v)| (name.clone(), axis(v))).collect(),
        cache,
    });
    if let Some(j) = lw.wf.jobs.get_mut(job.index()) {
        j.templates.push(id);
    }
    labels.iter().any(Option::is_some)
}

/// The environment module the MPI launcher loads for `spec`, if it asks for one.
fn mpi_module_of(lw: &Lowerer<'_>, spec: &TaskSpec) -> &'static str {
    let mpi = spec.multi_instance.as_ref().and_then(|m| m.mpi.as_ref()).map(|l| l.mpi);
    mpi.map_or("", |m| lw.mpi_module(m))
}

/// A loop source as instance labels show it.
fn axis(v: &Value) -> Axis {
    match v {
        Value::Range(a, b) => Axis::Range(*a, *b),
        Value::List(items) => Axis::Items(items.iter().map(|i| i.to_text().map(Arc::from)).collect()),
        _ => Axis::Items(Arc::from(Vec::new())),
    }
}

/// Odometer step: the last loop variable moves fastest.
fn advance(index: &mut [u64], axes: &[(String, Value)]) {
    for (slot, (_, values)) in index.iter_mut().zip(axes).rev() {
        *slot += 1;
        if *slot < values.sweep_len().unwrap_or(0) {
            return;
        }
        *slot = 0;
    }
}

/// `NAME-i-j`: each loop variable by its index, or by its file's label in a sweep over files.
fn instance_id(name: &str, index: &[u64], labels: &[Option<Vec<String>>], plain: bool) -> String {
    if plain {
        return name.to_string();
    }
    let mut id = String::with_capacity(name.len() + 8 * index.len());
    id.push_str(name);
    for (axis, i) in index.iter().enumerate() {
        id.push('-');
        let label = labels
            .get(axis)
            .and_then(Option::as_ref)
            .and_then(|l| l.get(usize::try_from(*i).ok()?));
        match label {
            Some(l) => id.push_str(l),
            None => id.push_str(&i.to_string()),
        }
    }
    id
}

/// Each loop variable with what it ranges over.
type Axes = Vec<(String, Value)>;
/// For each loop variable over `files()`, the id part of each of its files.
type Labels = Vec<Option<Vec<String>>>;

/// Evaluates the loop sources and checks the product against [`MAX_INSTANCES`] before any
/// instance exists; `None` when the declaration cannot be expanded.
fn sweep_axes(lw: &mut Lowerer<'_>, decl: &ast::TaskDecl) -> Option<(Axes, Labels)> {
    let mut axes: Axes = Vec::new();
    let mut labels: Labels = Vec::new();
    let mut ok = true;
    for lv in &decl.loops {
        if axes.iter().any(|(n, _)| *n == lv.name.name) {
            lw.sink.push(
                Diagnostic::new(
                    Code::BF003,
                    lv.name.span,
                    format!("loop variable `{}` is declared twice", lv.name.name),
                )
                .with_help("give each loop variable its own name"),
            );
            ok = false;
            continue;
        }
        match lw.names.eval(lw.unit, &lv.source, &[]) {
            Ok(v) if v.sweep_len().is_some() => {
                labels.push(match &v {
                    Value::List(items) if lw.lists_files(&lv.source) => Some(super::file_sweep::labels(items)),
                    _ => None,
                });
                axes.push((lv.name.name.clone(), v));
            }
            Ok(v) => {
                lw.sink.push(
                    Diagnostic::new(
                        Code::BF012,
                        lv.source.span,
                        format!("a sweep runs over a range or a list, not a {}", v.type_name()),
                    )
                    .with_help(format!(
                        "write `{} in 0..8` or `{} in [\"a\", \"b\"]`",
                        lv.name.name, lv.name.name
                    )),
                );
                ok = false;
            }
            Err(e) => {
                if let EvalError::Diag(d) = e {
                    lw.sink.push(*d);
                }
                ok = false;
            }
        }
    }
    if !ok {
        return None;
    }
    let product = axes
        .iter()
        .try_fold(1u64, |acc, (_, v)| acc.checked_mul(v.sweep_len().unwrap_or(0)));
    let already = lw.wf.tasks.len() as u64;
    match product {
        Some(n) if already.saturating_add(n) <= MAX_INSTANCES => Some((axes, labels)),
        _ => {
            let size = product.map_or_else(|| "more than 18 quintillion".to_string(), format_count);
            let span = decl.loops.first().map_or(decl.name.span, |l| {
                l.name
                    .span
                    .to(decl.loops.last().map_or(l.source.span, |x| x.source.span))
            });
            lw.sink.push(
                Diagnostic::new(
                    Code::BF012,
                    span,
                    if already == 0 || product.is_some_and(|n| n > MAX_INSTANCES) {
                        format!(
                            "task `{}` expands to {size} instances; a workflow may have at most {}",
                            decl.name.name,
                            format_count(MAX_INSTANCES)
                        )
                    } else {
                        format!(
                            "task `{}` adds {size} instances to the {} declared before it; a workflow may have at most {}",
                            decl.name.name,
                            format_count(already),
                            format_count(MAX_INSTANCES)
                        )
                    },
                )
                .with_label(decl.name.span, "this sweep")
                .with_help("split the work into fewer, larger tasks (e.g. each task handles a batch of items)"),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_by_index() {
        assert_eq!(instance_id("train", &[3, 1], &[], false), "train-3-1");
        assert_eq!(instance_id("report", &[], &[], true), "report");
    }

    #[test]
    fn ids_by_file() {
        let labels = vec![Some(vec!["s1".to_string(), "s2".to_string()]), None];
        assert_eq!(instance_id("align", &[1, 0], &labels, false), "align-s2-0");
    }
}
