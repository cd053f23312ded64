//! The steps of one job: create it, add its tasks in `addtaskcollection` bodies (at most
//! 100 tasks and under 1 MB each, dependencies first), end it when its tasks are done, wait.

use super::barrier::Barriers;
use super::batch_api::JobPatchParameter;
use super::batcher::{Batcher, Who};
use super::{bodies, deps, hook, raw, text, Action, Step, StepKind, Wait};
use crate::diagnostics::Diagnostic;
use crate::graph::{JobId, TaskId, TemplateId, Workflow};
use crate::hooks::Hooks;

pub fn job_steps(
    wf: &Workflow,
    id: JobId,
    hooks: Option<&Hooks>,
    files: super::staging::Files<'_>,
) -> Result<Vec<Step>, Vec<Diagnostic>> {
    let Some(job) = wf.job(id) else { return Ok(Vec::new()) };
    let Some(pool) = job.pool.and_then(|p| wf.pool(p)) else {
        return Ok(Vec::new());
    };
    let name = &job.name.value;
    // The job's id on Batch, unique to the run: the workflow's name is the step's.
    let batch_id = super::identity::job_id(name);
    let order = template_order(wf, id);
    let uses_dependencies = order
        .iter()
        .filter_map(|t| wf.template(*t))
        .flat_map(|t| t.instances())
        .filter_map(|t| wf.task(t))
        .any(|t| wf.dependencies(t).next().is_some());
    let mut after = vec![StepKind::CreatePool {
        pool: pool.name.value.clone(),
    }
    .id()];
    after.extend(job.after.iter().filter_map(|a| wf.job(*a)).map(|a| {
        StepKind::WaitJob {
            job: a.name.value.clone(),
        }
        .id()
    }));
    let create = Step::new(
        StepKind::CreateJob { job: name.clone() },
        Action::Request {
            method: "POST",
            path: "/jobs".into(),
            body: raw(&bodies::job(&wf.name, job, &pool.name.value, uses_dependencies, files)),
        },
        after,
        job.name.span,
    )
    .with_summary(text::job_summary(wf, job));
    let create_id = create.id.clone();
    let mut steps = vec![create];
    let mut batcher = Batcher::new(name, &batch_id, &create_id, wf.tasks.len());
    let mut barriers = Barriers::new(wf, id, files);
    let mut errors = Vec::new();
    for t in order {
        let Some(template) = wf.template(t) else { continue };
        for task_id in template.instances() {
            let Some(task) = wf.task(task_id) else { continue };
            let spec = match hook::before_submit(hooks, task, pool, template.span) {
                Ok(spec) => spec,
                Err(d) => {
                    errors.push(d);
                    return Err(errors);
                }
            };
            let mut body = bodies::task(&task.id, &spec, name, files);
            let dep_tasks = dependencies(wf, task_id);
            let dep_ids: Vec<&str> = dep_tasks.iter().filter_map(|d| wf.task(*d)).map(|d| &*d.id).collect();
            let (depends_on, through) = match deps::depends_on(&dep_ids) {
                Some(d) if d == Default::default() => (None, Vec::new()),
                Some(d) => (Some(d), dep_tasks.iter().map(|d| Who::Task(*d)).collect()),
                None => {
                    let (d, barrier_ids) = barriers.through(t, template, &dep_tasks, &spec, pool, &mut batcher)?;
                    (Some(d), barrier_ids.into_iter().map(Who::Barrier).collect())
                }
            };
            body.depends_on = depends_on;
            batcher.push(
                raw(&body),
                template.name.span,
                super::labels::instance_label(template, task_id),
                Who::Task(task_id),
                &through,
                &mut errors,
            );
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let collection_steps = batcher.finish();
    let added: Vec<String> = collection_steps.iter().map(|s| s.id.clone()).collect();
    steps.extend(collection_steps);
    let end = Step::new(
        StepKind::EndJob { job: name.clone() },
        Action::Request {
            method: "PATCH",
            path: format!("/jobs/{batch_id}"),
            body: raw(&JobPatchParameter {
                on_all_tasks_complete: super::batch_api::OnAllTasksComplete::TerminateJob,
            }),
        },
        if added.is_empty() { vec![create_id] } else { added },
        job.name.span,
    )
    .with_summary("terminate the job when all its tasks are done");
    let wait = Step::new(
        StepKind::WaitJob { job: name.clone() },
        Action::Wait {
            wait: Wait::JobCompleted,
            path: format!("/jobs/{batch_id}"),
        },
        vec![
            end.id.clone(),
            StepKind::WaitPool {
                pool: pool.name.value.clone(),
            }
            .id(),
        ],
        job.name.span,
    )
    .with_summary("all tasks finished");
    steps.push(end);
    steps.push(wait);
    Ok(steps)
}

/// The tasks of a job declared with `cache = false`, as `(job, task id)` in plan order; the
/// job is named as its steps name it (`StepKind::AddTasks`).
pub fn uncached(wf: &Workflow, id: JobId) -> Vec<(String, String)> {
    let Some(job) = wf.job(id).filter(|j| j.pool.and_then(|p| wf.pool(p)).is_some()) else {
        return Vec::new();
    };
    template_order(wf, id)
        .into_iter()
        .filter_map(|t| wf.template(t))
        .filter(|t| !t.cache)
        .flat_map(|t| t.instances())
        .filter_map(|t| wf.task(t))
        .map(|t| (job.name.value.clone(), t.id.to_string()))
        .collect()
}

/// A task's dependencies, in declaration order.
fn dependencies(wf: &Workflow, task: TaskId) -> Vec<TaskId> {
    let Some(t) = wf.task(task) else { return Vec::new() };
    let mut deps: Vec<TaskId> = wf.dependencies(t).collect();
    deps.sort_unstable();
    deps
}

/// The job's task declarations with every declaration after those it depends on, so a
/// collection never names a task that a later collection adds.
fn template_order(wf: &Workflow, job: JobId) -> Vec<TemplateId> {
    let Some(job) = wf.job(job) else { return Vec::new() };
    let deps_of = |t: TemplateId| -> Vec<TemplateId> {
        let Some(first) = wf
            .template(t)
            .and_then(|x| x.instances().next())
            .and_then(|id| wf.task(id))
        else {
            return Vec::new();
        };
        let mut out: Vec<TemplateId> = wf
            .dependencies(first)
            .filter_map(|d| wf.task(d))
            .map(|d| d.template)
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    };
    let mut order = Vec::with_capacity(job.templates.len());
    let mut placed = std::collections::HashSet::new();
    let pending: Vec<(TemplateId, Vec<TemplateId>)> = job.templates.iter().map(|t| (*t, deps_of(*t))).collect();
    while order.len() < pending.len() {
        let before = order.len();
        for (t, deps) in &pending {
            if !placed.contains(t) && deps.iter().all(|d| placed.contains(d) || d == t) {
                placed.insert(*t);
                order.push(*t);
            }
        }
        if order.len() == before {
            order.extend(pending.iter().map(|(t, _)| *t).filter(|t| !placed.contains(t)));
            break;
        }
    }
    order
}
