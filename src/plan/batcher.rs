//! Packs task bodies into `addtaskcollection` steps: at most 100 tasks and under 1 MB each,
//! and each collection `after` the earlier collections that hold its tasks' dependencies.

use super::limits::{ENVELOPE, MAX_COLLECTION_BYTES, MAX_COLLECTION_TASKS};
use super::{Action, Step, StepKind};
use crate::diagnostics::Diagnostic;
use crate::graph::TaskId;
use crate::source::Span;
use serde_json::value::RawValue;
use std::collections::{BTreeSet, HashMap};

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
    /// The job's id on Batch, in the request paths.
    batch_id: &'a str,
    create: &'a str,
    current: Vec<Box<RawValue>>,
    bytes: usize,
    /// The declaration of each task of the open collection, as runs of (count, span).
    origins: Vec<(u32, Span)>,
    /// What each task of the open collection stands for (`""` for a plain task).
    labels: Vec<String>,
    /// Earlier collections the open one depends on.
    needs: BTreeSet<usize>,
    /// The collection each workflow task went into (`usize::MAX`: not yet added).
    task_home: Vec<usize>,
    barrier_home: HashMap<String, usize>,
    steps: Vec<Step>,
}

impl<'a> Batcher<'a> {
    pub fn new(job: &'a str, batch_id: &'a str, create: &'a str, tasks: usize) -> Batcher<'a> {
        Batcher {
            job,
            batch_id,
            create,
            current: Vec::new(),
            bytes: ENVELOPE,
            origins: Vec::new(),
            labels: Vec::new(),
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

    /// Adds a task body to the open collection (flushing it when full); `label` says what a
    /// sweep instance stands for.
    pub fn push(
        &mut self,
        body: Box<RawValue>,
        origin: Span,
        label: Option<String>,
        who: Who,
        deps: &[Who],
        errors: &mut Vec<Diagnostic>,
    ) {
        let size = body.get().len() + 1;
        if let Some(d) = super::task_size::too_large(size, origin) {
            errors.push(d);
            return;
        }
        if self.current.len() == MAX_COLLECTION_TASKS || self.bytes + size >= MAX_COLLECTION_BYTES {
            self.flush();
        }
        match self.origins.last_mut() {
            Some((n, span)) if *span == origin => *n += 1,
            _ => self.origins.push((1, origin)),
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
        self.labels.push(label.unwrap_or_default());
    }

    fn step_id(&self, index: usize) -> String {
        self.kind(index).id()
    }

    fn kind(&self, index: usize) -> StepKind {
        StepKind::AddTasks {
            job: self.job.to_string(),
            batch: index + 1,
        }
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
        let origins = std::mem::take(&mut self.origins);
        let mut step = Step::new(
            self.kind(self.steps.len()),
            Action::Request {
                method: "POST",
                path: format!("/jobs/{}/addtaskcollection", self.batch_id),
                body,
            },
            after,
            origins.first().map(|(_, s)| *s).unwrap_or_default(),
        )
        .with_summary(format!("{count} task{}", if count == 1 { "" } else { "s" }));
        step.tasks = count;
        step.task_origins = origins;
        let labels = std::mem::take(&mut self.labels);
        if labels.iter().any(|l| !l.is_empty()) {
            step.task_labels = labels;
        }
        self.steps.push(step);
    }

    pub fn finish(mut self) -> Vec<Step> {
        self.flush();
        self.steps
    }
}
