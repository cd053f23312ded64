//! Every request body of every plan is a request the Batch data-plane API takes.
//!
//! Each body is validated, strictly (no unknown field), against the model that the schema of
//! the plan's api-version names for the request's method and path (`crate::schema`): the
//! azure-batch SDK's 2025-06-01 models by default, the 2024-02-01.19.0 swagger for plans made
//! with `--api-version 2024-02-01.19.0`. On top of the schema come the Batch rules it cannot
//! express (`shared/design/batch-api-notes.md`): collection size, id syntax and uniqueness,
//! `dependsOn` length and order, `usesTaskDependencies`, step order, and secrets that never
//! reach a plan.

use crate::schema::{iso8601_seconds, Body, Version};
use crate::support::{root, Repo, Test};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::PathBuf;

/// `TaskAddCollectionParameter.value`: "The maximum count of Tasks is 100."
const MAX_COLLECTION_TASKS: usize = 100;
/// "The total serialized size of this collection must be less than 1MB."
const MAX_COLLECTION_BYTES: usize = 1_000_000;
/// `dependsOn.taskIds`: combined length at most 64,000 characters (TaskDependencyListTooLong).
const MAX_DEPENDS_ON_CHARS: usize = 64_000;

// ---------------------------------------------------------------------------------------------
// Planning
// ---------------------------------------------------------------------------------------------

/// One workflow to plan: its file, extra CLI args and environment.
struct Case {
    label: String,
    file: PathBuf,
    args: Vec<String>,
    env: Vec<(String, String)>,
}

/// Values that must never show in a plan: `secret(NAME)` values set in the environment, and
/// the fixture's own credentials.
struct Secrets {
    names: HashSet<String>,
    values: Vec<(String, String)>,
    source: String,
}

fn secret_names(source: &str) -> HashSet<String> {
    let mut names = HashSet::new();
    for (at, _) in source.match_indices("secret(") {
        let call = &source[at + "secret(".len()..];
        let call = &call[..call.find(')').unwrap_or(call.len())];
        if let Some(q) = call.find('"') {
            let name: String = call[q + 1..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                names.insert(name);
            }
        }
    }
    names
}

struct Planned {
    plan: Value,
    secrets: Secrets,
}

/// `plan --format json` (with `--api-version` unless `version` is the default), with every
/// `secret(NAME)` of the file set to a recognisable value in the environment. `None` when the
/// workflow has errors (plan exits non-zero).
fn plan_case(case: &Case, version: Version) -> Option<Planned> {
    let source = std::fs::read_to_string(&case.file).unwrap_or_else(|e| panic!("{}: {e}", case.file.display()));
    let names = secret_names(&source);
    let mut values = Vec::new();
    for name in &names {
        // A name also read with env() is a plain compile-time value there, not a secret.
        if !source.contains(&format!("env(\"{name}\"")) {
            values.push((name.clone(), format!("Real{name}Value0x5EC7Ef9")));
        }
    }
    for (k, v) in &case.env {
        let upper = k.to_ascii_uppercase();
        if ["KEY", "SECRET", "PASSWORD", "TOKEN", "SAS"]
            .iter()
            .any(|w| upper.contains(w))
        {
            values.push((k.clone(), v.clone()));
        }
    }
    let mut bf = Test::project()
        .args(["plan", "--format", "json"])
        .args([&case.file])
        .args(&case.args);
    if version != Version::DEFAULT {
        bf = bf.args(["--api-version", version.name()]);
    }
    for (k, v) in &case.env {
        bf = bf.env(k, v);
    }
    for (k, v) in &values {
        bf = bf.env(k, v);
    }
    let out = bf.run();
    if out.code != 0 {
        return None;
    }
    for (k, v) in &values {
        assert!(
            !out.stdout.contains(v.as_str()) && !out.stderr.contains(v.as_str()),
            "{}: the value of secret/credential `{k}` appears in the plan output",
            case.label
        );
    }
    let plan: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("{}: plan output is not JSON ({e}):\n{}", case.label, out.stdout));
    Some(Planned {
        plan,
        secrets: Secrets { names, values, source },
    })
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    for label in crate::support::examples() {
        let file = root().join(&label);
        out.push(Case {
            label,
            file,
            args: Vec::new(),
            env: Vec::new(),
        });
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join("tests/fixtures/rules"))
        .expect("tests/fixtures/rules")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.join("passes.batchflow").is_file())
        .collect();
    dirs.sort();
    for dir in dirs {
        let file = dir.join("passes.batchflow");
        let args = std::fs::read_to_string(dir.join("args"))
            .map(|a| {
                a.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let env = std::fs::read_to_string(dir.join("env"))
            .map(|e| {
                e.lines()
                    .filter_map(|l| l.split_once('='))
                    .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let label = file.strip_prefix(root()).unwrap_or(&file).display().to_string();
        out.push(Case { label, file, args, env });
    }
    // The checker's cases (`cases.rs`), with their `# args:` and `# env:`: those that check
    // clean must plan valid requests.
    for case in crate::cases::cases() {
        out.push(Case {
            label: case.rel().display().to_string(),
            file: case.file.clone(),
            args: case.args.clone(),
            env: case.env.clone(),
        });
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Checking a plan
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct Report {
    problems: Vec<String>,
    /// Bodies validated, by the model of the plan's api-version.
    bodies: BTreeMap<String, usize>,
    tasks: usize,
}

impl Report {
    fn bodies(&self) -> usize {
        self.bodies.values().sum()
    }
}

#[derive(Default)]
struct JobState {
    step: usize,
    pool: String,
    uses_task_dependencies: bool,
    terminates_at_creation: bool,
    /// Lowercased ids of the job's tasks so far, and of its preparation/release tasks.
    ids_ci: HashSet<String>,
    reserved_ci: Vec<(String, &'static str)>,
    /// Exact ids of tasks added so far (dependencies must name one of these).
    added: HashSet<String>,
    any_depends_on: bool,
    collections: Vec<usize>,
    patches: Vec<usize>,
}

#[derive(Default)]
struct PoolState {
    step: usize,
    containers: bool,
    task_slots: u64,
    windows: bool,
}

fn is_batch_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The id in `/pools/{id}` or `/jobs/{id}/...`.
fn path_id<'p>(path: &'p str, collection: &str) -> Option<&'p str> {
    path.strip_prefix(collection)?
        .strip_prefix('/')?
        .split('/')
        .next()
        .filter(|s| !s.is_empty())
}

fn walk_strings<'v>(v: &'v Value, at: String, out: &mut Vec<(String, &'v str)>) {
    match v {
        Value::String(s) => out.push((at, s)),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk_strings(item, format!("{at}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                walk_strings(item, format!("{at}/{k}"), out);
            }
        }
        _ => {}
    }
}

/// Rules a `resourceFiles` list must follow (ResourceFile's descriptions).
fn check_resource_files(files: &Value, at: &str, problems: &mut Vec<String>) {
    for (i, f) in files.as_array().into_iter().flatten().enumerate() {
        let sources = ["autoStorageContainerName", "storageContainerUrl", "httpUrl"]
            .iter()
            .filter(|k| f.get(**k).is_some())
            .count();
        if sources != 1 {
            problems.push(format!("{at}/{i}: a resource file needs exactly one of autoStorageContainerName, storageContainerUrl, httpUrl: {f}"));
        }
        if f.get("httpUrl").is_some() && f.get("filePath").and_then(Value::as_str).is_none_or(str::is_empty) {
            problems.push(format!("{at}/{i}: filePath is required with httpUrl: {f}"));
        }
        if let Some(p) = f.get("filePath").and_then(Value::as_str) {
            if p.split(['/', '\\']).any(|s| s == "..") || p.starts_with('/') || p.starts_with('\\') {
                problems.push(format!(
                    "{at}/{i}: filePath `{p}` breaks out of the task's working directory"
                ));
            }
        }
        if f.get("blobPrefix").is_some() && f.get("httpUrl").is_some() {
            problems.push(format!("{at}/{i}: blobPrefix only goes with a container source: {f}"));
        }
    }
}

/// Rules every task-like body (task, start, preparation, release task) follows.
fn check_task_like(t: &Value, at: &str, problems: &mut Vec<String>) {
    check_resource_files(&t["resourceFiles"], &format!("{at}/resourceFiles"), problems);
    if let Some(ui) = t.get("userIdentity") {
        if ui.get("username").is_some() == ui.get("autoUser").is_some() {
            problems.push(format!("{at}/userIdentity: exactly one of username and autoUser: {ui}"));
        }
    }
    let retries = t["constraints"]["maxTaskRetryCount"]
        .as_i64()
        .or_else(|| t["maxTaskRetryCount"].as_i64());
    if retries.is_some_and(|r| r < -1) {
        problems.push(format!("{at}: maxTaskRetryCount below -1"));
    }
}

fn seconds_of(v: &Value) -> Option<f64> {
    v.as_str().and_then(iso8601_seconds)
}

/// Validates every body of a plan and every rule beyond the schema.
/// A run's suffix as a run fills it into the plan's job ids (`<run-suffix>`): the requests
/// checked are those a run sends, their ids at their longest.
const RUN_SUFFIX: &str = "261123-141502-3fa9c1";

fn check_plan(label: &str, plan: &Value, secrets: Option<&Secrets>) -> Report {
    let filled = serde_json::to_string(plan)
        .map(|t| t.replace("<run-suffix>", RUN_SUFFIX))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok());
    let plan = filled.as_ref().unwrap_or(plan);
    let mut r = Report::default();
    let problem = |r: &mut Report, msg: String| r.problems.push(format!("{label}: {msg}"));
    let Some(version) = plan["api_version"].as_str().and_then(Version::from_name) else {
        problem(
            &mut r,
            format!("api_version {} has no schema here", plan["api_version"]),
        );
        return r;
    };
    let Some(steps) = plan["steps"].as_array() else {
        problem(&mut r, "no steps".into());
        return r;
    };
    let mut index: HashMap<String, usize> = HashMap::new();
    // Every step's transitive `after`, as step indexes.
    let mut before: Vec<HashSet<usize>> = Vec::with_capacity(steps.len());
    let mut pools: HashMap<String, PoolState> = HashMap::new();
    let mut pool_ids_ci: HashSet<String> = HashSet::new();
    let mut jobs: HashMap<String, JobState> = HashMap::new();
    let mut job_ids_ci: HashSet<String> = HashSet::new();
    let mut waits: Vec<(usize, String, String)> = Vec::new();

    for (i, step) in steps.iter().enumerate() {
        let id = step["step"].as_str().unwrap_or("").to_string();
        if id.is_empty() || index.insert(id.clone(), i).is_some() {
            problem(&mut r, format!("step #{i} has an empty or repeated id `{id}`"));
        }
        let mut closure = HashSet::new();
        for a in step["after"].as_array().into_iter().flatten() {
            let a = a.as_str().unwrap_or("");
            match index.get(a) {
                Some(&j) if j < i => {
                    closure.insert(j);
                    closure.extend(before[j].iter().copied());
                }
                _ => problem(
                    &mut r,
                    format!("step `{id}` is after `{a}`, which is not an earlier step"),
                ),
            }
        }
        before.push(closure);
        let path = step["path"].as_str().unwrap_or("").to_string();

        if let Some(wait) = step.get("wait") {
            if step.get("body").is_some() || step.get("method").is_some() {
                problem(&mut r, format!("wait step `{id}` also has a method or body"));
            }
            match version.operation("GET", &path) {
                Ok(_) => {}
                Err(e) => problem(&mut r, format!("wait step `{id}`: {e}")),
            }
            waits.push((i, wait.as_str().unwrap_or("").to_string(), path));
            continue;
        }

        // A pool created through Azure Resource Manager: its body as the Batch pool it becomes
        // (the fake ARM's translation), checked as Batch's pool bodies are.
        let translated;
        let (method, path, body) = if step["kind"] == "create-arm-pool" {
            let name = path.rsplit('/').next().unwrap_or("").to_string();
            translated = crate::fake_arm::as_batch(&name, &step["body"]);
            ("POST", "/pools".to_string(), &translated)
        } else {
            (step["method"].as_str().unwrap_or(""), path, &step["body"])
        };
        let model = match version.body_model(method, &path) {
            Ok(d) => d,
            Err(e) => {
                problem(&mut r, format!("step `{id}`: {e}"));
                continue;
            }
        };
        for e in version.schema_errors(&model, body) {
            problem(&mut r, format!("step `{id}` ({method} {path}): {e}"));
        }
        *r.bodies.entry(model.clone()).or_default() += 1;

        // Secrets: placeholders only, for secrets the file names; passwords never in clear.
        let mut strings = Vec::new();
        walk_strings(body, String::new(), &mut strings);
        for (at, s) in &strings {
            for (k, _) in s.match_indices("<secret:") {
                let name: String = s[k + "<secret:".len()..].chars().take_while(|c| *c != '>').collect();
                let known = secrets.is_none_or(|sec| sec.names.contains(&name));
                if !s[k..].contains('>') || !known || name.is_empty() {
                    problem(
                        &mut r,
                        format!("step `{id}` at `{at}`: `<secret:{name}>` names no secret() of the workflow"),
                    );
                }
            }
            if let Some(sec) = secrets {
                for (k, v) in &sec.values {
                    if s.contains(v.as_str()) {
                        problem(
                            &mut r,
                            format!("step `{id}` at `{at}`: holds the value of secret `{k}`"),
                        );
                    }
                }
                let is_password = at.ends_with("/password");
                let placeholder = s.starts_with("<secret:") && s.ends_with('>') && s.matches("<secret:").count() == 1;
                if is_password && !placeholder && !sec.source.contains(&format!("\"{s}\"")) {
                    problem(&mut r, format!("step `{id}` at `{at}`: a password that is neither a placeholder nor written in the workflow"));
                }
            }
        }

        match version.body(&model) {
            Some(Body::CreatePool) => {
                let pid = body["id"].as_str().unwrap_or("");
                if !is_batch_id(pid) {
                    problem(&mut r, format!("pool id `{pid}` is not 1-64 letters, digits, `-`, `_`"));
                }
                if !pool_ids_ci.insert(pid.to_ascii_lowercase()) {
                    problem(
                        &mut r,
                        format!("pool id `{pid}` is created twice (ids are case-insensitive)"),
                    );
                }
                let auto = body["enableAutoScale"] == true;
                let fixed = body.get("targetDedicatedNodes").is_some() || body.get("targetLowPriorityNodes").is_some();
                if auto && (fixed || body.get("autoScaleFormula").is_none()) {
                    problem(
                        &mut r,
                        format!("pool `{pid}`: enableAutoScale needs autoScaleFormula and no target node counts"),
                    );
                }
                if !auto
                    && (!fixed
                        || body.get("autoScaleFormula").is_some()
                        || body.get("autoScaleEvaluationInterval").is_some())
                {
                    problem(
                        &mut r,
                        format!("pool `{pid}`: without autoscale it needs a target node count and no formula"),
                    );
                }
                if seconds_of(&body["resizeTimeout"]).is_some_and(|s| s < 300.0) {
                    problem(&mut r, format!("pool `{pid}`: resizeTimeout under 5 minutes"));
                }
                if seconds_of(&body["autoScaleEvaluationInterval"])
                    .is_some_and(|s| !(300.0..=168.0 * 3600.0).contains(&s))
                {
                    problem(
                        &mut r,
                        format!("pool `{pid}`: autoScaleEvaluationInterval outside 5 minutes..168 hours"),
                    );
                }
                let slots = body["taskSlotsPerNode"].as_u64().unwrap_or(1);
                if !(1..=256).contains(&slots) {
                    problem(&mut r, format!("pool `{pid}`: taskSlotsPerNode {slots} outside 1..256"));
                }
                let vm = &body["virtualMachineConfiguration"];
                let image = &vm["imageReference"];
                let marketplace = ["publisher", "offer", "sku"].iter().all(|k| image.get(*k).is_some());
                let any_marketplace = ["publisher", "offer", "sku", "version"]
                    .iter()
                    .any(|k| image.get(*k).is_some());
                if image.get("virtualMachineImageId").is_some() == any_marketplace || (any_marketplace && !marketplace)
                {
                    problem(&mut r, format!("pool `{pid}`: imageReference needs publisher/offer/sku or virtualMachineImageId, not both: {image}"));
                }
                if body.get("cloudServiceConfiguration").is_some() {
                    problem(&mut r, format!("pool `{pid}`: cloudServiceConfiguration is retired"));
                }
                if let Some(st) = body.get("startTask") {
                    check_task_like(st, &format!("{label}: pool `{pid}` startTask"), &mut r.problems);
                }
                pools.insert(
                    pid.to_string(),
                    PoolState {
                        step: i,
                        containers: vm.get("containerConfiguration").is_some(),
                        task_slots: slots,
                        windows: vm["nodeAgentSKUId"]
                            .as_str()
                            .is_some_and(|a| a.starts_with("batch.node.windows")),
                    },
                );
            }
            Some(Body::CreateJob) => {
                let jid = body["id"].as_str().unwrap_or("");
                if !is_batch_id(jid) {
                    problem(&mut r, format!("job id `{jid}` is not 1-64 letters, digits, `-`, `_`"));
                }
                if !job_ids_ci.insert(jid.to_ascii_lowercase()) {
                    problem(
                        &mut r,
                        format!("job id `{jid}` is created twice (ids are case-insensitive)"),
                    );
                }
                let pool = body["poolInfo"]["poolId"].as_str().unwrap_or("");
                if body["poolInfo"].get("autoPoolSpecification").is_some() == body["poolInfo"].get("poolId").is_some() {
                    problem(
                        &mut r,
                        format!("job `{jid}`: poolInfo needs exactly one of poolId, autoPoolSpecification"),
                    );
                }
                if !pools.contains_key(pool) {
                    problem(
                        &mut r,
                        format!("job `{jid}` runs on pool `{pool}`, which no earlier step creates"),
                    );
                }
                if body["priority"].as_i64().is_some_and(|p| !(-1000..=1000).contains(&p)) {
                    problem(&mut r, format!("job `{jid}`: priority outside -1000..1000"));
                }
                if body["maxParallelTasks"].as_i64().is_some_and(|p| p != -1 && p < 1) {
                    problem(&mut r, format!("job `{jid}`: maxParallelTasks must be -1 or positive"));
                }
                if body.get("jobReleaseTask").is_some() && body.get("jobPreparationTask").is_none() {
                    problem(&mut r, format!("job `{jid}`: a release task needs a preparation task"));
                }
                let mut reserved = Vec::new();
                for (key, default) in [
                    ("jobPreparationTask", "jobpreparation"),
                    ("jobReleaseTask", "jobrelease"),
                ] {
                    if let Some(t) = body.get(key) {
                        check_task_like(t, &format!("{label}: job `{jid}` {key}"), &mut r.problems);
                        let tid = t["id"].as_str().unwrap_or(default);
                        reserved.push((tid.to_ascii_lowercase(), key));
                        let container_pool = pools.get(pool).is_some_and(|p| p.containers);
                        if t.get("containerSettings").is_some() && !container_pool {
                            problem(
                                &mut r,
                                format!(
                                    "job `{jid}` {key}: containerSettings on a pool without containerConfiguration"
                                ),
                            );
                        }
                    }
                }
                if let Some(common) = body["commonEnvironmentSettings"].as_array() {
                    let mut names = HashSet::new();
                    for e in common {
                        let n = e["name"].as_str().unwrap_or("");
                        if !names.insert(n.to_string()) {
                            problem(&mut r, format!("job `{jid}`: environment variable `{n}` set twice"));
                        }
                    }
                }
                jobs.insert(
                    jid.to_string(),
                    JobState {
                        step: i,
                        pool: pool.to_string(),
                        uses_task_dependencies: body["usesTaskDependencies"] == true,
                        terminates_at_creation: body["onAllTasksComplete"] == "terminatejob",
                        reserved_ci: reserved,
                        ..JobState::default()
                    },
                );
            }
            Some(Body::CreateTaskCollection) => {
                let jid = path_id(&path, "/jobs").unwrap_or("");
                let Some(job) = jobs.get_mut(jid) else {
                    problem(
                        &mut r,
                        format!("step `{id}` adds tasks to job `{jid}`, which no earlier step creates"),
                    );
                    continue;
                };
                if !before[i].contains(&job.step) {
                    problem(
                        &mut r,
                        format!("step `{id}` does not come (through `after`) after the creation of job `{jid}`"),
                    );
                }
                job.collections.push(i);
                let tasks = body["value"].as_array().map(Vec::as_slice).unwrap_or_default();
                let bytes = serde_json::to_string(body).map(|s| s.len()).unwrap_or(usize::MAX);
                if tasks.is_empty() || tasks.len() > MAX_COLLECTION_TASKS {
                    problem(
                        &mut r,
                        format!("step `{id}` adds {} tasks; a collection holds 1..=100", tasks.len()),
                    );
                }
                if bytes >= MAX_COLLECTION_BYTES {
                    problem(
                        &mut r,
                        format!("step `{id}` is {bytes} bytes; a collection must be under 1,000,000"),
                    );
                }
                r.tasks += tasks.len();
                let (containers, task_slots, windows) = pools
                    .get(&job.pool)
                    .map_or((false, 1, false), |p| (p.containers, p.task_slots, p.windows));
                // First the ids this collection adds: a dependency may name any of them.
                for t in tasks {
                    let tid = t["id"].as_str().unwrap_or("");
                    if !is_batch_id(tid) {
                        r.problems.push(format!(
                            "{label}: job `{jid}`: task id `{tid}` is not 1-64 letters, digits, `-`, `_`"
                        ));
                    }
                    let lower = tid.to_ascii_lowercase();
                    if !job.ids_ci.insert(lower.clone()) {
                        r.problems.push(format!(
                            "{label}: job `{jid}`: task id `{tid}` is added twice (ids are case-insensitive)"
                        ));
                    }
                    if let Some((_, what)) = job.reserved_ci.iter().find(|(reserved, _)| *reserved == lower) {
                        r.problems.push(format!(
                            "{label}: job `{jid}`: task id `{tid}` is the id of the job's {what}"
                        ));
                    }
                    job.added.insert(tid.to_string());
                }
                for t in tasks {
                    let tid = t["id"].as_str().unwrap_or("");
                    let at = format!("job `{jid}` task `{tid}`");
                    check_task_like(t, &format!("{label}: {at}"), &mut r.problems);
                    if t.get("containerSettings").is_some() != containers {
                        r.problems.push(format!(
                            "{label}: {at}: containerSettings must be set exactly when the pool has containerConfiguration (pool has it: {containers})"
                        ));
                    }
                    if windows
                        && t.get("containerSettings").is_some()
                        && t["userIdentity"]["autoUser"]["elevationLevel"] != "admin"
                    {
                        r.problems
                            .push(format!("{label}: {at}: a Windows container task must run as admin"));
                    }
                    if let Some(mi) = t.get("multiInstanceSettings") {
                        if t["requiredSlots"].as_u64().is_some_and(|s| s != 1) {
                            r.problems
                                .push(format!("{label}: {at}: a multi-instance task must require 1 slot"));
                        }
                        if mi["numberOfInstances"].as_i64().is_some_and(|n| n < 1) {
                            r.problems.push(format!("{label}: {at}: numberOfInstances below 1"));
                        }
                    }
                    if t["requiredSlots"].as_u64().is_some_and(|s| s < 1 || s > task_slots) {
                        r.problems.push(format!(
                            "{label}: {at}: requiredSlots {} is outside 1..={task_slots} (the pool's taskSlotsPerNode)",
                            t["requiredSlots"]
                        ));
                    }
                    let Some(deps) = t.get("dependsOn") else { continue };
                    let ids: Vec<&str> = deps["taskIds"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect();
                    let ranges = deps["taskIdRanges"].as_array().map(Vec::as_slice).unwrap_or_default();
                    if ids.is_empty() && ranges.is_empty() {
                        r.problems.push(format!("{label}: {at}: an empty dependsOn"));
                        continue;
                    }
                    job.any_depends_on = true;
                    let joined = ids.join(",").len();
                    if joined > MAX_DEPENDS_ON_CHARS {
                        r.problems.push(format!("{label}: {at}: dependsOn.taskIds is {joined} characters joined; Batch takes at most 64,000"));
                    }
                    for d in &ids {
                        if !job.added.contains(*d) {
                            r.problems.push(format!("{label}: {at} depends on `{d}`, which no earlier or the same collection of the job adds"));
                        }
                        if d.eq_ignore_ascii_case(tid) {
                            r.problems.push(format!("{label}: {at} depends on itself"));
                        }
                    }
                    for range in ranges {
                        let (Some(start), Some(end)) = (range["start"].as_u64(), range["end"].as_u64()) else {
                            continue;
                        };
                        if start > end {
                            r.problems.push(format!("{label}: {at}: range {start}..{end} is empty"));
                        }
                        if let Some(missing) = (start..=end).find(|n| !job.added.contains(&n.to_string())) {
                            r.problems.push(format!("{label}: {at} depends on range {start}..{end}, but task `{missing}` is not added before"));
                        }
                    }
                }
            }
            Some(Body::PatchJob) => {
                let jid = path_id(&path, "/jobs").unwrap_or("");
                match jobs.get_mut(jid) {
                    Some(job) => {
                        if !before[i].contains(&job.step) {
                            problem(
                                &mut r,
                                format!(
                                    "step `{id}` does not come (through `after`) after the creation of job `{jid}`"
                                ),
                            );
                        }
                        job.patches.push(i);
                    }
                    None => problem(
                        &mut r,
                        format!("step `{id}` patches job `{jid}`, which no earlier step creates"),
                    ),
                }
            }
            _ => problem(&mut r, format!("step `{id}`: unexpected request body {model}")),
        }
    }

    for (jid, job) in &jobs {
        if job.uses_task_dependencies != job.any_depends_on {
            r.problems.push(format!(
                "{label}: job `{jid}` has usesTaskDependencies {} but {} of its tasks has dependsOn",
                job.uses_task_dependencies,
                if job.any_depends_on { "some" } else { "none" }
            ));
        }
        if job.terminates_at_creation && !job.collections.is_empty() {
            r.problems.push(format!(
                "{label}: job `{jid}` is created with onAllTasksComplete=terminatejob before its tasks are added"
            ));
        }
        for &p in &job.patches {
            for &c in &job.collections {
                if c > p || !before[p].contains(&c) {
                    r.problems.push(format!(
                        "{label}: the PATCH of job `{jid}` (step `{}`) does not come after its collection step `{}`",
                        steps[p]["step"].as_str().unwrap_or(""),
                        steps[c]["step"].as_str().unwrap_or("")
                    ));
                }
            }
        }
    }
    for (i, wait, path) in &waits {
        let step = steps[*i]["step"].as_str().unwrap_or("");
        match wait.as_str() {
            "pool-ready" => match path_id(path, "/pools").and_then(|p| pools.get(p)) {
                Some(pool) if before[*i].contains(&pool.step) => {}
                _ => r.problems.push(format!(
                    "{label}: wait `{step}` on `{path}` does not follow the creation of that pool"
                )),
            },
            "job-completed" => match path_id(path, "/jobs").and_then(|j| jobs.get(j)) {
                // A job only completes once it is told to terminate when its tasks are done.
                Some(job) if job.terminates_at_creation || job.patches.iter().any(|p| before[*i].contains(p)) => {}
                _ => r.problems.push(format!(
                    "{label}: wait `{step}` on `{path}` does not follow the PATCH that lets the job complete"
                )),
            },
            other => r
                .problems
                .push(format!("{label}: wait `{step}` waits for unknown `{other}`")),
        }
    }
    r
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

/// Every example, rule fixture and case that plans is planned twice: with the default
/// api-version (2025-06-01) and with `--api-version 2024-02-01.19.0`. Each plan is checked
/// against its version's schema, and both have the same steps: the bodies batchflow writes are
/// valid for both versions.
#[test]
fn every_example_fixture_and_case_plans_valid_requests_for_each_api_version() {
    let mut problems = Vec::new();
    let mut skipped = Vec::new();
    let mut plans: BTreeMap<&str, usize> = BTreeMap::new();
    let mut totals: BTreeMap<&str, BTreeMap<String, usize>> = BTreeMap::new();
    let mut tasks = 0;
    for case in cases() {
        let mut steps = Vec::new();
        for version in Version::ALL {
            let Some(planned) = plan_case(&case, version) else {
                skipped.push(format!("{} ({})", case.label, version.name()));
                continue;
            };
            if planned.plan["api_version"] != version.name() {
                problems.push(format!("{}: api_version {}", case.label, planned.plan["api_version"]));
            }
            let report = check_plan(&case.label, &planned.plan, Some(&planned.secrets));
            if report.bodies() == 0 {
                problems.push(format!("{}: the plan has no request", case.label));
            }
            *plans.entry(version.name()).or_default() += 1;
            if version == Version::DEFAULT {
                tasks += report.tasks;
            }
            let by_model = totals.entry(version.name()).or_default();
            for (k, v) in report.bodies {
                *by_model.entry(k).or_default() += v;
            }
            problems.extend(report.problems);
            steps.push(planned.plan["steps"].clone());
        }
        if steps.windows(2).any(|w| w[0] != w[1]) {
            problems.push(format!("{}: the steps differ between api-versions", case.label));
        }
    }
    for (version, by_model) in &totals {
        eprintln!(
            "api-version {version}: validated {} plans, {} bodies: {by_model:?}",
            plans.get(version).copied().unwrap_or(0),
            by_model.values().sum::<usize>()
        );
    }
    eprintln!("{tasks} tasks in each; skipped (plan has errors): {skipped:?}");
    assert!(
        problems.is_empty(),
        "{} problems in planned bodies:\n{}",
        problems.len(),
        problems.join("\n")
    );
    for version in Version::ALL {
        let validated = plans.get(version.name()).copied().unwrap_or(0);
        assert!(
            validated >= 40,
            "only {validated} workflows planned for {} and were validated; skipped: {skipped:?}",
            version.name()
        );
        for body in [
            Body::CreatePool,
            Body::CreateJob,
            Body::CreateTaskCollection,
            Body::PatchJob,
        ] {
            let model = version.model(body);
            assert!(
                totals
                    .get(version.name())
                    .and_then(|t| t.get(model))
                    .is_some_and(|n| *n > 0),
                "no {model} body was validated"
            );
        }
    }
}

/// A minimal pool body Batch takes; the negative tests change one thing in it.
pub fn good_pool() -> Value {
    json!({
        "id": "cpu",
        "vmSize": "Standard_D2s_v5",
        "virtualMachineConfiguration": {
            "imageReference": {"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": "latest"},
            "nodeAgentSKUId": "batch.node.ubuntu 24.04"
        },
        "resizeTimeout": "PT15M",
        "targetDedicatedNodes": 2,
        "taskSlotsPerNode": 2
    })
}

/// A plan with every rule kept; `rules_beyond_the_schema_catch_broken_plans` breaks it one way at a time.
fn good_plan() -> Value {
    let task = |id: &str, deps: &[&str]| {
        let mut t = json!({"id": id, "commandLine": "/bin/sh -c true"});
        if !deps.is_empty() {
            t["dependsOn"] = json!({"taskIds": deps});
        }
        t
    };
    json!({
        "workflow": "w",
        "api_version": Version::DEFAULT.name(),
        "steps": [
            {"step": "create-pool-cpu", "method": "POST", "path": "/pools", "body": good_pool(), "after": []},
            {"step": "wait-pool-cpu", "wait": "pool-ready", "path": "/pools/cpu", "after": ["create-pool-cpu"]},
            {"step": "create-job-j", "method": "POST", "path": "/jobs", "after": ["create-pool-cpu"],
             "body": {"id": "j", "poolInfo": {"poolId": "cpu"}, "onAllTasksComplete": "noaction", "usesTaskDependencies": true}},
            {"step": "add-tasks-j-1", "method": "POST", "path": "/jobs/j/addtaskcollection", "after": ["create-job-j"],
             "body": {"value": [task("a", &[]), task("b", &["a"])]}},
            {"step": "add-tasks-j-2", "method": "POST", "path": "/jobs/j/addtaskcollection", "after": ["create-job-j"],
             "body": {"value": [task("c", &["a", "b"])]}},
            {"step": "end-job-j", "method": "PATCH", "path": "/jobs/j", "after": ["add-tasks-j-1", "add-tasks-j-2"],
             "body": {"onAllTasksComplete": "terminatejob"}},
            {"step": "wait-job-j", "wait": "job-completed", "path": "/jobs/j", "after": ["end-job-j", "wait-pool-cpu"]}
        ]
    })
}

#[test]
fn rules_beyond_the_schema_catch_broken_plans() {
    let report = check_plan("good", &good_plan(), None);
    assert_eq!(report.problems, Vec::<String>::new());
    assert_eq!(report.bodies(), 5);

    type Break = fn(&mut Value);
    let broken: [(&str, &str, Break); 12] = [
        (
            "dependency in a later collection",
            "no earlier or the same collection",
            |p| {
                p["steps"][3]["body"]["value"][1]["dependsOn"]["taskIds"] = json!(["c"]);
            },
        ),
        ("PATCH before a collection", "does not come after its collection", |p| {
            p["steps"][5]["after"] = json!(["add-tasks-j-1"]);
        }),
        ("after a later step", "not an earlier step", |p| {
            p["steps"][2]["after"] = json!(["end-job-j"]);
        }),
        ("usesTaskDependencies false", "usesTaskDependencies false", |p| {
            p["steps"][2]["body"]["usesTaskDependencies"] = json!(false);
        }),
        ("same id in another case", "added twice", |p| {
            p["steps"][4]["body"]["value"][0]["id"] = json!("A");
        }),
        ("bad id", "is not 1-64", |p| {
            p["steps"][4]["body"]["value"][0]["id"] = json!("c.1");
        }),
        ("wrong path", "no Batch operation", |p| {
            p["steps"][3]["path"] = json!("/jobs/j/addtasks/collection");
        }),
        ("wrong method", "has no `PUT /pools`", |p| {
            p["steps"][0]["method"] = json!("PUT");
        }),
        ("dependsOn too long", "64,000", |p| {
            let ids: Vec<String> = (0..10_000).map(|i| format!("a-long-task-name-{i}")).collect();
            p["steps"][4]["body"]["value"][0]["dependsOn"]["taskIds"] = json!(ids);
        }),
        ("too many tasks", "a collection holds 1..=100", |p| {
            let tasks: Vec<Value> = (0..101)
                .map(|i| json!({"id": format!("x{i}"), "commandLine": "true"}))
                .collect();
            p["steps"][4]["body"]["value"] = json!(tasks);
        }),
        ("too many bytes", "under 1,000,000", |p| {
            p["steps"][4]["body"]["value"][0]["commandLine"] = json!("x".repeat(MAX_COLLECTION_BYTES));
        }),
        ("container task on a plain pool", "containerSettings must be set", |p| {
            p["steps"][4]["body"]["value"][0]["containerSettings"] = json!({"imageName": "ubuntu:24.04"});
        }),
    ];
    for (what, expect, break_it) in broken {
        let mut plan = good_plan();
        break_it(&mut plan);
        let report = check_plan(what, &plan, None);
        assert!(
            report.problems.iter().any(|p| p.contains(expect)),
            "{what}: expected a problem containing `{expect}`, got {:?}",
            report.problems
        );
    }

    let secrets = Secrets {
        names: ["SAS".to_string()].into(),
        values: vec![("SAS".into(), "RealSASValue".into())],
        source: String::new(),
    };
    let mut leaked = good_plan();
    leaked["steps"][3]["body"]["value"][0]["commandLine"] =
        json!("curl https://a.blob.core.windows.net/c?RealSASValue <secret:OTHER>");
    let report = check_plan("leak", &leaked, Some(&secrets));
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.contains("holds the value of secret `SAS`")),
        "{:?}",
        report.problems
    );
    assert!(
        report.problems.iter().any(|p| p.contains("<secret:OTHER>")),
        "{:?}",
        report.problems
    );
}

/// Plans a generated workflow in a temporary repository.
fn plan_generated(name: &str, source: &str) -> Value {
    let file = format!("{name}.batchflow");
    let out = Test::new()
        .write(&file, source)
        .args(["plan", "--format", "json", &file])
        .success();
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{name}: plan output is not JSON: {e}"))
}

const CPU_POOL: &str = r#"
pool cpu {
  vm_size    = "Standard_D16s_v5"
  image      = marketplace("Canonical", "ubuntu-24_04-lts", "server")
  node_agent = "batch.node.ubuntu 24.04"
  dedicated  = 25
  task_slots = 16
}
"#;

/// The collections of one job: (step id, task bodies).
fn collections<'p>(plan: &'p Value, job: &str) -> Vec<(&'p str, &'p [Value])> {
    plan["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter(|s| s["kind"] == "add-tasks" && s["job"] == job)
        .map(|s| {
            (
                s["step"].as_str().unwrap_or(""),
                s["body"]["value"].as_array().map(Vec::as_slice).unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn a_12000_task_sweep_with_fan_in_splits_at_100_and_goes_through_barriers() {
    const N: usize = 12_000;
    let source = format!(
        "workflow \"wide\"\n{CPU_POOL}\njob wide on cpu {{\n  max_wall_clock = 1d\n\n  task train[i in 0..{N}] {{\n    command = \"python3 train.py --replicate ${{i}}\"\n    timeout = 1h\n  }}\n\n  task report after train {{\n    command = \"python3 report.py\"\n  }}\n}}\n"
    );
    let plan = plan_generated("wide", &source);
    let report = check_plan("wide", &plan, None);
    assert_eq!(report.problems, Vec::<String>::new());

    let cols = collections(&plan, "wide");
    let mut deps: HashMap<&str, Vec<String>> = HashMap::new();
    let mut order: Vec<&str> = Vec::new();
    for (step, tasks) in &cols {
        assert!(
            (1..=MAX_COLLECTION_TASKS).contains(&tasks.len()),
            "{step}: {} tasks",
            tasks.len()
        );
        for t in *tasks {
            let id = t["id"].as_str().expect("task id");
            order.push(id);
            let d = &t["dependsOn"];
            let mut list: Vec<String> = d["taskIds"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect();
            for range in d["taskIdRanges"].as_array().into_iter().flatten() {
                let (start, end) = (
                    range["start"].as_u64().expect("start"),
                    range["end"].as_u64().expect("end"),
                );
                list.extend((start..=end).map(|n| n.to_string()));
            }
            deps.insert(id, list);
        }
    }
    let instances: HashSet<String> = (0..N).map(|i| format!("train-{i}")).collect();
    let barriers: Vec<&&str> = order
        .iter()
        .filter(|id| *id != &"report" && !instances.contains(**id))
        .collect();
    assert_eq!(
        order.len(),
        N + 1 + barriers.len(),
        "every instance and the fan-in, once"
    );
    // Full collections of 100 until the last one.
    let full = cols.iter().filter(|(_, t)| t.len() == MAX_COLLECTION_TASKS).count();
    assert!(
        full >= cols.len() - 1,
        "collections of 100 except the last: {:?}",
        cols.iter().map(|(_, t)| t.len()).collect::<Vec<_>>()
    );
    assert_eq!(cols.len(), (order.len()).div_ceil(MAX_COLLECTION_TASKS));

    let fan_in = deps.get("report").expect("the fan-in task is planned");
    assert!(
        fan_in.join(",").len() < MAX_DEPENDS_ON_CHARS,
        "the fan-in's dependsOn is {} chars",
        fan_in.join(",").len()
    );
    assert!(
        !barriers.is_empty(),
        "12,000 ids do not fit one dependsOn: barrier tasks are needed"
    );
    assert!(
        fan_in.len() < N,
        "the fan-in depends on barriers, not directly on every instance"
    );
    for b in &barriers {
        let d = deps.get(**b).expect("barrier");
        assert!(d.join(",").len() <= MAX_DEPENDS_ON_CHARS, "barrier {b}");
    }

    // Transitive closure from the fan-in task reaches every instance.
    let mut seen: HashSet<&str> = HashSet::new();
    let mut queue: VecDeque<&str> = fan_in.iter().map(String::as_str).collect();
    while let Some(id) = queue.pop_front() {
        if !seen.insert(id) {
            continue;
        }
        if let Some(next) = deps.get(id) {
            queue.extend(next.iter().map(String::as_str));
        }
    }
    let missing: Vec<&String> = instances
        .iter()
        .filter(|i| !seen.contains(i.as_str()))
        .take(5)
        .collect();
    assert!(
        missing.is_empty(),
        "the fan-in does not depend (even through barriers) on {missing:?}..."
    );
    assert!(!seen.contains("report"), "no dependency cycle back to the fan-in");
    // Instances depend on nothing.
    assert!(instances
        .iter()
        .all(|i| deps.get(i.as_str()).is_some_and(Vec::is_empty)));
}

#[test]
fn long_commands_split_collections_by_size() {
    // ~15 kB per task: 100 of them would be ~1.5 MB.
    let padding = "x".repeat(15_000);
    let source = format!(
        "workflow \"heavy\"\n{CPU_POOL}\njob heavy on cpu {{\n  task step[i in 0..250] {{\n    command = \"/bin/sh -c 'echo ${{i}} {padding}'\"\n  }}\n\n  task done after step {{\n    command = \"/bin/sh -c true\"\n  }}\n}}\n"
    );
    let plan = plan_generated("heavy", &source);
    let report = check_plan("heavy", &plan, None);
    assert_eq!(report.problems, Vec::<String>::new());
    let cols = collections(&plan, "heavy");
    let sizes: Vec<(usize, usize)> = cols
        .iter()
        .map(|(step, tasks)| {
            let body = plan["steps"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|s| s["step"] == *step)
                .expect("step");
            (tasks.len(), serde_json::to_string(&body["body"]).expect("body").len())
        })
        .collect();
    assert!(sizes.iter().all(|(_, b)| *b < MAX_COLLECTION_BYTES), "{sizes:?}");
    assert!(
        sizes.iter().any(|(n, _)| *n < MAX_COLLECTION_TASKS && *n > 1),
        "split by size: {sizes:?}"
    );
    assert_eq!(sizes.iter().map(|(n, _)| n).sum::<usize>(), 251, "{sizes:?}");
    // Not split more than needed: each collection but the last is at least 90% full by size
    // or count.
    for (n, b) in &sizes[..sizes.len() - 1] {
        assert!(
            *n == MAX_COLLECTION_TASKS || *b > MAX_COLLECTION_BYTES * 9 / 10,
            "{sizes:?}"
        );
    }
}

#[test]
fn barrier_tasks_on_windows_containers_run_in_the_container_as_admin() {
    const N: usize = 11_000;
    let source = format!(
        r#"workflow "wide-windows"
import "std/images"
let app = "contosoapps.azurecr.io/forecast/myapp:2.3-ltsc2022"
registry acr {{
  server   = "contosoapps.azurecr.io"
  identity = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/apps-rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/batch-acr-pull"
}}
pool win {{
  vm_size    = "Standard_D4s_v5"
  image      = images.windows_2022_containers
  dedicated  = 2
  task_slots = 2
  containers {{
    images     = [app]
    registries = [acr]
  }}
}}
job forecast on win {{
  task part[i in 0..{N}] {{
    container = app
    elevation = admin
    command   = r"cmd /c c:\app\myApp.exe --part " + "${{i}}"
  }}
  task publish after part {{
    container = app
    elevation = admin
    command   = r"c:\app\myApp.exe --publish"
  }}
}}
"#
    );
    let plan = plan_generated("wide-windows", &source);
    let report = check_plan("wide-windows", &plan, None);
    assert_eq!(report.problems, Vec::<String>::new());
    let barriers: Vec<&Value> = collections(&plan, "forecast")
        .into_iter()
        .flat_map(|(_, tasks)| tasks.iter())
        .filter(|t| {
            t["id"]
                .as_str()
                .is_some_and(|id| id != "publish" && !id.starts_with("part-"))
        })
        .collect();
    assert!(!barriers.is_empty(), "{N} dependencies need barrier tasks");
    for b in barriers {
        assert!(b["containerSettings"]["imageName"].is_string(), "{b}");
        assert_eq!(b["userIdentity"]["autoUser"]["elevationLevel"], "admin", "{b}");
    }
}

/// A workflow that `check` accepts must plan into valid requests (or the planner must refuse
/// it with a diagnostic). Each case here is one a checker could miss.
#[test]
fn workflows_that_check_clean_plan_valid_requests() {
    let pool = CPU_POOL;
    let container_pool = r#"
pool box {
  vm_size    = "Standard_D4s_v5"
  image      = marketplace("microsoft-dsvm", "ubuntu-hpc", "2404")
  node_agent = "batch.node.ubuntu 24.04"
  dedicated  = 2
  containers { images = ["ubuntu:24.04"] }
}
"#;
    let hook_workflow = format!("{pool}\njob j on cpu {{\n  task a {{ command = \"true\" }}\n  task b[i in 0..4] after a {{ command = \"true\" }}\n}}\n");
    let cases: Vec<(&str, String, Option<&str>)> = vec![
        (
            "a sweep instance and a task with the same id",
            format!("{pool}\njob j on cpu {{\n  task t[i in 0..2] {{ command = \"true\" }}\n  task t-0 {{ command = \"true\" }}\n}}\n"),
            None,
        ),
        (
            "a sweep instance and a task whose ids differ only by case",
            format!("{pool}\njob j on cpu {{\n  task T[i in 0..2] {{ command = \"true\" }}\n  task t-1 {{ command = \"true\" }}\n}}\n"),
            None,
        ),
        (
            "an input path that leaves the working directory",
            format!("{pool}\njob j on cpu {{\n  task a {{\n    command = \"true\"\n    inputs {{ \"../x.txt\" = \"https://a.blob.core.windows.net/c/x.txt\" }}\n  }}\n}}\n"),
            None,
        ),
        (
            "an absolute input path",
            format!("{pool}\njob j on cpu {{\n  task a {{\n    command = \"true\"\n    inputs {{ \"/etc/x.txt\" = \"https://a.blob.core.windows.net/c/x.txt\" }}\n  }}\n}}\n"),
            None,
        ),
        (
            "a task without a container on a container pool",
            format!("{container_pool}\njob j on box {{\n  task a {{ command = \"true\" }}\n}}\n"),
            None,
        ),
        ("before_submit sets slots = 0", hook_workflow.clone(), Some("fn before_submit(task) { if task.id == \"a\" { task.slots = 0; } task }")),
        (
            "before_submit sets more slots than the pool's task_slots",
            hook_workflow.clone(),
            Some("fn before_submit(task) { if task.id == \"b-0\" { task.slots = 64; } task }"),
        ),
        (
            "before_submit gives a task a container on a plain pool",
            hook_workflow.clone(),
            Some("fn before_submit(task) { if task.id == \"b-1\" { task.container = \"ubuntu:24.04\"; } task }"),
        ),
        ("before_submit sets retries = -7", hook_workflow.clone(), Some("fn before_submit(task) { if task.id == \"b-2\" { task.retries = -7; } task }")),
        // Controls: these must plan cleanly.
        ("control: plain workflow", hook_workflow.clone(), None),
        ("control: a hook that only adds retries", hook_workflow, Some("fn before_submit(task) { task.retries = 3; task }")),
    ];
    let mut failures = Vec::new();
    for (k, (what, body, hooks)) in cases.into_iter().enumerate() {
        let name = format!("edge{k}");
        let file = format!("{name}.batchflow");
        let repo = Repo::new();
        repo.write(&file, format!("workflow \"{name}\"\n{body}"));
        if let Some(script) = hooks {
            repo.write(format!("{name}.rhai"), script);
        }
        let checked = repo.test().args(["check", &file]).run();
        let control = what.starts_with("control");
        if checked.code != 0 {
            if control {
                failures.push(format!("{what}: check failed:\n{}", checked.stderr));
            }
            continue; // the checker catches it: fine
        }
        let out = repo.test().args(["plan", "--format", "json", &file]).run();
        if out.code != 0 {
            if control || !out.stderr.contains("BF") {
                failures.push(format!("{what}: plan failed without a diagnostic:\n{}", out.stderr));
            }
            continue; // the planner refuses it with a diagnostic: fine
        }
        let plan: Value =
            serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{what}: plan output is not JSON: {e}"));
        let report = check_plan(what, &plan, None);
        if !report.problems.is_empty() {
            failures.push(format!(
                "`{what}` passes `check` and plans, but Batch would reject the plan:\n  {}",
                report.problems.join("\n  ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "PLANNER/CHECKER BUGS: {} workflows plan invalid requests:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
