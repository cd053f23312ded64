//! Everything Batch runs, seen the same way by the container and task rules: tasks (with
//! all their sweep instances), start tasks, job preparation and release tasks.

use crate::graph::{AttrSpans, Job, Pool, TaskSpec, TaskTemplate, Workflow};
use crate::source::Span;
use std::collections::BTreeSet;
use std::sync::Arc;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Task,
    StartTask,
    PrepTask,
    ReleaseTask,
}

impl Kind {
    pub fn what(self) -> &'static str {
        match self {
            Kind::Task => "task",
            Kind::StartTask => "start task",
            Kind::PrepTask => "job preparation task",
            Kind::ReleaseTask => "job release task",
        }
    }
}

pub struct Runnable<'a> {
    pub kind: Kind,
    /// Where to point when no attribute fits: the task's name or the block's keyword.
    pub span: Span,
    pub attrs: &'a AttrSpans,
    pub pool: Option<&'a Pool>,
    pub job: Option<&'a Job>,
    pub template: Option<&'a TaskTemplate>,
    /// One spec per instance (one for everything but swept tasks).
    pub specs: Vec<&'a TaskSpec>,
}

impl<'a> Runnable<'a> {
    pub fn span_of(&self, attr: &str) -> Span {
        self.attrs.or(attr, self.span)
    }

    /// The distinct values of one field over all instances, in order.
    pub fn distinct(&self, field: impl Fn(&'a TaskSpec) -> Option<&'a Arc<str>>) -> BTreeSet<&'a str> {
        let mut out = BTreeSet::new();
        let mut last: Option<&Arc<str>> = None;
        for spec in self.specs.iter().copied() {
            if let Some(v) = field(spec) {
                // Instances share values that ignore their loop variables: skip repeats cheaply.
                if last.is_some_and(|l| Arc::ptr_eq(l, v)) {
                    continue;
                }
                last = Some(v);
                out.insert(&**v);
            }
        }
        out
    }

    /// One field's values over all instances, skipping repeats of a value the previous
    /// instance shares: cheaper than [`Runnable::distinct`] when every instance differs.
    pub fn each<'s, T, F>(&'s self, field: F) -> impl Iterator<Item = &'a T> + 's
    where
        T: ?Sized + 'a,
        F: Fn(&'a TaskSpec) -> Option<&'a Arc<T>> + 's,
    {
        let mut last: Option<&'a Arc<T>> = None;
        self.specs.iter().filter_map(move |spec| {
            let v = field(spec)?;
            if last.is_some_and(|l| Arc::ptr_eq(l, v)) {
                return None;
            }
            last = Some(v);
            Some(&**v)
        })
    }

    /// A representative spec (the first instance).
    pub fn first(&self) -> Option<&'a TaskSpec> {
        self.specs.first().copied()
    }
}

pub fn all(wf: &Workflow) -> Vec<Runnable<'_>> {
    let mut out = Vec::new();
    for pool in &wf.pools {
        if let Some((aux, _)) = &pool.start_task {
            out.push(Runnable {
                kind: Kind::StartTask,
                span: aux.span,
                attrs: &aux.attrs,
                pool: Some(pool),
                job: None,
                template: None,
                specs: vec![&aux.spec],
            });
        }
    }
    for job in &wf.jobs {
        let pool = job.pool.and_then(|p| wf.pool(p));
        for (kind, aux) in [(Kind::PrepTask, &job.prep_task), (Kind::ReleaseTask, &job.release_task)] {
            if let Some(aux) = aux {
                out.push(Runnable {
                    kind,
                    span: aux.span,
                    attrs: &aux.attrs,
                    pool,
                    job: Some(job),
                    template: None,
                    specs: vec![&aux.spec],
                });
            }
        }
        for t in &job.templates {
            let Some(template) = wf.template(*t) else { continue };
            out.push(Runnable {
                kind: Kind::Task,
                span: template.name.span,
                attrs: &template.attrs,
                pool,
                job: Some(job),
                template: Some(template),
                specs: template
                    .instances()
                    .filter_map(|id| wf.task(id))
                    .map(|t| &t.spec)
                    .collect(),
            });
        }
    }
    out
}
