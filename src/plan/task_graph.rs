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
        // Ranges name ids by number: resolved against the job's numeric ids, by range
        // (a sweep of 50,000 instances that all depend on one task must not scan the job
        // once per instance).
        let numeric: HashMap<&str, std::collections::BTreeMap<u64, &str>> = ids_of
            .iter()
            .map(|(job, ids)| {
                let nums = ids
                    .iter()
                    .filter_map(|i| Some((i.parse::<u64>().ok()?, i.as_str())))
                    .collect();
                (job.as_str(), nums)
            })
            .collect();
        let known: HashMap<&str, HashSet<&str>> = ids_of
            .iter()
            .map(|(job, ids)| (job.as_str(), ids.iter().map(String::as_str).collect()))
            .collect();
        let deps = deps
            .into_iter()
            .map(|((job, id), d): (TaskRef, Depends)| {
                let list = d.resolve(known.get(job.as_str()), numeric.get(job.as_str()));
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

    /// The ids of the job this names: its ids that exist, and its ranges' numeric ids, in
    /// the job's order for numbers (ids first, then ranges; no duplicates).
    fn resolve(
        &self,
        known: Option<&HashSet<&str>>,
        numeric: Option<&std::collections::BTreeMap<u64, &str>>,
    ) -> Vec<String> {
        let mut seen: HashSet<&str> = HashSet::new();
        let mut out = Vec::new();
        let mut ids: Vec<&str> = self
            .ids
            .iter()
            .map(String::as_str)
            .filter(|i| known.is_some_and(|k| k.contains(i)))
            .collect();
        ids.sort_unstable();
        for r in &self.ranges {
            if let (Some(nums), true) = (numeric, r.start <= r.end) {
                ids.extend(nums.range(r.start..=r.end).map(|(_, id)| *id));
            }
        }
        for id in ids {
            if seen.insert(id) {
                out.push(id.to_string());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_resolve_ids_and_ranges_against_the_job() {
        let d = Depends::of(&serde_json::json!({
            "taskIds": ["prep", "gone", "7"],
            "taskIdRanges": [{"start": 2, "end": 4}, {"start": 9, "end": 8}]
        }));
        let ids = ["prep", "1", "2", "3", "4", "5", "7", "x"];
        let known: HashSet<&str> = ids.into_iter().collect();
        let numeric: std::collections::BTreeMap<u64, &str> =
            ids.iter().filter_map(|i| Some((i.parse().ok()?, *i))).collect();
        assert_eq!(d.resolve(Some(&known), Some(&numeric)), ["7", "prep", "2", "3", "4"]);
        assert!(d.resolve(None, None).is_empty(), "a job without ids names nothing");
    }
}
