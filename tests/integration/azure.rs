//! `batchflow run --target azure` against the fake Batch service on 127.0.0.1: what the
//! service saw (every task exactly once, dependencies as planned, valid bodies), under faults,
//! across a kill and `--resume`, and `status` / `cancel`.

use crate::fake_arm::{FakeAccount, FakeArm};
use crate::fake_batch::{Config, FakeBatch, Faults, Snapshot};
pub(crate) use crate::support::show;
use crate::support::{examples, root, Output, Repo, Test};
use base64::Engine;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const KEY: &[u8] = b"batchflow-fake-account-key";
/// Longest any run here may take before the test gives up on it.
const DEADLINE: Duration = Duration::from_secs(240);

/// A temporary repository with the examples, and a fake account: the Batch service, and Azure
/// Resource Manager with the prices (the pre-flight reads them, and pools with identities are
/// created there).
pub(crate) struct Azure {
    repo: Repo,
    pub(crate) fake: FakeBatch,
    pub(crate) arm: FakeArm,
    shared_key: bool,
}

impl Azure {
    pub(crate) fn new(config: Config) -> Azure {
        Azure::with_account(config, &serde_json::json!({}))
    }

    /// As [`Azure::new`], the account configured by `overrides` (as an `account.json`).
    pub(crate) fn with_account(config: Config, overrides: &Value) -> Azure {
        let repo = Repo::new();
        // The examples and their data files (`examples/data/`), where the examples name them.
        for entry in walkdir::WalkDir::new(root().join("examples")).into_iter().flatten() {
            if entry.file_type().is_file() {
                let rel = entry.path().strip_prefix(root()).expect("under the project");
                let text = std::fs::read(entry.path()).expect("an example");
                repo.write(rel, text);
            }
        }
        let shared_key = config.shared_key.is_some();
        let FakeAccount { batch, arm } = FakeAccount::start_with(config, overrides);
        Azure {
            repo,
            fake: batch,
            arm,
            shared_key,
        }
    }

    /// Bearer tokens: every example compiles (custom images need Entra, BF112).
    pub(crate) fn entra() -> Azure {
        Azure::new(Config::default())
    }

    fn shared_key() -> Azure {
        Azure::new(Config {
            shared_key: Some(KEY.to_vec()),
            ..Config::default()
        })
    }

    /// The temporary repository the runs run in.
    pub(crate) fn path(&self) -> &std::path::Path {
        self.repo.path()
    }

    pub(crate) fn write(&self, name: &str, text: &str) -> String {
        self.repo.write(name, text);
        name.to_string()
    }

    pub(crate) fn bf(&self) -> Test {
        let bf = self
            .repo
            .test()
            .env("AZURE_BATCH_ENDPOINT", self.fake.url())
            .env("AZURE_BATCH_ACCOUNT", self.fake.account())
            .env("BATCHFLOW_ARM_ENDPOINT", self.arm.url())
            .env("BATCHFLOW_PRICES_ENDPOINT", self.arm.url())
            .env("BATCHFLOW_POLL_MS", "20");
        let bf = secret_names()
            .iter()
            .fold(bf, |bf, name| bf.env(name, format!("value-of-{name}")));
        if self.shared_key {
            bf.env(
                "AZURE_BATCH_ACCESS_KEY",
                base64::engine::general_purpose::STANDARD.encode(KEY),
            )
        } else {
            bf.env("BATCHFLOW_ACCESS_TOKEN", "a-test-token")
        }
    }

    /// Points `file`'s storage at Azurite: a container of the test's own (`batchflow.toml`),
    /// and the account of its `storage { account = "..." }` block, if any, replaced by the
    /// emulator's (a named account would be reached over the internet). Returns the
    /// connection string the run needs in `AZURE_STORAGE_CONNECTION_STRING`.
    pub(crate) fn emulated_storage(&self, file: &str) -> String {
        let text = std::fs::read_to_string(self.path().join(file)).expect("the workflow");
        let named = text
            .split("storage { account = \"")
            .nth(1)
            .and_then(|rest| rest.split('"').next());
        if let Some(account) = named {
            let block = format!("storage {{ account = \"{account}\"");
            let emulated = format!("storage {{ account = \"{}\"", crate::azurite::ACCOUNT);
            self.write(file, &text.replace(&block, &emulated));
        }
        let container = crate::blob_sas::unique_container("examples");
        self.write("batchflow.toml", &format!("[storage]\ncontainer = \"{container}\"\n"));
        crate::azurite::Azurite::shared().connection_string()
    }

    /// `run --target azure ARGS FILE` with Azurite as the workflow's storage
    /// ([`Azure::emulated_storage`]): for workflows that move files.
    pub(crate) fn run_stored(&self, args: &[&str], file: &str) -> Output {
        let storage = self.emulated_storage(file);
        self.bf()
            .env("AZURE_STORAGE_CONNECTION_STRING", storage)
            .args(["run", "--target", "azure"])
            .args(args)
            .arg(file)
            .run()
    }

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        let mut all = vec!["run", "--target", "azure"];
        all.extend_from_slice(args);
        self.bf().args(all).run()
    }

    /// `(job, task) -> dependencies` as the plan has them.
    pub(crate) fn planned(&self, file: &str, params: &[&str]) -> BTreeMap<(String, String), Vec<String>> {
        let mut args = vec!["plan", "--format", "json", file];
        args.extend_from_slice(params);
        let out = self.bf().args(args).run();
        assert_eq!(out.code, 0, "{}", out.stderr);
        let plan: Value = serde_json::from_str(&out.stdout).expect("plan JSON");
        let mut tasks = BTreeMap::new();
        for step in plan["steps"].as_array().expect("steps") {
            if step["kind"] != "add-tasks" {
                continue;
            }
            let job = step["job"].as_str().expect("the workflow's job");
            for t in step["body"]["value"].as_array().expect("a collection") {
                let mut deps: Vec<String> = t["dependsOn"]["taskIds"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|d| d.as_str().map(str::to_string)).collect())
                    .unwrap_or_default();
                deps.sort();
                tasks.insert((job.to_string(), t["id"].as_str().unwrap_or("").to_string()), deps);
            }
        }
        tasks
    }

    pub(crate) fn run_dir(&self) -> PathBuf {
        let runs = self.repo.path().join(".batchflow/runs");
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(&runs)
            .map(|rd| rd.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        dirs.sort();
        dirs.pop().expect("a run folder")
    }

    pub(crate) fn spawn(&self, args: &[&str]) -> Child {
        self.spawn_logged(args, "spawned.log")
    }

    /// As [`Azure::spawn`], its stderr in `log` (in the repository).
    pub(crate) fn spawn_logged(&self, args: &[&str], log: &str) -> Child {
        let mut all = vec!["run", "--target", "azure"];
        all.extend_from_slice(args);
        let log = std::fs::File::create(self.repo.path().join(log)).expect("a log file");
        self.bf()
            .args(all)
            .command()
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("batchflow starts")
    }

    /// Waits until the service's snapshot satisfies `what`.
    pub(crate) fn wait_for(&self, label: &str, what: impl Fn(&Snapshot) -> bool) -> Snapshot {
        let started = Instant::now();
        loop {
            let snap = self.fake.snapshot();
            if what(&snap) {
                return snap;
            }
            assert!(started.elapsed() < DEADLINE, "gave up waiting for {label}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Every `secret("NAME")` of the examples.
fn secret_names() -> Vec<String> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(root().join("examples")).expect("examples/").flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        for part in text.split("secret(").skip(1) {
            let name: String = part
                .trim_start_matches(['\\', '"'])
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

/// The workflow's job a Batch job stands for (its `batchflow-job` metadata), else its id.
pub(crate) fn workflow_job(job: &Value) -> &str {
    job["metadata"]
        .as_array()
        .and_then(|m| m.iter().find(|i| i["name"] == "batchflow-job"))
        .and_then(|i| i["value"].as_str())
        .or_else(|| job["id"].as_str())
        .unwrap_or("")
}

/// The workflow's job name of each Batch job id the service saw.
pub(crate) fn workflow_jobs(snap: &Snapshot) -> BTreeMap<String, String> {
    snap.jobs
        .iter()
        .map(|j| (j["id"].as_str().unwrap_or("").to_string(), workflow_job(j).to_string()))
        .collect()
}

/// The Batch ids of the workflow's job `job`, in the order the service saw them created.
pub(crate) fn batch_ids(snap: &Snapshot, job: &str) -> Vec<String> {
    snap.jobs
        .iter()
        .filter(|j| workflow_job(j) == job)
        .filter_map(|j| j["id"].as_str().map(str::to_string))
        .collect()
}

/// Every planned task was created exactly once, with the planned dependencies, and nothing else
/// (the service's jobs read as the workflow's by their metadata: one run's); every body was
/// valid; every request had a `client-request-id`, never reused for another.
pub(crate) fn assert_exactly_once(snap: &Snapshot, planned: &BTreeMap<(String, String), Vec<String>>) {
    assert!(snap.schema_errors.is_empty(), "{:#?}", snap.schema_errors);
    assert!(snap.unexpected_requests.is_empty(), "{:#?}", snap.unexpected_requests);
    assert_eq!(snap.requests_without_client_request_id, 0);
    assert!(
        snap.client_request_id_conflicts.is_empty(),
        "{:#?}",
        snap.client_request_id_conflicts
    );
    let names = workflow_jobs(snap);
    let mut seen = 0;
    for (batch_id, tasks) in &snap.tasks {
        let job = names.get(batch_id).unwrap_or(batch_id);
        for (id, t) in tasks {
            seen += 1;
            let key = (job.clone(), id.clone());
            let Some(deps) = planned.get(&key) else {
                panic!("the service got task `{id}` of `{job}`, which is not in the plan");
            };
            assert_eq!(t.created, 1, "`{job}/{id}` was created {} times", t.created);
            let mut got = t.depends_on.clone();
            got.sort();
            assert_eq!(&got, deps, "dependencies of `{job}/{id}`");
        }
    }
    assert_eq!(seen, planned.len(), "tasks the service saw vs tasks planned");
}

/// The api-versions of the requests the service saw.
pub(crate) fn api_versions(snap: &Snapshot) -> BTreeSet<String> {
    snap.client_request_ids
        .iter()
        .map(|(what, _, _)| {
            what.split(['?', '&'])
                .find_map(|p| p.strip_prefix("api-version="))
                .unwrap_or("none")
                .to_string()
        })
        .collect()
}

pub(crate) fn pool_states(snap: &Snapshot) -> Vec<(String, String)> {
    snap.pools
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap_or("").to_string(),
                p["state"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// The state of the workflow's job `job` on the service (the latest run's).
pub(crate) fn job_state(snap: &Snapshot, job: &str) -> String {
    snap.jobs
        .iter()
        .rev()
        .find(|j| workflow_job(j) == job)
        .and_then(|j| j["state"].as_str())
        .unwrap_or("absent")
        .to_string()
}

#[test]
fn every_example_runs_end_to_end_on_the_fake_service() {
    let examples = examples();
    let handles: Vec<_> = examples
        .into_iter()
        .map(|file| {
            std::thread::spawn(move || {
                let az = Azure::entra();
                let planned = az.planned(&file, &[]);
                let out = az.run_stored(&[], &file);
                assert_eq!(out.code, 0, "{file}: {}", show(&out));
                // The first lines price the run from the fake prices; the summary the hours used.
                assert!(out.stderr.contains("cost: "), "{file}: {}", out.stderr);
                for line in out.stderr.lines().filter(|l| l.starts_with("  pool `")) {
                    assert!(!line.contains("× ?"), "{file}: a pool without a price: {line}");
                }
                assert!(out.stderr.contains("node-hours: "), "{file}: {}", out.stderr);
                let arm = az.arm.snapshot();
                assert!(arm.refused.is_empty(), "{file}: {:?}", arm.refused);
                assert!(arm.if_none_match.iter().all(|b| *b), "{file}");
                let snap = az.fake.snapshot();
                assert_exactly_once(&snap, &planned);
                assert_eq!(
                    api_versions(&snap),
                    BTreeSet::from(["2025-06-01".to_string()]),
                    "{file}"
                );
                for (job, _) in planned.keys() {
                    assert_eq!(job_state(&snap, job), "completed", "{file}: job `{job}`");
                }
                // The run's pools are deleted at the end (no --keep-pools).
                for (pool, state) in pool_states(&snap) {
                    assert!(
                        matches!(state.as_str(), "deleting" | "deleted"),
                        "{file}: pool `{pool}` is {state}"
                    );
                }
                // Secrets reach the service, and never the run folder.
                let plan_json = std::fs::read_to_string(az.run_dir().join("plan.json")).expect("plan.json");
                assert!(!plan_json.contains("value-of-"), "{file}: a secret in plan.json");
                let state: Value = serde_json::from_str(
                    &std::fs::read_to_string(az.run_dir().join("state.json")).expect("state.json"),
                )
                .expect("state JSON");
                assert_eq!(state["status"], "succeeded", "{file}");
                let tasks = state["tasks"].as_array().expect("tasks");
                assert_eq!(tasks.len(), planned.len(), "{file}");
                assert!(tasks.iter().all(|t| t["state"] == "succeeded"), "{file}: {tasks:?}");
            })
        })
        .collect();
    for h in handles {
        if let Err(panic) = h.join() {
            std::panic::resume_unwind(panic);
        }
    }
}

#[test]
fn secrets_are_sent_filled_in() {
    let az = Azure::entra();
    let out = az.run_stored(&[], "examples/private-acr-password.batchflow");
    assert_eq!(out.code, 0, "{}", show(&out));
    let snap = az.fake.snapshot();
    let sent = serde_json::to_string(&snap.pools).unwrap_or_default();
    assert!(sent.contains("value-of-ACR_PASSWORD"), "{sent}");
    assert!(!sent.contains("<secret:"), "{sent}");
}

#[test]
fn shared_key_runs_sign_every_request_and_reuse_the_request_id_on_retries() {
    let az = Azure::shared_key();
    az.fake.set_faults(Faults {
        server_error: 0.3,
        retry_after_secs: 0,
        ..Faults::default()
    });
    let planned = az.planned("examples/hello.batchflow", &[]);
    let out = az.run(&["examples/hello.batchflow", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", show(&out));
    let snap = az.fake.snapshot();
    assert_exactly_once(&snap, &planned);
    // The summary as JSON: every planned task, succeeded, on this target.
    let summary: Value = serde_json::from_str(&out.stdout).expect("stdout is one JSON object");
    assert_eq!(summary["status"], "succeeded", "{summary}");
    assert_eq!(summary["target"].as_str(), Some(az.fake.url().as_str()));
    let tasks = summary["tasks"].as_array().expect("tasks");
    assert_eq!(tasks.len(), planned.len());
    assert!(
        tasks
            .iter()
            .all(|t| t["state"] == "succeeded" && t["duration_ms"].is_u64()),
        "{summary}"
    );
    assert!(
        snap.fault_counts.get("server_error").copied().unwrap_or(0) > 0,
        "{:?}",
        snap.fault_counts
    );
    // Every fault was retried with the same client-request-id.
    assert!(
        snap.retried_requests >= snap.fault_counts["server_error"],
        "{} retried",
        snap.retried_requests
    );
    assert!(
        snap.error_replies.iter().all(|(_, status, _)| *status != 403),
        "{:?}",
        snap.error_replies
    );
}

#[test]
fn a_wrong_key_is_refused_with_the_services_message() {
    let az = Azure::shared_key();
    let out = az
        .bf()
        .env(
            "AZURE_BATCH_ACCESS_KEY",
            base64::engine::general_purpose::STANDARD.encode(b"another key"),
        )
        .args(["run", "--target", "azure", "--quiet", "examples/hello.batchflow"])
        .run();
    assert_eq!(out.code, 1, "{}", show(&out));
    assert!(out.stderr.contains("cannot create pool `cpu`"), "{}", out.stderr);
    assert!(out.stderr.contains("403"), "{}", out.stderr);
}

const MANY: &str = r#"
workflow "many"

param n: int = 2000

pool cpu {
  vm_size    = "Standard_D2s_v5"
  image      = marketplace("Canonical", "ubuntu-24_04-lts", "server")
  node_agent = "batch.node.ubuntu 24.04"
  dedicated  = 4
}

job many on cpu {
  task prep {
    command = "/bin/true"
  }
  task work[i in 0..n] after prep {
    command = "/bin/sh -c 'echo ${i}'"
  }
  task last after work {
    command = "/bin/true"
  }
}
"#;

#[test]
fn under_20_percent_faults_every_task_is_created_exactly_once() {
    let az = Azure::shared_key();
    let file = az.write("many.batchflow", MANY);
    // 6,000 tasks: enough requests (~10 of each kind of fault expected) that every kind comes
    // up; with 2,000 a kind at 2.5% sometimes never did.
    let planned = az.planned(&file, &["--param", "n=6000"]);
    az.fake.set_faults(Faults {
        throttle: 0.05,
        retry_after_secs: 0,
        server_error: 0.05,
        drop_connection: 0.05,
        slow: 0.05,
        slow_delay: Duration::from_millis(50),
        task_server_error: 0.05,
        ..Faults::default()
    });
    let out = az.run(&[&file, "--param", "n=6000"]);
    assert_eq!(out.code, 0, "{}", show(&out));
    let snap = az.fake.snapshot();
    assert_exactly_once(&snap, &planned);
    for kind in [
        "throttle",
        "server_error",
        "drop_before_apply",
        "drop_after_apply",
        "task_server_error",
    ] {
        assert!(
            snap.fault_counts.get(kind).copied().unwrap_or(0) > 0,
            "no {kind}: {:?}",
            snap.fault_counts
        );
    }
    assert_eq!(job_state(&snap, "many"), "completed");
}

#[test]
fn a_collection_too_large_for_the_service_is_sent_in_halves() {
    // Collections of 100 of these tasks are about 13 kB: the service takes under 4,000 bytes.
    let az = Azure::new(Config {
        max_body_bytes: 4000,
        ..Config::default()
    });
    let file = az.write("many.batchflow", MANY);
    let planned = az.planned(&file, &["--param", "n=200"]);
    let out = az.run(&[&file, "--param", "n=200"]);
    assert_eq!(out.code, 0, "{}", show(&out));
    let snap = az.fake.snapshot();
    assert_exactly_once(&snap, &planned);
    let too_large = snap
        .error_replies
        .iter()
        .filter(|(what, status, code)| {
            what.contains("/addtaskcollection") && *status == 413 && code == "RequestBodyTooLarge"
        })
        .count();
    // 100 -> 50 -> 25: the two collections of 100 and their four halves of 50.
    assert_eq!(too_large, 6, "{:#?}", snap.error_replies);
}

#[test]
fn a_run_killed_while_adding_10000_tasks_resumes_and_creates_each_once() {
    let az = Azure::new(Config {
        latency: Duration::from_millis(40),
        ..Config::default()
    });
    let file = az.write("many.batchflow", MANY);
    let planned = az.planned(&file, &["--param", "n=10000"]);
    let mut child = az.spawn(&[&file, "--param", "n=10000", "--max-in-flight", "2"]);
    let count = |s: &Snapshot| s.tasks.values().map(|t| t.len()).sum::<usize>();
    let before = az.wait_for("2,000 tasks", |s| count(s) >= 2000);
    child.kill().expect("kill");
    let _ = child.wait();
    let at_kill = count(&az.fake.snapshot());
    assert!(
        at_kill < planned.len(),
        "the run added every task before the kill ({at_kill})"
    );
    assert!(count(&before) >= 2000);
    let out = az.run(&["--resume"]);
    assert_eq!(out.code, 0, "{}", show(&out));
    assert!(out.stderr.contains("resuming run"), "{}", out.stderr);
    let snap = az.fake.snapshot();
    assert_exactly_once(&snap, &planned);
    // Only the collections in flight at the kill (at most 2 of 100 tasks) were sent again.
    let resent = snap
        .tasks
        .values()
        .flat_map(|t| t.values())
        .filter(|t| t.add_attempts > 1)
        .count();
    assert!(resent <= 200, "{resent} tasks were sent more than once");
    assert_eq!(job_state(&snap, "many"), "completed");
    // The resumed run went on with the job of its first process: one job, its id the record's.
    let ids = batch_ids(&snap, "many");
    assert_eq!(ids.len(), 1, "{ids:?}");
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(az.run_dir().join("state.json")).expect("state")).expect("JSON");
    assert_eq!(record["batch_jobs"]["many"], ids[0].as_str());
}

#[test]
fn a_pool_of_the_same_name_with_another_size_is_refused_and_left_alone() {
    let az = Azure::entra();
    let other = std::fs::read_to_string(az.repo.path().join("examples/hello.batchflow"))
        .expect("hello")
        .replace("Standard_D2s_v5", "Standard_D4s_v5")
        .replace("workflow \"hello\"", "workflow \"other\"")
        .replace("job hello on", "job other on");
    let other = az.write("other.batchflow", &other);
    let first = az.run(&["--keep-pools", &other]);
    assert_eq!(first.code, 0, "{}", show(&first));
    let out = az.run(&["examples/hello.batchflow"]);
    assert_eq!(out.code, 1, "{}", show(&out));
    assert!(
        out.stderr
            .contains("pool `cpu` already exists with vm size Standard_D4s_v5 (the workflow wants Standard_D2s_v5)"),
        "{}",
        out.stderr
    );
    let snap = az.fake.snapshot();
    assert_eq!(pool_states(&snap), vec![("cpu".to_string(), "active".to_string())]);
    assert_eq!(job_state(&snap, "hello"), "absent");
}

#[test]
fn a_pool_kept_by_an_earlier_run_is_taken_and_kept_again() {
    let az = Azure::entra();
    let first = az.run(&["--keep-pools", "examples/hello.batchflow"]);
    assert_eq!(first.code, 0, "{}", show(&first));
    assert!(
        first
            .stderr
            .contains("pool `cpu` is kept: no nodes once it has had no tasks for 30m"),
        "{}",
        first.stderr
    );
    let renamed = std::fs::read_to_string(az.repo.path().join("examples/hello.batchflow"))
        .expect("hello")
        .replace("job hello on", "job hello2 on");
    let file = az.write("again.batchflow", &renamed);
    let out = az.run(&[&file]);
    assert_eq!(out.code, 0, "{}", show(&out));
    assert!(
        out.stderr.contains("pool `cpu` of run `hello-")
            && out.stderr.contains("has the same specification: taking it"),
        "{}",
        out.stderr
    );
    // Kept by the first run, it stays kept after the second.
    assert!(out.stderr.contains("pool `cpu` is kept"), "{}", out.stderr);
    assert_eq!(
        pool_states(&az.fake.snapshot()),
        [("cpu".to_string(), "active".to_string())]
    );
    // Its own job was created and ended as usual.
    assert_eq!(job_state(&az.fake.snapshot(), "hello2"), "completed");
}

#[test]
fn the_same_workflow_runs_twice_in_one_account_each_run_with_jobs_of_its_own() {
    let az = Azure::entra();
    let first = az.run(&["examples/hello.batchflow"]);
    assert_eq!(first.code, 0, "{}", show(&first));
    // `--replace-jobs` is a no-op now, and says so.
    let again = az.run(&["examples/hello.batchflow", "--replace-jobs"]);
    assert_eq!(again.code, 0, "{}", show(&again));
    assert!(again.stderr.contains("--replace-jobs does nothing"), "{}", again.stderr);
    let snap = az.fake.snapshot();
    let ids = batch_ids(&snap, "hello");
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert_ne!(ids[0], ids[1]);
    for id in &ids {
        assert!(id.starts_with("hello-") && id.len() == "hello-".len() + 20, "{id}");
        assert_eq!(snap.tasks[id].len(), 5, "{id}");
    }
    // The runs' records name their jobs' ids; the jobs name their runs.
    let runs: Vec<Value> =
        serde_json::from_str(&az.bf().args(["runs", "--format", "json"]).run().stdout).expect("runs JSON");
    for job in snap.jobs.iter().filter(|j| workflow_job(j) == "hello") {
        assert_eq!(job["state"], "completed");
        // The workflow names the job's display name; it stays as written.
        assert_eq!(job["displayName"], "hello, batchflow");
        let run = job["metadata"]
            .as_array()
            .and_then(|m| m.iter().find(|i| i["name"] == "batchflow-run"))
            .and_then(|i| i["value"].as_str())
            .expect("a batchflow-run tag");
        let record = runs.iter().find(|r| r["id"] == run).expect("the run that made it");
        assert_eq!(record["batch_jobs"]["hello"], job["id"]);
    }
    // Nothing of the first run was deleted to make room for the second.
    assert!(
        !snap
            .client_request_ids
            .iter()
            .any(|(what, _, _)| what.starts_with("DELETE /jobs")),
        "{:?}",
        snap.client_request_ids
    );
}

#[test]
fn a_pool_short_of_its_target_is_resized_again() {
    let az = Azure::entra();
    az.fake.set_faults(Faults {
        pool_short_by: 1,
        ..Faults::default()
    });
    let file = az.write(
        "many.batchflow",
        &MANY.replace("param n: int = 2000", "param n: int = 20"),
    );
    let out = az.bf().args(["run", "--target", "azure", &file]).run();
    assert_eq!(out.code, 0, "{}", show(&out));
    assert!(
        out.stderr
            .contains("pool `cpu` stopped at 3 of 4 nodes (AllocationFailed"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("resizing again (1 of 3)"), "{}", out.stderr);
    let resizes = az
        .fake
        .snapshot()
        .client_request_ids
        .iter()
        .filter(|(what, _, _)| what.starts_with("POST /pools/cpu/resize"))
        .count();
    assert_eq!(resizes, 1);
}

#[test]
fn a_failing_start_task_is_reported_with_its_node_code_and_stderr() {
    let az = Azure::entra();
    az.fake.set_faults(Faults {
        failing_start_task: true,
        ..Faults::default()
    });
    let out = az
        .bf()
        .args(["run", "--target", "azure", "examples/hello.batchflow"])
        .run();
    assert_eq!(out.code, 1, "{}", show(&out));
    assert!(out.stderr.contains("the start task failed on node `"), "{}", out.stderr);
    assert!(
        out.stderr.contains("of pool `cpu` (FailureExitCode, exit code 1)"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("every node of pool `cpu` failed its start task"),
        "{}",
        out.stderr
    );
    // Tasks queue while a pool allocates; none ran, the job was ended and the pool deleted.
    let snap = az.fake.snapshot();
    let ran: Vec<&String> = snap
        .tasks
        .values()
        .flat_map(|t| t.iter())
        .filter(|(_, t)| t.exit_code.is_some())
        .map(|(id, _)| id)
        .collect();
    assert!(ran.is_empty(), "{ran:?}");
    assert_eq!(job_state(&snap, "hello"), "completed");
    assert_eq!(pool_states(&snap)[0].1, "deleting");
}

#[test]
fn a_failed_task_is_reported_at_its_line_and_blocks_its_dependents() {
    let az = Azure::entra();
    az.fake.set_faults(Faults {
        failing_tasks: vec![("greet-1".into(), 3)],
        ..Faults::default()
    });
    let out = az.run(&["examples/hello.batchflow"]);
    assert_eq!(out.code, 1, "{}", show(&out));
    // Each failure is shown as the diagnostics are, at the declaration of its task.
    let failure = |message: &str, at: &str| {
        let from = out
            .stderr
            .find(message)
            .unwrap_or_else(|| panic!("no `{message}` in:\n{}", out.stderr));
        let next = out.stderr[from..].lines().nth(1).unwrap_or("");
        assert!(
            next.contains(&format!("╭─[{at}]")),
            "`{message}` is not shown at {at}:\n{}",
            out.stderr
        );
    };
    failure(
        "× task `greet-1` of job `hello` failed: exit code 3",
        "examples/hello.batchflow:44:8",
    );
    failure(
        "× task `gather` of job `hello` failed: blocked: `greet-1` did not succeed",
        "examples/hello.batchflow:50:8",
    );
    assert!(out.stdout.contains("hello/greet-1"), "{}", out.stdout);
    let snap = az.fake.snapshot();
    assert_eq!(job_state(&snap, "hello"), "completed");
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(az.run_dir().join("state.json")).expect("state")).expect("JSON");
    assert_eq!(state["status"], "failed");
    let of = |id: &str| {
        state["tasks"]
            .as_array()
            .and_then(|a| a.iter().find(|t| t["task"] == id))
            .map(|t| t["state"].as_str().unwrap_or("").to_string())
            .unwrap_or_default()
    };
    assert_eq!(
        (of("greet-1").as_str(), of("gather").as_str(), of("greet-0").as_str()),
        ("failed", "blocked", "succeeded")
    );
    // The stderr tail of the failed task, fetched from its node, is in the report.
    assert!(
        out.stderr
            .contains("  help: stderr.txt (last lines):\n          task failed with exit code 3\n"),
        "{}",
        out.stderr
    );
    // `logs` of an azure run reads the files from Batch.
    let logs = az.bf().args(["logs", "latest", "greet-1", "--stderr"]).run();
    assert_eq!(
        (logs.code, logs.stdout.as_str()),
        (0, "task failed with exit code 3\n"),
        "{}",
        show(&logs)
    );
    let logs = az.bf().args(["logs", "latest", "hello/greet-0"]).run();
    assert_eq!(logs.stdout, "output of greet-0\n", "{}", show(&logs));
    // A task Batch never ran: why, without asking Batch for a file it does not have.
    let never = az.bf().args(["logs", "latest", "gather"]).run();
    assert_eq!(never.code, 1, "{}", show(&never));
    assert!(
        never.stderr.contains("`hello/gather` never started in run `hello-")
            && never
                .stderr
                .contains("it was blocked by `greet-1`, which failed (exit 3)"),
        "{}",
        never.stderr
    );
}

#[test]
fn on_task_failed_retry_reactivates_the_task_on_batch() {
    let az = Azure::entra();
    // hooks.rhai retries exit code 137, lets shards fail ("continue"), aborts on others.
    az.fake.set_faults(Faults {
        failing_tasks: vec![("shard-2".into(), 137)],
        ..Faults::default()
    });
    let out = az.run_stored(&[], "examples/hooks.batchflow");
    assert_eq!(out.code, 1, "{}", show(&out));
    let reactivations = az
        .fake
        .snapshot()
        .client_request_ids
        .iter()
        .filter(|(what, _, retry)| {
            what.starts_with("POST /jobs/") && what.contains("/tasks/shard-2/reactivate") && !retry
        })
        .count();
    assert_eq!(reactivations, 10, "{}", out.stderr);
    assert!(
        out.stderr.contains("on_task_failed says retry: reactivated"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("on_task_failed said retry 10 times"),
        "{}",
        out.stderr
    );
}

#[test]
fn status_shows_batch_and_cancel_ends_the_run() {
    let az = Azure::new(Config {
        task_duration: Duration::from_secs(600),
        ..Config::default()
    });
    let mut child = az.spawn(&["examples/hello.batchflow"]);
    az.wait_for("running tasks", |s| {
        s.tasks.values().flat_map(|t| t.values()).any(|t| t.state == "running")
    });
    let status = az.bf().args(["status", "--format", "json"]).run();
    assert_eq!(status.code, 0, "{}", show(&status));
    let v: Value = serde_json::from_str(&status.stdout).expect("status JSON");
    assert_eq!(v["status"], "running", "{v}");
    assert_eq!(v["batch"]["jobs"][0]["name"], "hello");
    assert!(
        v["batch"]["jobs"][0]["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("hello-")),
        "{v}"
    );
    assert_eq!(v["batch"]["jobs"][0]["state"], "active");
    assert_eq!(v["batch"]["pools"][0]["allocation"], "steady");
    let text = az.bf().args(["status"]).run();
    assert!(text.stdout.contains("job  hello"), "{}", text.stdout);
    assert!(text.stdout.contains("(Batch id `hello-"), "{}", text.stdout);
    // Without AZURE_BATCH_ENDPOINT the run's own account is asked; another one is refused.
    let own = az.bf().env("AZURE_BATCH_ENDPOINT", "").args(["status"]).run();
    assert!(own.stdout.contains("job  hello"), "{}", show(&own));
    let other = az
        .bf()
        .env("AZURE_BATCH_ENDPOINT", "https://other.westeurope.batch.azure.com")
        .args(["status"])
        .run();
    assert_eq!(other.code, 2, "{}", show(&other));
    assert!(
        other.stderr.contains("set AZURE_BATCH_ENDPOINT to reach it"),
        "{}",
        other.stderr
    );
    let listed = az.bf().args(["runs"]).run();
    let host = az.fake.url().trim_start_matches("http://").to_string();
    assert!(
        listed
            .stdout
            .lines()
            .any(|l| l.contains("running") && l.ends_with(&host)),
        "{}",
        listed.stdout
    );

    let cancel = az.bf().args(["cancel"]).run();
    assert_eq!(cancel.code, 0, "{}", show(&cancel));
    let code = child.wait().expect("the run ends").code();
    assert_eq!(code, Some(130));
    assert!(cancel.stderr.contains("job `hello` (`hello-"), "{}", cancel.stderr);
    assert!(
        cancel.stderr.contains("pool `cpu` is being deleted"),
        "{}",
        cancel.stderr
    );
    let snap = az.fake.snapshot();
    assert_eq!(job_state(&snap, "hello"), "completed");
    assert_eq!(pool_states(&snap)[0].1, "deleting");
    let after = az.bf().args(["status", "--format", "json"]).run();
    let v: Value = serde_json::from_str(&after.stdout).expect("status JSON");
    assert_eq!(v["status"], "cancelled");
    // A cancelled run is not resumed.
    let resume = az.run(&["--resume"]);
    assert_eq!(resume.code, 2, "{}", show(&resume));
}

#[test]
fn without_an_account_the_run_says_what_to_set() {
    let out = Test::project()
        .current_dir(Path::new(&root()))
        .env("AZURE_BATCH_ENDPOINT", "")
        .args(["run", "--target", "azure", "examples/hello.batchflow"])
        .run();
    assert_eq!(out.code, 2, "{}", show(&out));
    assert!(out.stderr.contains("set AZURE_BATCH_ENDPOINT"), "{}", out.stderr);
}
