//! How fast each job's tasks went in: the note the submit benchmark reads.

use super::State;
use crate::plan::{Plan, Step, StepKind};
use std::collections::HashMap;

/// Whether a step adds task collections.
pub(super) fn is_collection(step: &Step) -> bool {
    collection_job(step).is_some()
}

/// The job a task collection step adds to.
fn collection_job(step: &Step) -> Option<&str> {
    match &step.kind {
        StepKind::AddTasks { job, .. } => Some(job),
        _ => None,
    }
}

/// How fast each job's tasks went in: from its first collection sent to its last answered.
pub(super) struct Submit {
    /// Collections still to send, by job.
    remaining: HashMap<String, usize>,
    started: HashMap<String, std::time::Instant>,
    added: HashMap<String, u64>,
}

impl Submit {
    pub(super) fn new(plan: &Plan, states: &HashMap<&str, State>) -> Submit {
        let mut remaining: HashMap<String, usize> = HashMap::new();
        for step in &plan.steps {
            if let Some(job) = collection_job(step) {
                if states.get(step.id.as_str()) == Some(&State::Pending) {
                    *remaining.entry(job.to_string()).or_default() += 1;
                }
            }
        }
        Submit {
            remaining,
            started: HashMap::new(),
            added: HashMap::new(),
        }
    }

    pub(super) fn started(&mut self, step: &Step) {
        if let Some(job) = collection_job(step) {
            self.started
                .entry(job.to_string())
                .or_insert_with(std::time::Instant::now);
        }
    }

    /// A collection answered; when it was the job's last, a line saying how fast it went.
    pub(super) fn finished(&mut self, step: &Step, added: u64) -> Option<String> {
        let job = collection_job(step)?;
        *self.added.entry(job.to_string()).or_default() += added;
        let left = self.remaining.get_mut(job)?;
        *left = left.saturating_sub(1);
        if *left > 0 {
            return None;
        }
        let secs = self.started.get(job)?.elapsed().as_secs_f64().max(1e-6);
        let n = self.added.get(job).copied().unwrap_or(0);
        Some(format!(
            "job `{job}`: {n} tasks added in {secs:.3}s ({:.0} tasks/s)",
            n as f64 / secs
        ))
    }
}
