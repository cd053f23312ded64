//! The steps of one job: create it, add its tasks in `addtaskcollection` bodies (at most
//! 100 tasks and under 1 MB each, dependencies first), end it when its tasks are done, wait.

use super::barrier::Barriers;
use super::batch_api::JobPatchParameter;
use super::limits::{ENVELOPE, MAX_COLLECTION_BYTES, MAX_COLLECTION_TASKS};
use super::{bodies, deps, hook, raw, text, Action, Step, Wait};
use crate::diagnostics::Diagnostic;
use crate::graph::{JobId, TaskId, TemplateId, Workflow};
use crate::hooks::Hooks;
use crate::source::Span;
use serde_json::value::RawValue;
use std::collections::{BTreeSet, HashMap};

pub fn job_steps(wf: &Workflow, id: JobId, hooks: Option<&Hooks>) -> Result<Vec<Step>, Vec<Diagnostic>> {
    let Some(job) = wf.job(id) else { return Ok(Vec::new()) };
    let Some(pool) = job.pool.and_then(|p| wf.pool(p)) else {
        return Ok(Vec::new());
    };
    let name = &job.name.value;
    let order = template_order(wf, id);
    let uses_dependencies = order
        .iter()
        .filter_map(|t| wf.template(*t))
        .flat_map(|t| t.instances())
        .filter_map(|t| wf.task(t))
        .any(|t| wf.dependencies(t).next().is_some());
    let create = format!("create-job-{name}");
    let mut after = vec![format!("create-pool-{}", pool.name.value)];
    after.extend(
        job.after
            .iter()
            .filter_map(|a| wf.job(*a))
            .map(|a| format!("wait-job-{}", a.name.value)),
    );
    let mut steps = vec![Step {
        id: create.clone(),
        summary: text::job_summary(wf, job),
        action: Action::Request {
            method: "POST",
            path: "/jobs".into(),
            body: raw(&bodies::job(job, &pool.name.value, uses_dependencies)),
        },
        after,
        origin: job.name.span,
        tasks: 0,
    }];
    let mut batcher = Batcher::new(name, &create, wf.tasks.len());
    let mut barriers = Barriers::new(wf, id);
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
            let mut body = bodies::task(&task.id, &spec);
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
            batcher.push(raw(&body), template.span, Who::Task(task_id), &through, &mut errors);
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let collection_steps = batcher.finish();
    let added: Vec<String> = collection_steps.iter().map(|s| s.id.clone()).collect();
    steps.extend(collection_steps);
    let end = format!("end-job-{name}");
    steps.push(Step {
        id: end.clone(),
        summary: "terminate the job when all its tasks are done".into(),
        action: Action::Request {
            method: "PATCH",
            path: format!("/jobs/{name}"),
            body: raw(&JobPatchParameter {
                on_all_tasks_complete: super::batch_api::OnAllTasksComplete::TerminateJob,
            }),
        },
        after: if added.is_empty() { vec![create] } else { added },
        origin: job.name.span,
        tasks: 0,
    });
    steps.push(Step {
        id: format!("wait-job-{name}"),
        summary: "all tasks finished".into(),
        action: Action::Wait {
            wait: Wait::JobCompleted,
            path: format!("/jobs/{name}"),
        },
        after: vec![end, format!("wait-pool-{}", pool.name.value)],
        origin: job.name.span,
        tasks: 0,
    });
    Ok(steps)
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

/// A task in a collection body: one of the workflow's, or a barrier the planner added.
#[derive(Clone, Debug)]
pub enum Who {
    Task(TaskId),
    Barrier(String),
}

/// Packs task bodies into collection steps. A collection comes `after` every earlier
/// collection that holds one of its tasks' dependencies.
pub struct Batcher<'a> {
    job: &'a str,
    create: &'a str,
    current: Vec<Box<RawValue>>,
    bytes: usize,
    first_span: Span,
    /// Earlier collections the open one depends on.
    needs: BTreeSet<usize>,
    /// The collection each workflow task went into (`usize::MAX`: not yet added).
    task_home: Vec<usize>,
    barrier_home: HashMap<String, usize>,
    steps: Vec<Step>,
}

impl<'a> Batcher<'a> {
    fn new(job: &'a str, create: &'a str, tasks: usize) -> Batcher<'a> {
        Batcher {
            job,
            create,
            current: Vec::new(),
            bytes: ENVELOPE,
            first_span: Span::default(),
            needs: BTreeSet::new(),
            task_home: vec![usize::MAX; tasks],
            barrier_home: HashMap::new(),
            steps: Vec::new(),
        }
    }

    fn home(&self, who: &Who) -> Option<usize> {
        match who {
            Who::Task(t) => self.task_home.get(t.index()).copied().filter(|h| *h != usize::MAX),
            Who::Barrier(id) => self.barrier_home.get(id).copied(),
        }
    }

    pub fn push(&mut self, body: Box<RawValue>, origin: Span, who: Who, deps: &[Who], errors: &mut Vec<Diagnostic>) {
        let size = body.get().len() + 1;
        if let Some(d) = super::task_size::too_large(size, origin) {
            errors.push(d);
            return;
        }
        if self.current.len() == MAX_COLLECTION_TASKS || self.bytes + size >= MAX_COLLECTION_BYTES {
            self.flush();
        }
        if self.current.is_empty() {
            self.first_span = origin;
        }
        let open = self.steps.len();
        for dep in deps {
            if let Some(h) = self.home(dep).filter(|h| *h != open) {
                self.needs.insert(h);
            }
        }
        match who {
            Who::Task(t) => {
                if let Some(slot) = self.task_home.get_mut(t.index()) {
                    *slot = open;
                }
            }
            Who::Barrier(id) => {
                self.barrier_home.insert(id, open);
            }
        }
        self.bytes += size;
        self.current.push(body);
    }

    fn step_id(&self, index: usize) -> String {
        format!("add-tasks-{}-{}", self.job, index + 1)
    }

    fn flush(&mut self) {
        if self.current.is_empty() {
            return;
        }
        let count = self.current.len();
        let mut json = String::with_capacity(self.bytes);
        json.push_str("{\"value\":[");
        for (i, body) in self.current.drain(..).enumerate() {
            if i > 0 {
                json.push(',');
            }
            json.push_str(body.get());
        }
        json.push_str("]}");
        self.bytes = ENVELOPE;
        let body = RawValue::from_string(json).unwrap_or_else(|_| RawValue::NULL.to_owned());
        let mut after = vec![self.create.to_string()];
        after.extend(std::mem::take(&mut self.needs).into_iter().map(|h| self.step_id(h)));
        self.steps.push(Step {
            id: self.step_id(self.steps.len()),
            summary: format!("{count} task{}", if count == 1 { "" } else { "s" }),
            action: Action::Request {
                method: "POST",
                path: format!("/jobs/{}/addtaskcollection", self.job),
                body,
            },
            after,
            origin: self.first_span,
            tasks: count,
        });
    }

    fn finish(mut self) -> Vec<Step> {
        self.flush();
        self.steps
    }
}
