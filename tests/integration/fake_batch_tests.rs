//! Tests of the fake Batch service itself (`fake_batch/`): it must behave as Batch does for
//! every operation the azure backend uses, and its faults must be the ones asked for.

use crate::fake_batch::{Config, FakeBatch, Faults, Snapshot};
use crate::schema::Version;
use crate::support::Test;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

// ---------------------------------------------------------------------------------------------
// A small client
// ---------------------------------------------------------------------------------------------

pub(crate) struct Resp {
    pub(crate) status: u16,
    headers: reqwest::header::HeaderMap,
    pub(crate) text: String,
}

impl Resp {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `code` of a Batch error body.
    fn code(&self) -> String {
        self.json()["code"].as_str().unwrap_or("").to_string()
    }
}

pub(crate) struct Client {
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
    base: String,
    /// (account, key) to sign with SharedKey; else a bearer token.
    key: Option<(String, Vec<u8>)>,
    /// The api-version of every request.
    version: &'static str,
}

impl Client {
    pub(crate) fn new(fake: &FakeBatch) -> Client {
        Client::at(&fake.url())
    }

    fn at(base: &str) -> Client {
        Client {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime"),
            http: reqwest::Client::builder()
                .tcp_nodelay(true)
                .build()
                .expect("an HTTP client"),
            base: base.to_string(),
            key: None,
            version: Version::DEFAULT.name(),
        }
    }

    /// The full URL of `path` (which may have a query), with the api-version added.
    fn url(&self, path: &str) -> String {
        let sep = if path.contains('?') { '&' } else { '?' };
        format!("{}{path}{sep}api-version={}", self.base, self.version)
    }

    fn try_send_url(&self, method: &str, url: &str, body: Option<&Value>) -> Result<Resp, reqwest::Error> {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
        let bytes = body.map(|b| serde_json::to_vec(b).expect("JSON"));
        let mut req = self
            .http
            .request(method.clone(), url)
            .header("client-request-id", uuid::Uuid::new_v4().to_string());
        if let Some(b) = &bytes {
            req = req
                .header("Content-Type", "application/json; odata=minimalmetadata")
                .body(b.clone());
        } else if method == reqwest::Method::POST || method == reqwest::Method::PATCH {
            req = req.header("Content-Length", "0");
        }
        req = match &self.key {
            None => req.header("Authorization", "Bearer test-token"),
            Some((account, key)) => {
                let date = httpdate::fmt_http_date(SystemTime::now());
                let parsed = reqwest::Url::parse(url).expect("a URL");
                let query: Vec<(String, String)> = parsed
                    .query_pairs()
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                let length = bytes.as_ref().map_or(0, Vec::len);
                let content_type = if bytes.is_some() {
                    "application/json; odata=minimalmetadata"
                } else {
                    ""
                };
                let text = string_to_sign(
                    method.as_str(),
                    length,
                    content_type,
                    &date,
                    account,
                    parsed.path(),
                    &query,
                );
                req.header("ocp-date", date)
                    .header("Authorization", format!("SharedKey {account}:{}", hmac_b64(key, &text)))
            }
        };
        self.rt.block_on(async {
            let resp = req.send().await?;
            let status = resp.status().as_u16();
            let headers = resp.headers().clone();
            let text = resp.text().await?;
            Ok(Resp { status, headers, text })
        })
    }

    fn send_url(&self, method: &str, url: &str, body: Option<&Value>) -> Resp {
        self.try_send_url(method, url, body)
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"))
    }

    fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Resp {
        self.send_url(method, &self.url(path), body)
    }

    pub(crate) fn delete(&self, path: &str) -> Resp {
        self.send("DELETE", path, None)
    }

    pub(crate) fn get(&self, path: &str) -> Resp {
        self.send("GET", path, None)
    }

    pub(crate) fn post(&self, path: &str, body: &Value) -> Resp {
        self.send("POST", path, Some(body))
    }

    /// Polls `GET path` until `done` holds; the last body.
    pub(crate) fn wait_for(&self, path: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let r = self.get(path);
            assert_eq!(r.status, 200, "GET {path}: {}", r.text);
            let v = r.json();
            if done(&v) {
                return v;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}: {v}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Every item of a list, following `odata.nextLink`; also the number of pages.
    fn list_all(&self, path: &str) -> (Vec<Value>, usize) {
        let mut items = Vec::new();
        let mut url = self.url(path);
        let mut pages = 0;
        loop {
            let r = self.send_url("GET", &url, None);
            assert_eq!(r.status, 200, "GET {url}: {}", r.text);
            let v = r.json();
            pages += 1;
            items.extend(v["value"].as_array().cloned().unwrap_or_default());
            match v["odata.nextLink"].as_str() {
                Some(next) => url = next.to_string(),
                None => return (items, pages),
            }
        }
    }
}

/// Batch's SharedKey string-to-sign (batch-api-notes §9), written out for the tests.
fn string_to_sign(
    method: &str,
    length: usize,
    content_type: &str,
    date: &str,
    account: &str,
    path: &str,
    query: &[(String, String)],
) -> String {
    let length = if length == 0 { String::new() } else { length.to_string() };
    let mut q: Vec<(String, String)> = query.iter().map(|(k, v)| (k.to_lowercase(), v.clone())).collect();
    q.sort();
    let mut text = format!("{method}\n\n\n{length}\n\n{content_type}\n\n\n\n\n\n\nocp-date:{date}\n/{account}{path}");
    for (k, v) in q {
        text.push_str(&format!("\n{k}:{v}"));
    }
    text
}

fn hmac_b64(key: &[u8], text: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    mac.update(text.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

pub(crate) fn fast() -> Config {
    Config {
        allocation_delay: Duration::from_millis(20),
        task_duration: Duration::from_millis(2),
        threads: 2,
        seed: 7,
        ..Config::default()
    }
}

pub(crate) fn pool_body(id: &str, dedicated: u32, slots: u32) -> Value {
    json!({
        "id": id,
        "vmSize": "Standard_D2s_v5",
        "virtualMachineConfiguration": {
            "imageReference": {"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": "latest"},
            "nodeAgentSKUId": "batch.node.ubuntu 24.04"
        },
        "targetDedicatedNodes": dedicated,
        "taskSlotsPerNode": slots
    })
}

fn task(id: &str, deps: &[&str]) -> Value {
    let mut t = json!({"id": id, "commandLine": "/bin/sh -c true"});
    if !deps.is_empty() {
        t["dependsOn"] = json!({"taskIds": deps});
    }
    t
}

/// Creates a pool and a job on it; waits for the pool's nodes to be idle.
pub(crate) fn pool_and_job(c: &Client, pool: &str, nodes: u32, slots: u32, job: &str, deps: bool) {
    assert_eq!(c.post("/pools", &pool_body(pool, nodes, slots)).status, 201);
    let r = c.post(
        "/jobs",
        &json!({"id": job, "poolInfo": {"poolId": pool}, "usesTaskDependencies": deps}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    c.wait_for(&format!("/pools/{pool}/nodes"), "idle nodes", |v| {
        v["value"]
            .as_array()
            .is_some_and(|n| n.len() == usize::try_from(nodes).unwrap_or(0) && n.iter().all(|n| n["state"] == "idle"))
    });
}

pub(crate) fn add(c: &Client, job: &str, tasks: &[Value]) -> Vec<Value> {
    let r = c.post(&format!("/jobs/{job}/addtaskcollection"), &json!({"value": tasks}));
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.json();
    assert_no_schema_problem("TaskAddCollectionResult", &v);
    v["value"].as_array().cloned().unwrap_or_default()
}

fn statuses(results: &[Value]) -> HashMap<String, String> {
    results
        .iter()
        .map(|r| {
            (
                r["taskId"].as_str().unwrap_or("").to_string(),
                r["status"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// A response body must be what the swagger says the operation returns (`odata.*` aside).
/// Replies have the same shape in 2025-06-01 (the SDK 15.1.0 response models have the same
/// wire names); only the swagger describes them as a schema.
pub(crate) fn assert_no_schema_problem(definition: &str, v: &Value) {
    let mut v = v.clone();
    if let Value::Object(m) = &mut v {
        m.remove("odata.metadata");
    }
    let errors = Version::V2024_02_01.schema_errors(definition, &v);
    assert!(
        errors.is_empty(),
        "a {definition} reply the swagger rejects: {errors:?}\n{v}"
    );
}

pub(crate) fn assert_clean(s: &Snapshot) {
    assert_eq!(s.schema_errors, Vec::<String>::new());
    assert_eq!(s.unexpected_requests, Vec::<String>::new());
    assert_eq!(s.requests_without_client_request_id, 0);
    assert_eq!(s.client_request_id_conflicts, Vec::<String>::new());
}

fn time(v: &Value) -> String {
    v.as_str().unwrap_or_else(|| panic!("a date-time: {v}")).to_string()
}

// ---------------------------------------------------------------------------------------------
// Pools and nodes
// ---------------------------------------------------------------------------------------------

#[test]
fn a_pool_is_created_resizes_then_is_steady_and_its_id_is_taken() {
    let fake = FakeBatch::start(Config {
        allocation_delay: Duration::from_millis(150),
        ..fast()
    });
    let c = Client::new(&fake);
    let r = c.post("/pools", &pool_body("cpu", 3, 2));
    assert_eq!(r.status, 201, "{}", r.text);
    assert!(r.text.is_empty());
    assert_eq!(
        r.header("DataServiceId"),
        Some(format!("{}/pools/cpu", fake.url()).as_str())
    );
    assert!(r.header("request-id").is_some_and(|id| id.len() == 36));

    let first = c.get("/pools/cpu").json();
    assert_eq!(first["allocationState"], "resizing", "{first}");
    assert_eq!(first["state"], "active");
    assert_no_schema_problem("CloudPool", &first);

    let steady = c.wait_for("/pools/cpu", "a steady pool", |v| v["allocationState"] == "steady");
    assert_eq!(steady["currentDedicatedNodes"], 3);
    assert_eq!(steady["targetDedicatedNodes"], 3);
    assert_eq!(steady["currentLowPriorityNodes"], 0);
    assert_eq!(steady["taskSlotsPerNode"], 2);
    assert_eq!(
        steady["virtualMachineConfiguration"]["nodeAgentSKUId"],
        "batch.node.ubuntu 24.04"
    );
    assert!(steady.get("resizeErrors").is_none());
    assert_no_schema_problem("CloudPool", &steady);

    let selected = c.get("/pools/cpu?$select=id,allocationState").json();
    let keys: BTreeSet<&str> = selected
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, BTreeSet::from(["id", "allocationState", "odata.metadata"]));

    // Ids are case-insensitive.
    let again = c.post("/pools", &pool_body("CPU", 1, 1));
    assert_eq!((again.status, again.code()), (409, "PoolExists".to_string()));
    let error = again.json();
    assert_eq!(error["message"]["lang"], "en-US");
    assert!(error["message"]["value"]
        .as_str()
        .is_some_and(|m| m.contains("RequestId:")));
    assert_no_schema_problem("BatchError", &error);

    let missing = c.get("/pools/gpu");
    assert_eq!((missing.status, missing.code()), (404, "PoolNotFound".to_string()));
    assert_eq!(c.send("HEAD", "/pools/cpu", None).status, 200);
    assert_eq!(c.send("HEAD", "/pools/gpu", None).status, 404);

    let deleted = c.send("DELETE", "/pools/cpu", None);
    assert_eq!(deleted.status, 202);
    assert_eq!(c.get("/pools/cpu").json()["state"], "deleting");
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.get("/pools/cpu").status != 404 {
        assert!(Instant::now() < deadline, "the pool is never gone");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_clean(&fake.snapshot());
}

/// The distinct node states a pool's nodes go through, in order of first sight, until `done`.
fn watch_nodes(c: &Client, pool: &str, done: impl Fn(&[Value]) -> bool) -> (Vec<String>, Vec<Value>) {
    let mut seen: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let v = c.get(&format!("/pools/{pool}/nodes")).json();
        let nodes = v["value"].as_array().cloned().unwrap_or_default();
        for n in &nodes {
            assert_no_schema_problem("ComputeNode", n);
            let s = n["state"].as_str().unwrap_or("").to_string();
            if !seen.contains(&s) {
                seen.push(s);
            }
        }
        if !nodes.is_empty() && done(&nodes) {
            return (seen, nodes);
        }
        assert!(Instant::now() < deadline, "nodes never settled: {seen:?}");
        std::thread::sleep(Duration::from_millis(3));
    }
}

#[test]
fn nodes_go_through_creating_starting_and_the_start_task() {
    let fake = FakeBatch::start(Config {
        allocation_delay: Duration::from_millis(400),
        ..fast()
    });
    let c = Client::new(&fake);

    // No start task: creating -> starting -> idle.
    assert_eq!(c.post("/pools", &pool_body("plain", 2, 1)).status, 201);
    let (seen, nodes) = watch_nodes(&c, "plain", |n| n.iter().all(|n| n["state"] == "idle"));
    assert_eq!(seen, ["creating", "starting", "idle"]);
    assert_eq!(nodes.len(), 2);
    assert!(nodes.iter().all(|n| n.get("startTaskInfo").is_none()));

    // A start task that must succeed: ... -> waitingforstarttask -> idle.
    let mut with_start = pool_body("started", 2, 1);
    with_start["startTask"] =
        json!({"commandLine": "/bin/sh -c 'mount /data'", "waitForSuccess": true, "maxTaskRetryCount": 1});
    assert_eq!(c.post("/pools", &with_start).status, 201);
    let (seen, nodes) = watch_nodes(&c, "started", |n| n.iter().all(|n| n["state"] == "idle"));
    assert_eq!(seen, ["creating", "starting", "waitingforstarttask", "idle"]);
    for n in &nodes {
        let info = &n["startTaskInfo"];
        assert_eq!(info["state"], "completed", "{n}");
        assert_eq!(info["exitCode"], 0);
        assert_eq!(info["result"], "success");
        assert_eq!(n["startTask"]["commandLine"], "/bin/sh -c 'mount /data'");
    }
    let node = nodes[0]["id"].as_str().expect("node id");
    let out = c.get(&format!("/pools/started/nodes/{node}/files/startup/stderr.txt"));
    assert_eq!((out.status, out.text.as_str()), (200, ""));

    // Failing start tasks: ... -> waitingforstarttask -> starttaskfailed.
    fake.set_faults(Faults {
        failing_start_task: true,
        ..Faults::default()
    });
    with_start["id"] = json!("broken");
    assert_eq!(c.post("/pools", &with_start).status, 201);
    let (seen, nodes) = watch_nodes(&c, "broken", |n| n.iter().all(|n| n["state"] == "starttaskfailed"));
    assert_eq!(seen, ["creating", "starting", "waitingforstarttask", "starttaskfailed"]);
    for n in &nodes {
        let info = &n["startTaskInfo"];
        assert_eq!(info["state"], "completed");
        assert_eq!(info["exitCode"], 1);
        assert_eq!(info["result"], "failure");
        assert_eq!(info["retryCount"], 1);
        assert_eq!(info["failureInfo"]["category"], "usererror");
        assert_eq!(info["failureInfo"]["code"], "FailureExitCode");
    }
    let node = nodes[0]["id"].as_str().expect("node id");
    let err = c.get(&format!("/pools/broken/nodes/{node}/files/startup/stderr.txt"));
    assert_eq!(err.status, 200);
    assert_eq!(err.text, "start task failed: disk not mounted\n");
    assert_eq!(err.header("Content-Type"), Some("application/octet-stream"));
    let filtered = c
        .get("/pools/broken/nodes?$filter=state%20eq%20'starttaskfailed'&$select=id,state")
        .json();
    assert_eq!(filtered["value"].as_array().map(Vec::len), Some(2));
    assert!(filtered["value"][0].get("startTaskInfo").is_none());
    let none = c.get("/pools/broken/nodes?$filter=state%20eq%20'idle'").json();
    assert_eq!(none["value"], json!([]));
    // The pool itself is steady: its nodes are there, just not usable.
    assert_eq!(c.get("/pools/broken").json()["allocationState"], "steady");
    assert_clean(&fake.snapshot());
}

#[test]
fn a_pool_short_of_its_target_reports_resize_errors_and_a_second_resize_fills_it() {
    let fake = FakeBatch::start(fast());
    fake.set_faults(Faults {
        pool_short_by: 2,
        ..Faults::default()
    });
    let c = Client::new(&fake);
    assert_eq!(c.post("/pools", &pool_body("cpu", 5, 1)).status, 201);
    let short = c.wait_for("/pools/cpu", "a steady pool", |v| v["allocationState"] == "steady");
    assert_eq!(short["currentDedicatedNodes"], 3, "{short}");
    assert_eq!(short["targetDedicatedNodes"], 5);
    assert_eq!(short["resizeErrors"][0]["code"], "AllocationFailed", "{short}");
    assert_no_schema_problem("CloudPool", &short);

    let r = c.post("/pools/cpu/resize", &json!({"targetDedicatedNodes": 5}));
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(c.get("/pools/cpu").json()["allocationState"], "resizing");
    let again = c.post("/pools/cpu/resize", &json!({"targetDedicatedNodes": 5}));
    assert_eq!((again.status, again.code()), (409, "PoolBeingResized".to_string()));
    let full = c.wait_for("/pools/cpu", "a steady pool", |v| v["allocationState"] == "steady");
    assert_eq!(full["currentDedicatedNodes"], 5, "{full}");
    assert!(full.get("resizeErrors").is_none(), "{full}");
    let s = fake.snapshot();
    assert_eq!(s.error_replies.len(), 1, "{:?}", s.error_replies);
    assert_clean(&s);
}

// ---------------------------------------------------------------------------------------------
// Jobs and tasks
// ---------------------------------------------------------------------------------------------

#[test]
fn tasks_run_in_dependency_order_and_the_job_completes() {
    let fake = FakeBatch::start(Config {
        task_duration: Duration::from_millis(10),
        ..fast()
    });
    let c = Client::new(&fake);
    pool_and_job(&c, "cpu", 2, 2, "deps", true);

    // "report" waits for a task that comes in a later collection.
    let first = add(
        &c,
        "deps",
        &[
            task("prepare", &[]),
            task("train", &["prepare"]),
            task("report", &["train", "summary"]),
            task("1", &[]),
            task("2", &["prepare"]),
            task("3", &[]),
        ],
    );
    assert!(statuses(&first).values().all(|s| s == "success"), "{first:?}");
    let mut ranged = task("summary", &[]);
    ranged["dependsOn"] = json!({"taskIdRanges": [{"start": 1, "end": 3}], "taskIds": ["train"]});
    assert!(statuses(&add(&c, "deps", &[ranged])).values().all(|s| s == "success"));

    let r = c.send(
        "PATCH",
        "/jobs/deps",
        Some(&json!({"onAllTasksComplete": "terminatejob"})),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let job = c.wait_for("/jobs/deps", "a completed job", |v| v["state"] == "completed");
    assert_eq!(job["executionInfo"]["terminateReason"], "AllTasksComplete");
    assert_eq!(job["onAllTasksComplete"], "terminatejob");
    assert_no_schema_problem("CloudJob", &job);

    let (tasks, _) = c.list_all("/jobs/deps/tasks");
    let by_id: HashMap<String, Value> = tasks
        .iter()
        .map(|t| (t["id"].as_str().unwrap_or("").to_string(), t.clone()))
        .collect();
    assert_eq!(by_id.len(), 7);
    for t in &tasks {
        assert_no_schema_problem("CloudTask", t);
        assert_eq!(t["state"], "completed");
        assert_eq!(t["executionInfo"]["exitCode"], 0);
        assert_eq!(t["executionInfo"]["result"], "success");
        assert!(t["nodeInfo"]["nodeId"].is_string());
    }
    let deps = [
        ("train", vec!["prepare"]),
        ("2", vec!["prepare"]),
        ("summary", vec!["1", "2", "3", "train"]),
        ("report", vec!["train", "summary"]),
    ];
    for (id, before) in deps {
        let start = time(&by_id[id]["executionInfo"]["startTime"]);
        for b in before {
            let end = time(&by_id[b]["executionInfo"]["endTime"]);
            assert!(end <= start, "{id} started at {start}, before {b} ended at {end}");
        }
    }
    let counts = c.get("/jobs/deps/taskcounts").json();
    assert_no_schema_problem("TaskCountsResult", &counts);
    assert_eq!(
        counts["taskCounts"],
        json!({"active": 0, "running": 0, "completed": 7, "succeeded": 7, "failed": 0})
    );
    let s = fake.snapshot();
    assert_eq!(s.tasks["deps"]["summary"].depends_on, ["train", "1", "2", "3"]);
    assert!(s.tasks["deps"]
        .values()
        .all(|t| t.created == 1 && t.state == "completed"));
    assert_clean(&s);
}

#[test]
fn a_task_added_twice_is_a_client_error_and_is_created_once() {
    let fake = FakeBatch::start(fast());
    let c = Client::new(&fake);
    pool_and_job(&c, "cpu", 1, 1, "j", false);
    assert_eq!(
        statuses(&add(&c, "j", &[task("a", &[]), task("b", &[])]))["a"],
        "success"
    );
    let again = add(&c, "j", &[task("A", &[]), task("c", &[])]);
    let st = statuses(&again);
    assert_eq!((st["A"].as_str(), st["c"].as_str()), ("clienterror", "success"));
    let exists = again.iter().find(|r| r["taskId"] == "A").expect("A");
    assert_eq!(exists["error"]["code"], "TaskExists");

    // dependsOn on a job without usesTaskDependencies.
    let dep = add(&c, "j", &[task("d", &["a"])]);
    assert_eq!(dep[0]["status"], "clienterror");
    assert_eq!(dep[0]["error"]["code"], "TaskDependenciesNotSpecifiedOnJob");

    let s = fake.snapshot();
    let a = &s.tasks["j"]["a"];
    assert_eq!((a.created, a.add_attempts), (1, 2));
    assert_eq!(a.body, task("a", &[]), "the body of the first add");
    assert_eq!(s.tasks["j"]["d"].created, 0);
    assert_clean(&s);
}

#[test]
fn collections_over_100_tasks_or_1_mb_are_refused() {
    let fake = FakeBatch::start(fast());
    let c = Client::new(&fake);
    pool_and_job(&c, "cpu", 1, 1, "j", false);
    let many: Vec<Value> = (0..101).map(|i| task(&format!("t{i}"), &[])).collect();
    let r = c.post("/jobs/j/addtaskcollection", &json!({"value": many}));
    assert_eq!(
        (r.status, r.code()),
        (400, "InvalidPropertyValue".to_string()),
        "{}",
        r.text
    );

    let big: Vec<Value> = (0..10)
        .map(|i| json!({"id": format!("big{i}"), "commandLine": "x".repeat(100_000)}))
        .collect();
    let r = c.post("/jobs/j/addtaskcollection", &json!({"value": big}));
    assert_eq!(
        (r.status, r.code()),
        (413, "RequestBodyTooLarge".to_string()),
        "{}",
        r.text
    );

    let missing = c.post("/jobs/nope/addtaskcollection", &json!({"value": [task("a", &[])]}));
    assert_eq!((missing.status, missing.code()), (404, "JobNotFound".to_string()));

    let s = fake.snapshot();
    assert!(s.tasks["j"].is_empty());
    assert_eq!(s.schema_errors.len(), 1, "the 101 tasks: {:?}", s.schema_errors);
}

#[test]
fn task_lists_page_with_next_links_filter_and_select() {
    let fake = FakeBatch::start(Config {
        task_duration: Duration::from_millis(1),
        ..fast()
    });
    fake.set_faults(Faults {
        failing_tasks: vec![("bad-".into(), 3)],
        ..Faults::default()
    });
    let c = Client::new(&fake);
    pool_and_job(&c, "cpu", 4, 8, "wide", false);
    for chunk in 0..25 {
        let tasks: Vec<Value> = (0..100)
            .map(|i| {
                let n = chunk * 100 + i;
                let id = if n % 100 == 7 {
                    format!("bad-{n}")
                } else {
                    format!("t-{n}")
                };
                let mut t = task(&id, &[]);
                if id.starts_with("bad-") {
                    t["constraints"] = json!({"maxTaskRetryCount": 1});
                }
                t
            })
            .collect();
        assert!(statuses(&add(&c, "wide", &tasks)).values().all(|s| s == "success"));
    }
    let first = c.get("/jobs/wide/tasks").json();
    assert_eq!(first["value"].as_array().map(Vec::len), Some(1000));
    let next = first["odata.nextLink"].as_str().expect("a next link");
    assert!(
        next.starts_with(&format!("{}/jobs/wide/tasks?", fake.url())) && next.contains("$skiptoken="),
        "{next}"
    );
    assert!(next.contains(&format!("api-version={}", c.version)), "{next}");
    let (all, pages) = c.list_all("/jobs/wide/tasks");
    assert_eq!((all.len(), pages), (2500, 3));
    let ids: BTreeSet<&str> = all.iter().filter_map(|t| t["id"].as_str()).collect();
    assert_eq!(ids.len(), 2500);
    let (small, pages) = c.list_all("/jobs/wide/tasks?maxresults=700");
    assert_eq!((small.len(), pages), (2500, 4));
    let bad_max = c.get("/jobs/wide/tasks?maxresults=1001");
    assert_eq!(bad_max.status, 400);

    c.wait_for("/jobs/wide/taskcounts", "all tasks completed", |v| {
        v["taskCounts"]["completed"] == 2500
    });
    let counts = c.get("/jobs/wide/taskcounts").json();
    assert_eq!(counts["taskCounts"]["failed"], 25);
    assert_eq!(counts["taskCounts"]["succeeded"], 2475);

    let (failed, _) =
        c.list_all("/jobs/wide/tasks?$filter=executionInfo%2Fresult%20eq%20'failure'&$select=id,state,executionInfo");
    assert_eq!(failed.len(), 25);
    for t in &failed {
        assert!(t["id"].as_str().is_some_and(|id| id.starts_with("bad-")));
        let keys: BTreeSet<&str> = t.as_object().expect("object").keys().map(String::as_str).collect();
        assert_eq!(keys, BTreeSet::from(["id", "state", "executionInfo"]));
        assert_eq!(t["executionInfo"]["exitCode"], 3);
        assert_eq!(t["executionInfo"]["retryCount"], 1, "one retry, then failed: {t}");
        assert_eq!(t["executionInfo"]["failureInfo"]["code"], "FailureExitCode");
    }
    let (completed, _) = c.list_all("/jobs/wide/tasks?$filter=state%20eq%20'completed'&$select=id");
    assert_eq!(completed.len(), 2500);
    let (not_completed, _) = c.list_all("/jobs/wide/tasks?$filter=state%20ne%20'completed'");
    assert!(not_completed.is_empty());
    let unsupported = c.get("/jobs/wide/tasks?$filter=startswith(id,'t')");
    assert_eq!(
        (unsupported.status, unsupported.code()),
        (400, "InvalidQueryParameterValue".to_string())
    );

    let err = c.get("/jobs/wide/tasks/bad-7/files/stderr.txt");
    assert_eq!((err.status, err.text.as_str()), (200, "task failed with exit code 3\n"));
    let out = c.get("/jobs/wide/tasks/t-8/files/stdout.txt");
    assert_eq!((out.status, out.text.as_str()), (200, "output of t-8\n"));
    let one = c.get("/jobs/wide/tasks/t-8?$select=id,state").json();
    assert_eq!(one["state"], "completed");
    assert!(one.get("commandLine").is_none());

    // A failed task is reactivated, runs again, fails again (the fault is still on).
    let r = c.send("POST", "/jobs/wide/tasks/bad-7/reactivate", None);
    assert_eq!(r.status, 204, "{}", r.text);
    let ok = c.send("POST", "/jobs/wide/tasks/t-8/reactivate", None);
    assert_eq!(ok.status, 409, "a task that succeeded cannot be reactivated");
    let t = c.wait_for("/jobs/wide/tasks/bad-7", "the task to fail again", |v| {
        v["state"] == "completed"
    });
    assert_eq!(t["executionInfo"]["retryCount"], 1);
    assert_eq!(t["previousState"], "running");
    assert_no_schema_problem("CloudTask", &t);

    let s = fake.snapshot();
    assert_eq!(s.tasks["wide"]["bad-7"].exit_code, Some(3));
    assert_eq!(s.unexpected_requests, Vec::<String>::new());
}

#[test]
fn terminating_a_job_ends_running_tasks_and_leaves_active_ones() {
    let fake = FakeBatch::start(Config {
        task_duration: Duration::from_secs(30),
        ..fast()
    });
    let c = Client::new(&fake);
    pool_and_job(&c, "cpu", 1, 2, "j", false);
    let tasks: Vec<Value> = (0..5).map(|i| task(&format!("t{i}"), &[])).collect();
    add(&c, "j", &tasks);
    c.wait_for("/jobs/j/taskcounts", "two running tasks", |v| {
        v["taskCounts"]["running"] == 2
    });
    let r = c.send("POST", "/jobs/j/terminate", None);
    assert_eq!(r.status, 202, "{}", r.text);
    let job = c.get("/jobs/j").json();
    assert_eq!(job["state"], "completed");
    assert_eq!(job["executionInfo"]["terminateReason"], "UserTerminate");
    let counts = c.get("/jobs/j/taskcounts").json();
    assert_eq!(
        counts["taskCounts"],
        json!({"active": 3, "running": 0, "completed": 2, "succeeded": 0, "failed": 2})
    );
    let late = add_status(&c, "j", &[task("late", &[])]);
    assert_eq!(late, (409, "JobCompleted".to_string()));
    let again = c.send("POST", "/jobs/j/terminate", None);
    assert_eq!((again.status, again.code()), (409, "JobCompleted".to_string()));

    let r = c.post("/jobs", &json!({"id": "j2", "poolInfo": {"poolId": "cpu"}}));
    assert_eq!(r.status, 201);
    let r = c.post("/jobs/j2/terminate", &json!({"terminateReason": "Cancelled"}));
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(
        c.get("/jobs/j2").json()["executionInfo"]["terminateReason"],
        "Cancelled"
    );
    assert_eq!(c.send("DELETE", "/jobs/j2", None).status, 202);
    assert_eq!(c.get("/jobs/j2").json()["state"], "deleting");
    let exists = c.post("/jobs", &json!({"id": "J2", "poolInfo": {"poolId": "cpu"}}));
    assert_eq!((exists.status, exists.code()), (409, "JobBeingDeleted".to_string()));
    let deadline = Instant::now() + Duration::from_secs(10);
    while c.get("/jobs/j2").status != 404 {
        assert!(Instant::now() < deadline, "the job is never gone");
        std::thread::sleep(Duration::from_millis(5));
    }
    // A job with onAllTasksComplete=terminatejob and no task completes at once.
    let r = c.post(
        "/jobs",
        &json!({"id": "empty", "poolInfo": {"poolId": "cpu"}, "onAllTasksComplete": "terminatejob"}),
    );
    assert_eq!(r.status, 201);
    assert_eq!(c.get("/jobs/empty").json()["state"], "completed");
    let back = c.send("PATCH", "/jobs/j", Some(&json!({"onAllTasksComplete": "noaction"})));
    assert_eq!(back.status, 409, "{}", back.text);
    assert_clean(&fake.snapshot());
}

fn add_status(c: &Client, job: &str, tasks: &[Value]) -> (u16, String) {
    let r = c.post(&format!("/jobs/{job}/addtaskcollection"), &json!({"value": tasks}));
    (r.status, r.code())
}

// ---------------------------------------------------------------------------------------------
// Checks of the requests
// ---------------------------------------------------------------------------------------------

#[test]
fn bodies_the_schema_rejects_are_400_and_recorded() {
    let fake = FakeBatch::start(fast());
    let c = Client::new(&fake);
    let mut body = pool_body("cpu", 1, 1);
    let vm = body["virtualMachineConfiguration"].as_object_mut().expect("object");
    let sku = vm.remove("nodeAgentSKUId").expect("sku");
    vm.insert("nodeAgentSkuId".into(), sku);
    let r = c.post("/pools", &body);
    assert_eq!(
        (r.status, r.code()),
        (400, "InvalidRequestBody".to_string()),
        "{}",
        r.text
    );
    assert!(r.text.contains("nodeAgentSkuId"), "{}", r.text);
    let r = c.send("POST", "/jobs", None);
    assert_eq!(r.status, 400);
    let r = c.post(
        "/jobs",
        &json!({"id": "j", "poolInfo": {"poolId": "cpu"}, "onAllTasksComplete": "terminateJob"}),
    );
    assert_eq!(r.status, 400);
    let s = fake.snapshot();
    assert_eq!(s.schema_errors.len(), 3, "{:?}", s.schema_errors);
    assert!(s.schema_errors[0].starts_with("POST /pools"), "{:?}", s.schema_errors);
    assert!(s.schema_errors[0].contains("nodeAgentSkuId"), "{:?}", s.schema_errors);
    assert!(s.pools.is_empty() && s.jobs.is_empty());

    // Requests the fake does not know, and ones without an api-version or with unknown parameters.
    let r = c.get("/certificates");
    assert_eq!((r.status, r.code()), (404, "ResourceNotFound".to_string()));
    let r = c.send_url("GET", &format!("{}/jobs/j", fake.url()), None);
    assert_eq!((r.status, r.code()), (400, "MissingRequiredQueryParameter".to_string()));
    let r = c.get("/jobs/j?maxResults=10");
    assert_eq!((r.status, r.code()), (400, "UnsupportedQueryParameter".to_string()));
    let s = fake.snapshot();
    assert_eq!(
        s.unexpected_requests,
        [format!("GET /certificates?api-version={}", c.version)]
    );
}

/// Each request is checked against the schema of the api-version it names; an api-version
/// the fake has no schema for is refused as Batch documents it.
#[test]
fn bodies_are_checked_against_the_requests_api_version_and_other_versions_are_refused() {
    let fake = FakeBatch::start(fast());
    let mut c = Client::new(&fake);
    // `targetNodeCommunicationMode` is a field of 2024-02-01.19.0 that 2025-06-01 dropped.
    let mut old_field = pool_body("old", 1, 1);
    old_field["targetNodeCommunicationMode"] = json!("simplified");
    let r = c.post("/pools", &old_field);
    assert_eq!(
        (r.status, r.code()),
        (400, "InvalidRequestBody".to_string()),
        "{}",
        r.text
    );
    assert!(r.text.contains("targetNodeCommunicationMode"), "{}", r.text);
    assert!(r.text.contains("BatchPoolCreateOptions"), "{}", r.text);
    c.version = Version::V2024_02_01.name();
    assert_eq!(c.post("/pools", &old_field).status, 201);
    let s = fake.snapshot();
    assert_eq!(s.schema_errors.len(), 1, "{:?}", s.schema_errors);
    assert!(
        s.schema_errors[0].contains("api-version=2025-06-01"),
        "{:?}",
        s.schema_errors
    );
    // The same job and its end, in either version.
    for (version, job) in [(Version::V2025_06_01, "new-j"), (Version::V2024_02_01, "old-j")] {
        c.version = version.name();
        assert_eq!(
            c.post("/jobs", &json!({"id": job, "poolInfo": {"poolId": "old"}}))
                .status,
            201
        );
        let end = c.send(
            "PATCH",
            &format!("/jobs/{job}"),
            Some(&json!({"onAllTasksComplete": "terminatejob"})),
        );
        assert_eq!(end.status, 200, "{version:?}: {}", end.text);
        assert_eq!(c.get(&format!("/jobs/{job}")).status, 200);
    }

    c.version = "2023-05-01.17.0";
    let r = c.get("/pools/old");
    assert_eq!(
        (r.status, r.code()),
        (400, "UnsupportedRequestVersion".to_string()),
        "{}",
        r.text
    );
    let error = r.json();
    assert_no_schema_problem("BatchError", &error);
    assert!(
        error["message"]["value"]
            .as_str()
            .is_some_and(|m| m.starts_with("The specified request version is not supported.\nRequestId:")),
        "{error}"
    );
    assert_eq!(
        error["values"],
        json!([
            {"key": "QueryParameterName", "value": "api-version"},
            {"key": "QueryParameterValue", "value": "2023-05-01.17.0"}
        ])
    );
}

#[test]
fn client_request_ids_are_tracked_and_echoed() {
    let fake = FakeBatch::start(fast());
    let c = Client::new(&fake);
    let id = "9C4D50EE-2D56-4CD3-8152-34347DC9F2B0";
    let url = c.url("/jobs");
    let send = |body: &Value, echo: bool| {
        c.rt.block_on(async {
            let mut req = c
                .http
                .post(&url)
                .header("client-request-id", id)
                .header("Authorization", "Bearer t")
                .header("Content-Type", "application/json")
                .body(serde_json::to_vec(body).expect("JSON"));
            if echo {
                req = req.header("return-client-request-id", "true");
            }
            req.send().await.expect("a reply")
        })
    };
    let job = json!({"id": "j", "poolInfo": {"poolId": "cpu"}});
    let first = send(&job, true);
    assert_eq!(first.status().as_u16(), 201);
    assert_eq!(
        first.headers().get("client-request-id").and_then(|v| v.to_str().ok()),
        Some(id)
    );
    let retry = send(&job, false);
    assert_eq!(retry.status().as_u16(), 409);
    assert!(retry.headers().get("client-request-id").is_none());
    send(&json!({"id": "k", "poolInfo": {"poolId": "cpu"}}), false);
    c.rt.block_on(async {
        c.http
            .get(c.url("/jobs/j"))
            .header("Authorization", "Bearer t")
            .send()
            .await
            .expect("a reply")
    });
    let s = fake.snapshot();
    assert_eq!(s.requests, 4);
    assert_eq!(s.retried_requests, 1);
    assert_eq!(s.requests_without_client_request_id, 1);
    assert_eq!(
        s.client_request_id_conflicts.len(),
        1,
        "{:?}",
        s.client_request_id_conflicts
    );
    assert_eq!(
        s.client_request_ids
            .iter()
            .map(|(_, _, retry)| *retry)
            .collect::<Vec<_>>(),
        [false, true, false, false]
    );
}

#[test]
fn shared_key_signatures_are_checked() {
    let key = b"fake-batch-test-key-0123456789".to_vec();
    let fake = FakeBatch::start(Config {
        shared_key: Some(key.clone()),
        ..fast()
    });
    let mut c = Client::new(&fake);
    let bearer = c.get("/pools/cpu");
    assert_eq!(
        (bearer.status, bearer.code()),
        (403, "AuthenticationFailed".to_string())
    );

    c.key = Some((fake.account(), key));
    let r = c.post("/pools", &pool_body("cpu", 1, 1));
    assert_eq!(r.status, 201, "{}", r.text);
    let r = c.get("/pools/cpu?$select=id,state");
    assert_eq!(r.status, 200, "{}", r.text);
    let r = c.send("PATCH", "/jobs/none", None);
    assert_eq!(
        (r.status, r.code()),
        (400, "InvalidRequestBody".to_string()),
        "signed, then refused for its empty body"
    );

    c.key = Some((fake.account(), b"another key".to_vec()));
    let r = c.get("/pools/cpu");
    assert_eq!((r.status, r.code()), (403, "AuthenticationFailed".to_string()));
    assert!(r.text.contains("string to sign"), "{}", r.text);
    c.key = Some(("otheracct".into(), b"fake-batch-test-key-0123456789".to_vec()));
    assert_eq!(c.get("/pools/cpu").status, 403);

    // The signature of the example in batch-api-notes §9, computed by hand.
    let text = "POST\n\n\n123\n\napplication/json; odata=minimalmetadata\n\n\n\n\n\n\nocp-date:Fri, 17 Feb 2017 00:00:00 GMT\n/myacct/jobs/j1/addtaskcollection\napi-version:2024-02-01.19.0\ntimeout:30";
    assert_eq!(
        string_to_sign(
            "POST",
            123,
            "application/json; odata=minimalmetadata",
            "Fri, 17 Feb 2017 00:00:00 GMT",
            "myacct",
            "/jobs/j1/addtaskcollection",
            &[
                ("timeout".into(), "30".into()),
                ("api-version".into(), "2024-02-01.19.0".into())
            ],
        ),
        text
    );
}

// ---------------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------------

#[test]
fn throttling_answers_429_with_retry_after_and_applies_nothing() {
    let fake = FakeBatch::start(fast());
    fake.set_faults(Faults {
        throttle: 1.0,
        retry_after_secs: 1,
        ..Faults::default()
    });
    let c = Client::new(&fake);
    let r = c.post("/pools", &pool_body("cpu", 1, 1));
    assert_eq!((r.status, r.code()), (429, "ServerBusy".to_string()));
    assert_eq!(r.header("Retry-After"), Some("1"));
    fake.set_faults(Faults {
        server_error: 1.0,
        retry_after_secs: 0,
        ..Faults::default()
    });
    let a = c.post("/pools", &pool_body("cpu", 1, 1));
    let b = c.post("/pools", &pool_body("cpu", 1, 1));
    let mut got = vec![(a.status, a.code()), (b.status, b.code())];
    got.sort();
    assert_eq!(
        got,
        [(500, "InternalError".to_string()), (503, "ServerBusy".to_string())]
    );
    let busy = if a.status == 503 { &a } else { &b };
    assert_eq!(busy.header("Retry-After"), Some("0"));
    let s = fake.snapshot();
    assert!(s.pools.is_empty(), "nothing was applied");
    assert_eq!(s.faults_injected, 3);
    assert_eq!(s.fault_counts.get("throttle"), Some(&1));
    assert_eq!(s.fault_counts.get("server_error"), Some(&2));
    assert!(s.error_replies.is_empty(), "injected faults are not service errors");
}

#[test]
fn dropped_connections_close_the_socket_before_or_after_applying() {
    let fake = FakeBatch::start(Config { seed: 42, ..fast() });
    fake.set_faults(Faults {
        drop_connection: 1.0,
        ..Faults::default()
    });
    let c = Client::new(&fake);
    let mut dropped = 0;
    for i in 0..40 {
        let r = c.try_send_url("POST", &c.url("/pools"), Some(&pool_body(&format!("p{i}"), 1, 1)));
        if r.is_err() {
            dropped += 1;
        }
    }
    assert_eq!(dropped, 40, "every connection is closed without a reply");
    let s = fake.snapshot();
    let applied = s.pools.len();
    assert_eq!(Some(&(applied as u64)), s.fault_counts.get("drop_after_apply"));
    assert!(applied > 5 && applied < 35, "{applied} of 40 applied");

    // A raw socket sees the connection closed with nothing written.
    use std::io::{Read, Write};
    let addr = fake.url().trim_start_matches("http://").to_string();
    let mut socket = std::net::TcpStream::connect(&addr).expect("connect");
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("a read timeout");
    write!(
        socket,
        "GET /pools/p0?api-version={} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer t\r\n\r\n",
        Version::DEFAULT.name()
    )
    .expect("write");
    let mut reply = Vec::new();
    let n = socket.read_to_end(&mut reply).unwrap_or(0);
    assert_eq!(n, 0, "nothing written: {}", String::from_utf8_lossy(&reply));
}

#[test]
fn task_server_errors_fail_single_tasks_of_a_collection() {
    let fake = FakeBatch::start(fast());
    let c = Client::new(&fake);
    pool_and_job(&c, "cpu", 1, 4, "j", false);
    fake.set_faults(Faults {
        task_server_error: 1.0,
        ..Faults::default()
    });
    let tasks: Vec<Value> = (0..10).map(|i| task(&format!("t{i}"), &[])).collect();
    let results = add(&c, "j", &tasks);
    assert!(results.iter().all(|r| r["status"] == "servererror"), "{results:?}");
    assert_eq!(results[0]["error"]["code"], "InternalError");
    fake.set_faults(Faults {
        task_server_error: 0.5,
        ..Faults::default()
    });
    let mut pending: Vec<Value> = tasks.clone();
    let mut rounds = 0;
    while !pending.is_empty() {
        rounds += 1;
        assert!(rounds < 50, "retries never got all tasks in");
        let st = statuses(&add(&c, "j", &pending));
        pending.retain(|t| st[t["id"].as_str().unwrap_or("")] == "servererror");
    }
    let s = fake.snapshot();
    for t in s.tasks["j"].values() {
        assert_eq!(t.created, 1);
        assert!(t.add_attempts >= 2);
    }
    assert!(s.fault_counts["task_server_error"] >= 10);
    assert_clean(&s);
}

#[test]
fn results_of_a_collection_come_in_any_order() {
    let fake = FakeBatch::start(fast());
    let c = Client::new(&fake);
    pool_and_job(&c, "cpu", 1, 1, "j", false);
    let tasks: Vec<Value> = (0..100).map(|i| task(&format!("t{i}"), &[])).collect();
    let results = add(&c, "j", &tasks);
    let order: Vec<&str> = results.iter().filter_map(|r| r["taskId"].as_str()).collect();
    let sent: Vec<String> = (0..100).map(|i| format!("t{i}")).collect();
    assert_ne!(order, sent.iter().map(String::as_str).collect::<Vec<_>>(), "shuffled");
    assert_eq!(order.iter().copied().collect::<BTreeSet<_>>().len(), 100);
    let r = &results[0];
    assert!(r["location"]
        .as_str()
        .is_some_and(|l| l.starts_with(&format!("{}/jobs/j/tasks/", fake.url()))));
}

#[test]
fn slow_replies_and_latency_delay_the_answer() {
    let fake = FakeBatch::start(Config {
        latency: Duration::from_millis(30),
        ..fast()
    });
    let c = Client::new(&fake);
    let t = Instant::now();
    assert_eq!(c.get("/pools/x").status, 404);
    assert!(t.elapsed() >= Duration::from_millis(30));
    fake.set_faults(Faults {
        slow: 1.0,
        slow_delay: Duration::from_millis(150),
        ..Faults::default()
    });
    let t = Instant::now();
    assert_eq!(c.post("/pools", &pool_body("cpu", 1, 1)).status, 201);
    assert!(t.elapsed() >= Duration::from_millis(180));
    assert_eq!(fake.snapshot().fault_counts.get("slow"), Some(&1));
}

// ---------------------------------------------------------------------------------------------
// The planner's requests, and throughput
// ---------------------------------------------------------------------------------------------

/// Replays a plan (`batchflow plan --format json`) against the fake: its requests in order,
/// its waits by polling. `create-arm-pool` steps go to the fake ARM `arm` (the account's id in
/// place of `{batchAccount}`), whose pools are the fake Batch service's. The run's id and
/// suffix are filled in as a run does.
fn replay(c: &Client, plan: &Value, arm: (&Client, &str)) {
    let filled = plan
        .to_string()
        .replace("<run-suffix>", "261123-141502-3fa9c1")
        .replace("<run>", "replay-20261123-141502");
    let plan: Value = serde_json::from_str(&filled).expect("the plan, filled");
    for step in plan["steps"].as_array().expect("steps") {
        let path = step["path"].as_str().expect("path");
        if step["kind"] == "create-arm-pool" {
            let (arm, account) = arm;
            let r = arm.send("PUT", &path.replace("{batchAccount}", account), Some(&step["body"]));
            assert_eq!(r.status, 200, "PUT {path}: {}", r.text);
            continue;
        }
        match step["wait"].as_str() {
            Some("pool-ready") => {
                c.wait_for(path, "a steady pool", |v| v["allocationState"] == "steady");
            }
            Some("job-completed") => {
                c.wait_for(path, "a completed job", |v| v["state"] == "completed");
            }
            Some(other) => panic!("unknown wait {other}"),
            None => {
                let method = step["method"].as_str().expect("method");
                let r = c.send(method, path, Some(&step["body"]));
                assert!(
                    (200..300).contains(&r.status),
                    "{method} {path}: {} {}",
                    r.status,
                    r.text
                );
                if path.ends_with("/addtaskcollection") {
                    let v = r.json();
                    let failed: Vec<&Value> = v["value"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|r| r["status"] != "success")
                        .collect();
                    assert!(failed.is_empty(), "{failed:?}");
                }
            }
        }
    }
}

#[test]
fn the_plans_of_the_examples_run_on_the_fake() {
    let examples = crate::support::examples();
    assert!(examples.len() >= 5);
    for file in examples {
        let out = Test::project().args(["plan", "--format", "json", &file]).success();
        let plan: Value = serde_json::from_str(&out.stdout).expect("a JSON plan");
        let fake = FakeBatch::start(Config {
            task_duration: Duration::from_millis(1),
            ..fast()
        });
        let c = Client::new(&fake);
        let arm_config = crate::fake_arm::ArmConfig::for_batch(&fake);
        let account = arm_config.account_id();
        let arm = crate::fake_arm::FakeArm::start(arm_config, &fake);
        replay(&c, &plan, (&Client::at(&arm.url()), &account));
        assert!(
            arm.snapshot().refused.is_empty(),
            "{file}: {:?}",
            arm.snapshot().refused
        );
        let s = fake.snapshot();
        assert_clean(&s);
        assert_eq!(s.error_replies, Vec::new(), "{file}");
        for job in &s.jobs {
            assert_eq!(job["state"], "completed", "{file}: {job}");
        }
    }
}

/// Not a timed assertion: prints the rate. With `FAKE_BATCH_URL` set (say to a release build of
/// the `fake-batch` example), measures that service instead of one in this process.
#[test]
fn throughput_of_addtaskcollection() {
    const TASKS: usize = 20_000;
    const CONCURRENCY: usize = 16;
    let external = std::env::var("FAKE_BATCH_URL").ok().filter(|u| !u.is_empty());
    let fake = external.is_none().then(|| {
        FakeBatch::start(Config {
            task_duration: Duration::from_millis(1),
            threads: 0,
            ..fast()
        })
    });
    let c = match (&fake, &external) {
        (Some(fake), _) => Client::new(fake),
        (None, Some(url)) => Client::at(url),
        (None, None) => unreachable!("one of them is set"),
    };
    let run = format!("{}", uuid::Uuid::new_v4().simple());
    let (pool, job) = (format!("cpu{}", &run[..8]), format!("bench{}", &run[..8]));
    pool_and_job(&c, &pool, 10, 16, &job, false);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let bodies: Vec<Vec<u8>> = (0..TASKS / 100)
        .map(|k| {
            let tasks: Vec<Value> = (0..100)
                .map(|i| {
                    json!({
                        "id": format!("sweep-{}", k * 100 + i),
                        "commandLine": format!("/bin/sh -c 'python3 train.py --replicate {}'", k * 100 + i),
                        "constraints": {"maxWallClockTime": "PT1H", "maxTaskRetryCount": 2},
                        "requiredSlots": 1
                    })
                })
                .collect();
            serde_json::to_vec(&json!({"value": tasks})).expect("JSON")
        })
        .collect();
    let url = c.url(&format!("/jobs/{job}/addtaskcollection"));
    let queue = Arc::new(std::sync::Mutex::new(bodies));
    // A client of its own: pooled connections belong to the runtime that opened them.
    let http = reqwest::Client::builder()
        .tcp_nodelay(true)
        .build()
        .expect("an HTTP client");
    let started = Instant::now();
    let added: usize = rt.block_on(async {
        let mut workers = Vec::new();
        for _ in 0..CONCURRENCY {
            let (queue, http, url) = (queue.clone(), http.clone(), url.clone());
            workers.push(tokio::spawn(async move {
                let mut ok = 0;
                loop {
                    let Some(body) = queue.lock().unwrap_or_else(|e| e.into_inner()).pop() else {
                        return ok;
                    };
                    let r = http
                        .post(&url)
                        .header("client-request-id", uuid::Uuid::new_v4().to_string())
                        .header("Authorization", "Bearer t")
                        .header("Content-Type", "application/json; odata=minimalmetadata")
                        .body(body)
                        .send()
                        .await
                        .expect("a reply");
                    assert_eq!(r.status().as_u16(), 200);
                    let v: Value = serde_json::from_slice(&r.bytes().await.expect("a body")).expect("JSON");
                    ok += v["value"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|r| r["status"] == "success")
                        .count();
                }
            }));
        }
        let mut total = 0;
        for w in workers {
            total += w.await.expect("a worker");
        }
        total
    });
    let elapsed = started.elapsed();
    assert_eq!(added, TASKS);
    eprintln!(
        "fake Batch: {TASKS} tasks through addtaskcollection ({CONCURRENCY} concurrent requests of 100) in {:.3} s: {:.0} tasks/s",
        elapsed.as_secs_f64(),
        TASKS as f64 / elapsed.as_secs_f64()
    );
    let counts = c.wait_for(&format!("/jobs/{job}/taskcounts"), "all tasks completed", |v| {
        v["taskCounts"]["completed"] == TASKS
    });
    assert_eq!(counts["taskCounts"]["succeeded"], TASKS);
    if let Some(fake) = &fake {
        assert_clean(&fake.snapshot());
    }
}
