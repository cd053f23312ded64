//! What a task's cache key covers, read from its planned body: the command, container image
//! and run options, its environment and its job's (secrets stay `<secret:NAME>` placeholders:
//! by name, never by value), what a `before_submit` hook made of it (the body is planned after
//! the hook), the contents of its inputs (repository files by SHA-256, blobs by what a listing
//! says), where its outputs go, and the keys of every task it comes after. Two runs whose task
//! has the same key ran the same thing on the same data.
//!
//! The contents of files and blobs are not the plan's to know: the run passes them in
//! ([`Contents`]), so this stays a pure function of the plan.

mod bodies;

use super::task_graph::{TaskGraph, TaskRef};
use super::{Action, Delivery, Plan, StepKind};
use bodies::{
    blob_input, declares_outputs, is_barrier, is_log, outputs_of, overlaps, resource_files, written_prefixes,
};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};

/// Changes whenever what a key covers changes, so older keys stop matching.
const VERSION: &str = "batchflow-task-cache-1";

/// What the run found on disk and in storage.
pub trait Contents {
    /// SHA-256 (hex) of repository file `path`; `None` when it cannot be read.
    fn file(&self, path: &str) -> Option<String>;
    /// A digest of the blobs under `prefix` in `container` (`exact`: the one blob so named);
    /// `None` when unknown.
    fn blobs(&self, container: &str, prefix: &str, exact: bool) -> Option<String>;
    /// The digest (`sha256:...`) a registry gives for container image `name`; `None` when
    /// none said (the image then counts by its name).
    fn image(&self, name: &str) -> Option<String>;
}

/// Blobs a task reads that no task of the plan writes: what [`Contents::blobs`] is asked.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobInput {
    pub container: String,
    pub prefix: String,
    pub exact: bool,
}

/// Where a task's output is found again after it succeeded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Comes back into the repository.
    Repository(Delivery),
    /// Blobs of the workflow's storage account: the blob `path`, or every blob under it.
    Blob {
        container: String,
        path: String,
        prefix: bool,
    },
}

/// Why a task is never taken from the cache.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Uncached {
    /// It declares no outputs: nothing to take.
    NoOutputs,
    /// `cache = false`.
    TurnedOff,
    /// An output goes to a container URL, which batchflow cannot look into.
    UrlOutput,
    /// An input file could not be read.
    Unreadable,
}

impl Uncached {
    pub fn describe(self) -> &'static str {
        match self {
            Uncached::NoOutputs => "it declares no outputs",
            Uncached::TurnedOff => "`cache = false`",
            Uncached::UrlOutput => "an output goes to a container URL",
            Uncached::Unreadable => "an input cannot be read",
        }
    }
}

/// One task's key, and what is checked before it is reused.
#[derive(Clone, Debug)]
pub struct TaskKey {
    pub job: String,
    pub task: String,
    /// Lowercase hex SHA-256.
    pub key: String,
    /// `Err`: never reused, and why.
    pub cacheable: Result<(), Uncached>,
    /// Outputs produced on success (`when = success|always`).
    pub outputs: Vec<Output>,
    /// The tasks of its job it depends on (`after`).
    pub upstream: Vec<TaskRef>,
    /// The jobs its job comes after: it comes after every task of theirs.
    pub after_jobs: Vec<String>,
}

/// The blob inputs of `plan` (its tasks: `graph`) that no task of it writes.
pub fn blob_inputs(plan: &Plan, graph: &TaskGraph) -> Vec<BlobInput> {
    let written = written_prefixes(graph);
    let mut out: Vec<BlobInput> = graph
        .bodies
        .iter()
        .chain(job_bodies(plan).values())
        .flat_map(resource_files)
        .filter_map(blob_input)
        .filter(|b| !overlaps(&written, b))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The container images of the tasks the cache may take (with outputs, without
/// `cache = false`), once each, sorted: the images whose digests the keys want.
pub fn images(plan: &Plan, graph: &TaskGraph) -> Vec<String> {
    let off: HashSet<(&str, &str)> = plan.uncached.iter().map(|(j, t)| (j.as_str(), t.as_str())).collect();
    let delivered: HashSet<(&str, &str)> = plan
        .staging
        .deliveries
        .iter()
        .map(|d| (d.job.as_str(), d.task.as_str()))
        .collect();
    let mut out: Vec<String> = graph
        .tasks
        .iter()
        .zip(&graph.bodies)
        .filter(|((j, t), _)| !off.contains(&(j.as_str(), t.as_str())))
        .filter(|((j, t), b)| delivered.contains(&(j.as_str(), t.as_str())) || declares_outputs(b, j, t))
        .filter_map(|(_, b)| {
            b.get("containerSettings")?
                .get("imageName")?
                .as_str()
                .map(str::to_string)
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Every task's key, in plan order (`graph`: the plan's tasks).
pub fn keys(plan: &Plan, graph: &TaskGraph, contents: &dyn Contents) -> Vec<TaskKey> {
    let written = written_prefixes(graph);
    let off: HashSet<(&str, &str)> = plan.uncached.iter().map(|(j, t)| (j.as_str(), t.as_str())).collect();
    let mut deliveries: HashMap<(&str, &str), Vec<&Delivery>> = HashMap::new();
    for d in &plan.staging.deliveries {
        deliveries.entry((d.job.as_str(), d.task.as_str())).or_default().push(d);
    }
    // A job's part is the same for all its tasks: made once, with whether an input of its
    // preparation task could not be read.
    let jobs: HashMap<&str, (String, bool)> = job_bodies(plan)
        .into_iter()
        .map(|(name, body)| {
            let mut unreadable = false;
            let part = material_of_job(&body, &written, contents, &mut unreadable);
            (name, (part, unreadable))
        })
        .collect();
    let index: HashMap<&TaskRef, usize> = graph.tasks.iter().enumerate().map(|(i, t)| (t, i)).collect();
    let mut members: HashMap<&str, Vec<usize>> = HashMap::new();
    // Each task's own part first, then upstream keys in dependency order.
    let mut own = Vec::with_capacity(graph.tasks.len());
    let mut facts = Vec::with_capacity(graph.tasks.len());
    for (i, ((job, task), body)) in graph.tasks.iter().zip(&graph.bodies).enumerate() {
        members.entry(job.as_str()).or_default().push(i);
        let mut unreadable = false;
        let mut material = material(body, job, task, &written, contents, &mut unreadable);
        if let Some((part, prep_unreadable)) = jobs.get(job.as_str()) {
            material.push('\n');
            material.push_str(part);
            unreadable |= *prep_unreadable;
        }
        let ds = deliveries
            .get(&(job.as_str(), task.as_str()))
            .cloned()
            .unwrap_or_default();
        for d in &ds {
            material.push_str(&format!("\nto {} {} {:?}", d.blob, d.to, d.when));
        }
        let (outputs, url) = outputs_of(body, job, task, &ds);
        let cacheable = if off.contains(&(job.as_str(), task.as_str())) {
            Err(Uncached::TurnedOff)
        } else if url {
            Err(Uncached::UrlOutput)
        } else if outputs.is_empty() && ds.is_empty() && !declares_outputs(body, job, task) && !is_barrier(body) {
            Err(Uncached::NoOutputs)
        } else if unreadable {
            Err(Uncached::Unreadable)
        } else {
            Ok(())
        };
        own.push(sha256(&material));
        facts.push((cacheable, outputs));
    }
    let mut done: Vec<Option<String>> = vec![None; graph.tasks.len()];
    let mut job_keys: HashMap<String, String> = HashMap::new();
    for job in job_order(graph) {
        let list = members.get(job.as_str()).map(Vec::as_slice).unwrap_or_default();
        for &i in list {
            resolve(i, graph, &index, &own, &job_keys, &mut done);
        }
        let all: Vec<&str> = list
            .iter()
            .filter_map(|i| done.get(*i).and_then(Option::as_deref))
            .collect();
        job_keys.insert(job, sha256(&all.join(",")));
    }
    graph
        .tasks
        .iter()
        .zip(done)
        .zip(facts)
        .map(|(((job, task), key), (cacheable, outputs))| {
            let upstream = graph
                .deps
                .get(&(job.clone(), task.clone()))
                .into_iter()
                .flatten()
                .map(|d| (job.clone(), d.clone()))
                .collect();
            let mut after_jobs: Vec<String> = graph.jobs_before.get(job).into_iter().flatten().cloned().collect();
            after_jobs.sort();
            TaskKey {
                job: job.clone(),
                task: task.clone(),
                key: key.unwrap_or_default(),
                cacheable,
                outputs,
                upstream,
                after_jobs,
            }
        })
        .collect()
}

/// Task `i`'s key: its own part, its job's earlier jobs' keys and its dependencies' keys
/// (resolved first, without recursion: a sweep's fan-in can be long).
fn resolve(
    i: usize,
    graph: &TaskGraph,
    index: &HashMap<&TaskRef, usize>,
    own: &[String],
    job_keys: &HashMap<String, String>,
    done: &mut [Option<String>],
) {
    let deps_of = |i: usize| -> Vec<usize> {
        let Some(t) = graph.tasks.get(i) else {
            return Vec::new();
        };
        graph
            .deps
            .get(t)
            .into_iter()
            .flatten()
            .filter_map(|d| index.get(&(t.0.clone(), d.clone())).copied())
            .collect()
    };
    let mut stack = vec![(i, false)];
    while let Some((n, expanded)) = stack.pop() {
        if done.get(n).is_some_and(Option::is_some) {
            continue;
        }
        let deps = deps_of(n);
        if !expanded {
            stack.push((n, true));
            stack.extend(
                deps.iter()
                    .filter(|d| done.get(**d).is_some_and(Option::is_none))
                    .map(|d| (*d, false)),
            );
            continue;
        }
        let Some((job, _)) = graph.tasks.get(n) else { continue };
        let mut material = own.get(n).cloned().unwrap_or_default();
        let mut before: Vec<&String> = graph.jobs_before.get(job).into_iter().flatten().collect();
        before.sort();
        for j in before {
            material.push_str(&format!("\njob {j} {}", job_keys.get(j).map_or("", String::as_str)));
        }
        // A cycle cannot pass `check`; were one here, its keys would still be stable.
        let mut ups: Vec<&str> = deps
            .iter()
            .filter_map(|d| done.get(*d).and_then(Option::as_deref))
            .collect();
        ups.sort_unstable();
        for u in ups {
            material.push_str("\nafter ");
            material.push_str(u);
        }
        if let Some(slot) = done.get_mut(n) {
            *slot = Some(sha256(&material));
        }
    }
}

/// Jobs with their earlier jobs first.
fn job_order(graph: &TaskGraph) -> Vec<String> {
    let mut jobs: Vec<String> = Vec::new();
    for (job, _) in &graph.tasks {
        if !jobs.contains(job) {
            jobs.push(job.clone());
        }
    }
    let before = |j: &String| graph.jobs_before.get(j).map_or(0, HashSet::len);
    jobs.sort_by_key(before);
    jobs
}

/// A task body's part of its key: the body without `dependsOn` (upstream keys stand for it)
/// and without the run's own log uploads, inputs replaced by their contents.
fn material(
    body: &Value,
    job: &str,
    task: &str,
    written: &[(String, String)],
    contents: &dyn Contents,
    unreadable: &mut bool,
) -> String {
    let mut b = body.clone();
    if let Some(o) = b.as_object_mut() {
        o.remove("dependsOn");
    }
    if let Some(list) = b.get_mut("outputFiles").and_then(Value::as_array_mut) {
        list.retain(|f| !is_log(f, job, task));
    }
    replace_inputs(&mut b, written, contents, unreadable);
    let image = b
        .get("containerSettings")
        .and_then(|c| c.get("imageName"))
        .and_then(Value::as_str)
        .and_then(|name| contents.image(name));
    if let (Some(digest), Some(c)) = (image, b.get_mut("containerSettings").and_then(Value::as_object_mut)) {
        c.insert("imageDigest".into(), Value::from(digest));
    }
    format!("{VERSION}\n{job}/{task}\n{b}")
}

/// A job's part of its tasks' keys: its environment and its preparation task.
fn material_of_job(
    job: &Value,
    written: &[(String, String)],
    contents: &dyn Contents,
    unreadable: &mut bool,
) -> String {
    let mut part = serde_json::json!({
        "commonEnvironmentSettings": job.get("commonEnvironmentSettings"),
        "jobPreparationTask": job.get("jobPreparationTask"),
    });
    if let Some(prep) = part.get_mut("jobPreparationTask") {
        replace_inputs(prep, written, contents, unreadable);
    }
    part.to_string()
}

/// The body's resource files with what their placeholders stand for.
fn replace_inputs(b: &mut Value, written: &[(String, String)], contents: &dyn Contents, unreadable: &mut bool) {
    let Some(list) = b.get_mut("resourceFiles").and_then(Value::as_array_mut) else {
        return;
    };
    for rf in list.iter_mut() {
        if let Some(path) = rf
            .get("httpUrl")
            .and_then(Value::as_str)
            .and_then(|u| u.strip_prefix("<repo:"))
            .and_then(|u| u.strip_suffix('>'))
        {
            let digest = contents.file(path);
            *unreadable |= digest.is_none();
            rf["sha256"] = Value::from(digest.unwrap_or_default());
            continue;
        }
        if let Some(input) = blob_input(rf).filter(|b| !overlaps(written, b)) {
            if let Some(d) = contents.blobs(&input.container, &input.prefix, input.exact) {
                rf["blobs"] = Value::from(d);
            }
        }
    }
}

/// Each job's create body, by job.
fn job_bodies(plan: &Plan) -> HashMap<&str, Value> {
    plan.steps
        .iter()
        .filter_map(|s| match (&s.kind, &s.action) {
            (StepKind::CreateJob { job }, Action::Request { body, .. }) => {
                serde_json::from_str(body.get()).ok().map(|v| (job.as_str(), v))
            }
            _ => None,
        })
        .collect()
}

fn sha256(text: &str) -> String {
    super::identity::hex(&Sha256::digest(text.as_bytes()), 64)
}

#[cfg(test)]
#[path = "keys_tests.rs"]
mod tests;
