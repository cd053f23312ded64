//! The tasks a plan adds, read back from its `add-tasks` bodies: each task's body, what it
//! depends on inside its job (`dependsOn`, ranges resolved), and the jobs each job comes after.
//! A rerun and the task cache both walk it to decide what must run again.

use super::batch_api::TaskIdRange;
use super::{Action, Plan, StepKind};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// A (job, task id) pair.
pub type TaskRef = (String, String);

/// The plan's tasks in plan order, with their bodies and dependencies.
pub struct TaskGraph {
    pub tasks: Vec<TaskRef>,
    /// Each task's body as the plan holds it (placeholders unfilled), in `tasks` order.
    pub bodies: Vec<Value>,
    /// The ids each task depends on, in its own job.
    pub deps: HashMap<TaskRef, Vec<String>>,
    /// Each job's earlier jobs, directly or not (`after`).
    pub jobs_before: HashMap<String, HashSet<String>>,
}

impl TaskGraph {
    pub fn of(plan: &Plan) -> TaskGraph {
        let mut tasks = Vec::new();
        let mut bodies = Vec::new();
        let mut deps = HashMap::new();
        let mut ids_of: HashMap<String, Vec<String>> = HashMap::new();
        for step in &plan.steps {
            let (StepKind::AddTasks { job, .. }, Action::Request { body, .. }) = (&step.kind, &step.action) else {
                continue;
            };
            let Ok(Value::Object(mut parsed)) = serde_json::from_str::<Value>(body.get()) else {
                continue;
            };
            let Some(Value::Array(list)) = parsed.remove("value") else {
                continue;
            };
            for t in list {
                let Some(id) = t.get("id").and_then(Value::as_str).map(str::to_string) else {
                    continue;
                };
                ids_of.entry(job.clone()).or_default().push(id.clone());
                if let Some(d) = t.get("dependsOn") {
                    deps.insert((job.clone(), id.clone()), Depends::of(d));
                }
                tasks.push((job.clone(), id));
                bodies.push(t);
            }
        }
        // Ranges name ids by number: resolved against the job's ids.
        let deps = deps
            .into_iter()
            .map(|((job, id), d): (TaskRef, Depends)| {
                let all = ids_of.get(&job).map(Vec::as_slice).unwrap_or_default();
                let list = all.iter().filter(|t| d.names(t)).cloned().collect();
                ((job, id), list)
            })
            .collect();
        TaskGraph {
            tasks,
            bodies,
            deps,
            jobs_before: jobs_before(plan),
        }
    }
}

/// Each job's earlier jobs, through `after` (its create step waits for their wait steps).
fn jobs_before(plan: &Plan) -> HashMap<String, HashSet<String>> {
    let waits: HashMap<&str, &str> = plan
        .steps
        .iter()
        .filter_map(|s| match &s.kind {
            StepKind::WaitJob { job } => Some((s.id.as_str(), job.as_str())),
            _ => None,
        })
        .collect();
    let direct: HashMap<&str, Vec<&str>> = plan
        .steps
        .iter()
        .filter_map(|s| match &s.kind {
            StepKind::CreateJob { job } => Some((
                job.as_str(),
                s.after.iter().filter_map(|a| waits.get(a.as_str()).copied()).collect(),
            )),
            _ => None,
        })
        .collect();
    let mut out = HashMap::new();
    for job in direct.keys() {
        let mut seen: HashSet<String> = HashSet::new();
        let mut todo: Vec<&str> = direct.get(job).cloned().unwrap_or_default();
        while let Some(j) = todo.pop() {
            if seen.insert(j.to_string()) {
                todo.extend(direct.get(j).cloned().unwrap_or_default());
            }
        }
        out.insert(job.to_string(), seen);
    }
    out
}

/// A task's `dependsOn`: ids and id ranges.
#[derive(Default)]
struct Depends {
    ids: HashSet<String>,
    ranges: Vec<TaskIdRange>,
}

impl Depends {
    fn of(v: &Value) -> Depends {
        let ids = v
            .get("taskIds")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        let ranges = v
            .get("taskIdRanges")
            .and_then(|r| serde_json::from_value(r.clone()).ok())
            .unwrap_or_default();
        Depends { ids, ranges }
    }

    fn names(&self, id: &str) -> bool {
        self.ids.contains(id)
            || id
                .parse::<u64>()
                .is_ok_and(|n| self.ranges.iter().any(|r| r.start <= n && n <= r.end))
    }
}
