//! Barrier tasks: when a task depends on more ids than one `dependsOn` holds (64,000
//! characters), no-op tasks each depend on a share, and the task depends on them.

use super::batch_api::TaskDependencies;
use super::batcher::{Batcher, Who};
use super::deps::{chunks, depends_on};
use super::{bodies, raw};
use crate::diagnostics::Diagnostic;
use crate::graph::{JobId, Pool, TaskId, TaskSpec, TaskTemplate, TemplateId, Workflow};
use crate::stdlib::facts::pool_os;
use crate::stdlib::Os;
use std::collections::{HashMap, HashSet};

/// How a barrier task's `displayName` starts: the task cache knows barriers by it.
pub const DISPLAY_PREFIX: &str = "barrier for ";

pub struct Barriers<'w> {
    wf: &'w Workflow,
    job: JobId,
    files: super::staging::Files<'w>,
    /// Every instance of a declaration depends alike: its barriers are made once.
    made: HashMap<TemplateId, (TaskDependencies, Vec<String>)>,
    /// The job's task ids, collected when the first barrier needs a fresh id.
    taken: Option<HashSet<String>>,
}

impl<'w> Barriers<'w> {
    pub fn new(wf: &'w Workflow, job: JobId, files: super::staging::Files<'w>) -> Barriers<'w> {
        Barriers {
            wf,
            job,
            files,
            made: HashMap::new(),
            taken: None,
        }
    }

    /// The `dependsOn` of a task whose dependency ids do not fit, and the barrier ids it
    /// names; the barrier tasks go into the batch the first time a declaration needs them.
    pub fn through(
        &mut self,
        id: TemplateId,
        template: &TaskTemplate,
        deps: &[TaskId],
        spec: &TaskSpec,
        pool: &Pool,
        batcher: &mut Batcher<'_>,
    ) -> Result<(TaskDependencies, Vec<String>), Vec<Diagnostic>> {
        if let Some(made) = self.made.get(&id) {
            return Ok(made.clone());
        }
        let (template_name, origin) = (template.name.value.as_str(), template.name.span);
        let mut errors = Vec::new();
        let wf = self.wf;
        let mut level: Vec<(String, Who)> = deps
            .iter()
            .filter_map(|d| wf.task(*d).map(|t| (t.id.to_string(), Who::Task(*d))))
            .collect();
        let mut round = 0;
        let made = loop {
            let refs: Vec<&str> = level.iter().map(|(s, _)| s.as_str()).collect();
            if let Some(d) = depends_on(&refs) {
                break (d, level.iter().map(|(s, _)| s.clone()).collect::<Vec<_>>());
            }
            round += 1;
            let mut next = Vec::new();
            let mut start = 0;
            for group in chunks(&refs) {
                let members: Vec<Who> = level[start..start + group.len()]
                    .iter()
                    .map(|(_, w)| w.clone())
                    .collect();
                start += group.len();
                let barrier = self.fresh_id(template_name, round, next.len());
                let job = self.wf.job(self.job).map_or("", |j| j.name.value.as_str());
                let mut body = bodies::task(&barrier, &barrier_spec(spec, pool), job, self.files);
                body.display_name = Some(format!(
                    "{DISPLAY_PREFIX}{template_name} ({} dependencies)",
                    group.len()
                ));
                body.depends_on = depends_on(&group);
                batcher.push(
                    raw(&body),
                    origin,
                    None,
                    Who::Barrier(barrier.clone()),
                    &members,
                    &mut errors,
                );
                next.push((barrier.clone(), Who::Barrier(barrier)));
            }
            level = next;
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        self.made.insert(id, made.clone());
        Ok(made)
    }

    /// `NAME-barrier-K`, shortened and made unique within the job.
    fn fresh_id(&mut self, name: &str, round: usize, k: usize) -> String {
        let suffix = if round == 1 {
            format!("-barrier-{k}")
        } else {
            format!("-barrier{round}-{k}")
        };
        let keep = 64usize.saturating_sub(suffix.len() + 4);
        let base: String = name.chars().take(keep).collect();
        let (wf, job) = (self.wf, self.job);
        let taken = self.taken.get_or_insert_with(|| {
            wf.job(job)
                .into_iter()
                .flat_map(|j| j.templates.iter())
                .filter_map(|t| wf.template(*t))
                .flat_map(|t| t.instances())
                .filter_map(|id| wf.task(id))
                .map(|t| t.id.to_ascii_lowercase())
                .collect()
        });
        let mut id = format!("{base}{suffix}");
        let mut n = 0;
        while taken.contains(&id.to_ascii_lowercase()) {
            n += 1;
            id = format!("{base}{suffix}-{n}");
        }
        taken.insert(id.to_ascii_lowercase());
        id
    }
}

/// A no-op in the same place the dependent runs: its container if it has one.
fn barrier_spec(spec: &TaskSpec, pool: &Pool) -> TaskSpec {
    let windows = pool_os(pool) == Some(Os::Windows);
    let container = spec.container.clone().or_else(|| {
        pool.containers
            .as_ref()
            .and_then(|c| c.images.first())
            .map(|i| i.value.as_str().into())
    });
    TaskSpec {
        command: Some(if windows {
            "cmd /c exit 0".into()
        } else {
            "/bin/sh -c true".into()
        }),
        container,
        run_options: spec.run_options.clone(),
        elevation: spec.elevation,
        ..TaskSpec::default()
    }
}
