//! Edges between jobs (`after = other_job`) and between tasks (`task b after a`). A
//! dependency on a sweep means every instance; `after train-3` names one instance.

use super::schema::Fields;
use super::Lowerer;
use crate::diagnostics::{Code, Diagnostic};
use crate::graph::{Edge, JobId, TaskId, TemplateId};
use crate::suggest::did_you_mean;
use std::collections::HashMap;

/// Most task-to-task edges one workflow may have; a sweep after a sweep multiplies.
pub const MAX_EDGES: u64 = 20_000_000;

pub(super) fn job_after(lw: &mut Lowerer<'_>, job: JobId, f: &Fields<'_>) {
    let Some(attr) = f.attr("after") else { return };
    for name in lw.name_list(&attr.value, "after") {
        let Some(JobId(i)) = lw.jobs.get(&name.name) else {
            let help = did_you_mean(&name.name, lw.jobs.names())
                .unwrap_or_else(|| "`after` names other jobs of this workflow".into());
            lw.sink
                .push(Diagnostic::new(Code::BF002, name.span, format!("unknown job `{}`", name.name)).with_help(help));
            continue;
        };
        let (Some(from), Some(to)) = (lw.wf.job(JobId(i)).map(|j| j.node), lw.wf.job(job).map(|j| j.node)) else {
            continue;
        };
        lw.wf.graph.add_edge(from, to, Edge::Before);
        if let Some(j) = lw.wf.jobs.get_mut(job.index()) {
            j.after.push(JobId(i));
        }
    }
}

/// What an `after` name stands for.
enum Target {
    Template(TemplateId),
    Instance(TaskId),
}

pub(super) fn task_dependencies(lw: &mut Lowerer<'_>) {
    let mut edges: u64 = 0;
    let mut instance_maps: HashMap<JobId, HashMap<Box<str>, TaskId>> = HashMap::new();
    for t in 0..lw.wf.templates.len() {
        let tid = TemplateId(t as u32);
        let Some(template) = lw.wf.template(tid) else { continue };
        let (job, after) = (template.job, template.after.clone());
        let mut targets: Vec<TaskId> = Vec::new();
        for name in &after {
            match resolve(lw, job, &name.value, &mut instance_maps) {
                Some(Target::Template(dep)) => {
                    targets.extend(lw.wf.template(dep).into_iter().flat_map(|d| d.instances()));
                }
                Some(Target::Instance(task)) => targets.push(task),
                None => report_unresolved(lw, job, name),
            }
        }
        targets.sort_unstable();
        targets.dedup();
        let count = lw.wf.template(tid).map_or(0, |t| u64::from(t.count));
        edges = edges.saturating_add(count.saturating_mul(targets.len() as u64));
        if edges > MAX_EDGES {
            let span = after.first().map_or_else(
                || lw.wf.template(tid).map(|t| t.name.span).unwrap_or_default(),
                |a| a.span,
            );
            lw.sink.push(
                Diagnostic::new(
                    Code::BF012,
                    span,
                    format!("these dependencies make more than {} task-to-task edges", crate::value::format_count(MAX_EDGES)),
                )
                .with_help("depend on one fan-in task instead of a whole sweep (e.g. `task gather after a` then `after gather`)"),
            );
            return;
        }
        let Some(template) = lw.wf.template(tid) else { continue };
        let dependents: Vec<TaskId> = template.instances().collect();
        for dependent in dependents {
            let Some(to) = lw.wf.task(dependent).map(|t| t.node) else {
                continue;
            };
            for dep in &targets {
                if let Some(from) = lw.wf.task(*dep).map(|t| t.node) {
                    lw.wf.graph.add_edge(from, to, Edge::Before);
                }
            }
        }
    }
}

fn resolve(
    lw: &Lowerer<'_>,
    job: JobId,
    name: &str,
    instances: &mut HashMap<JobId, HashMap<Box<str>, TaskId>>,
) -> Option<Target> {
    // An id claimed by a declaration that then failed to expand may name another template.
    let declared = lw.tasks.get(&job).and_then(|idx| idx.get(name));
    if let Some(t) = declared.filter(|t| lw.wf.template(*t).is_some_and(|x| x.job == job && x.name.value == name)) {
        return Some(Target::Template(t));
    }
    let templates = lw.wf.job(job).map(|j| j.templates.as_slice()).unwrap_or(&[]);
    let map = instances.entry(job).or_insert_with(|| {
        templates
            .iter()
            .filter_map(|t| lw.wf.template(*t))
            .filter(|t| t.is_sweep)
            .flat_map(|t| t.instances())
            .filter_map(|id| lw.wf.task(id).map(|task| (task.id.clone(), id)))
            .collect()
    });
    map.get(name).map(|id| Target::Instance(*id))
}

fn report_unresolved(lw: &mut Lowerer<'_>, job: JobId, name: &crate::source::Spanned<String>) {
    if lw.unexpanded.iter().any(|(j, n)| *j == job && *n == name.value) {
        return;
    }
    let elsewhere = lw
        .wf
        .templates
        .iter()
        .find(|t| t.job != job && t.name.value == name.value)
        .map(|t| (t.name.span, t.job));
    if let Some((span, other)) = elsewhere {
        let other_name = lw.wf.job(other).map(|j| j.name.value.clone()).unwrap_or_default();
        let this_name = lw.wf.job(job).map(|j| j.name.value.clone()).unwrap_or_default();
        lw.sink.push(
            Diagnostic::new(
                Code::BF009,
                name.span,
                format!(
                    "task `{}` belongs to job `{other_name}`; tasks can only depend on tasks of their own job",
                    name.value
                ),
            )
            .with_label(span, format!("declared in job `{other_name}`"))
            .with_help(format!(
                "order the jobs instead: `after = {other_name}` in job `{this_name}`"
            )),
        );
        return;
    }
    let candidates: Vec<String> = lw
        .wf
        .job(job)
        .into_iter()
        .flat_map(|j| j.templates.iter())
        .filter_map(|t| lw.wf.template(*t))
        .map(|t| t.name.value.clone())
        .collect();
    let help = did_you_mean(&name.value, candidates.iter().map(String::as_str))
        .unwrap_or_else(|| "`after` names tasks declared in the same job".into());
    lw.sink
        .push(Diagnostic::new(Code::BF002, name.span, format!("unknown task `{}`", name.value)).with_help(help));
}
