//! The fake Batch service's nodes running tasks for real (`Config::run_tasks`), against
//! Azurite: resource files fetched with the URLs given, the command run without a shell in the
//! working directory, output files uploaded through the SAS given, and a wrong SAS or path
//! failing the task with the `failureInfo` Batch reports (`fake_batch/node/`).

use crate::azurite::Azurite;
use crate::blob_sas::{service_sas, service_sas_with_key, unique_container, Blobs, FUTURE, PAST};
use crate::fake_batch::{Config, FakeBatch};
use crate::fake_batch_tests::{add, assert_clean, assert_no_schema_problem, fast, pool_body, Client};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

struct Setup {
    fake: FakeBatch,
    c: Client,
    blobs: Blobs<'static>,
    inputs: String,
    outputs: String,
}

/// Azurite with an input and an output container of the test's own; a fake whose nodes run
/// tasks, with a pool of one node (4 slots) and job `j` with common environment settings.
fn setup() -> Setup {
    setup_with(Azurite::shared())
}

fn setup_with(az: &'static Azurite) -> Setup {
    let blobs = Blobs::new(az);
    let (inputs, outputs) = (unique_container("in"), unique_container("out"));
    blobs.create_container(&inputs);
    blobs.create_container(&outputs);
    let fake = FakeBatch::start(Config {
        run_tasks: true,
        node_ca_pem: az.ca_pem().map(str::to_string),
        ..fast()
    });
    let c = Client::new(&fake);
    assert_eq!(c.post("/pools", &pool_body("p", 1, 4)).status, 201);
    let job = json!({
        "id": "j",
        "poolInfo": {"poolId": "p"},
        "commonEnvironmentSettings": [
            {"name": "SAMPLE", "value": "from-job"},
            {"name": "REF", "value": "genome"}
        ]
    });
    let r = c.post("/jobs", &job);
    assert_eq!(r.status, 201, "{}", r.text);
    c.wait_for("/pools/p/nodes", "an idle node", |v| {
        v["value"]
            .as_array()
            .is_some_and(|n| n.len() == 1 && n[0]["state"] == "idle")
    });
    Setup {
        fake,
        c,
        blobs,
        inputs,
        outputs,
    }
}

impl Setup {
    /// Adds the task, waits until it completes; its `executionInfo`.
    fn run(&self, task: Value) -> Value {
        let id = task["id"].as_str().expect("a task id").to_string();
        let results = add(&self.c, "j", &[task]);
        assert_eq!(results[0]["status"], "success", "{results:?}");
        let t = self
            .c
            .wait_for(&format!("/jobs/j/tasks/{id}"), "a completed task", |v| {
                v["state"] == "completed"
            });
        assert_no_schema_problem("CloudTask", &t);
        t["executionInfo"].clone()
    }

    /// The output container's URL with a SAS of `permissions`.
    fn outputs_url(&self, permissions: &str) -> String {
        self.blobs
            .container_url(&self.outputs, &service_sas(&self.outputs, None, permissions, FUTURE))
    }

    fn file(&self, task: &str, path: &str) -> (u16, String) {
        let r = self.c.get(&format!("/jobs/j/tasks/{task}/files/{path}"));
        (r.status, r.text)
    }
}

fn output(pattern: &str, container_url: &str, path: Option<&str>, condition: &str) -> Value {
    let mut dest = json!({"containerUrl": container_url});
    if let Some(p) = path {
        dest["path"] = json!(p);
    }
    json!({
        "filePattern": pattern,
        "destination": {"container": dest},
        "uploadOptions": {"uploadCondition": condition}
    })
}

fn failure_code(info: &Value) -> &str {
    info["failureInfo"]["code"].as_str().unwrap_or("")
}

#[test]
fn a_task_fetches_its_inputs_runs_and_uploads_what_its_patterns_match() {
    let s = setup();
    s.blobs.put(&s.inputs, "ref/genome.fa", b">chr1\nACGT\n");
    s.blobs.put(&s.inputs, "samples/s1.fq", b"@r1\nAC\n");
    s.blobs.put(&s.inputs, "samples/s2.fq", b"@r2\nGT\n");
    s.blobs.put(&s.inputs, "other/skip.txt", b"not under the prefix");
    let genome = s.blobs.blob_url(
        &s.inputs,
        "ref/genome.fa",
        &service_sas(&s.inputs, Some("ref/genome.fa"), "r", FUTURE),
    );
    let samples = s
        .blobs
        .container_url(&s.inputs, &service_sas(&s.inputs, None, "rl", FUTURE));
    let out = s.outputs_url("cw");
    let script = "mkdir -p out/sub && cat data/genome.fa in/samples/s1.fq > out/merged.txt \
        && echo deep > out/sub/deep.txt && echo 1,2 > table.csv && echo s > \"$SAMPLE.csv\" \
        && echo dot > .hidden.txt && echo \"$SAMPLE $REF $AZ_BATCH_TASK_ID\" \
        && test \"$PWD\" = \"$AZ_BATCH_TASK_WORKING_DIR\" && test -d \"$AZ_BATCH_NODE_SHARED_DIR\" \
        && echo to-stderr >&2";
    let task = json!({
        "id": "t1",
        "commandLine": format!("/bin/sh -c '{script}'"),
        "environmentSettings": [{"name": "SAMPLE", "value": "s1"}],
        "resourceFiles": [
            {"httpUrl": genome, "filePath": "data/genome.fa"},
            {"storageContainerUrl": samples, "blobPrefix": "samples/", "filePath": "in"}
        ],
        "outputFiles": [
            output("*.csv", &out, Some("r/t1"), "tasksuccess"),
            output("out/**", &out, Some("r/t1/all/"), "taskcompletion"),
            output("out/merged.txt", &out, Some("r/t1/final.txt"), "tasksuccess"),
            output("${SAMPLE}.csv", &out, Some("r/t1/sample.csv"), "tasksuccess"),
            output("*.txt", &out, Some("r/t1/txt"), "taskcompletion"),
            output("../stdout.txt", &out, Some("logs/t1/stdout.txt"), "taskcompletion"),
            output("../std*.txt", &out, Some("logs/t1/all"), "taskcompletion"),
            output("../stderr.txt", &out, Some("failed/t1/stderr.txt"), "taskfailure")
        ]
    });
    let info = s.run(task);
    assert_eq!(info["result"], "success", "{info}");
    assert_eq!(info["exitCode"], 0);
    assert!(info.get("failureInfo").is_none(), "{info}");

    let mut names = s.blobs.list(&s.outputs);
    names.sort();
    assert_eq!(
        names,
        [
            "logs/t1/all/stderr.txt",
            "logs/t1/all/stdout.txt",
            "logs/t1/stdout.txt",
            "r/t1/all/merged.txt",
            "r/t1/all/sub/deep.txt",
            "r/t1/final.txt",
            "r/t1/s1.csv",
            "r/t1/sample.csv",
            "r/t1/table.csv",
        ],
        "`*` stays in its folder, `**` keeps sub-folders, dot-files only when named, taskfailure outputs not sent"
    );
    assert_eq!(s.blobs.text(&s.outputs, "r/t1/final.txt"), ">chr1\nACGT\n@r1\nAC\n");
    assert_eq!(s.blobs.text(&s.outputs, "logs/t1/stdout.txt"), "s1 genome t1\n");
    assert_eq!(s.blobs.text(&s.outputs, "logs/t1/all/stderr.txt"), "to-stderr\n");

    let dir = s.fake.task_dir("j", "t1").expect("the task ran on a node");
    let wd = dir.join("wd");
    assert!(
        wd.join("in/samples/s2.fq").is_file(),
        "container downloads keep the whole blob name"
    );
    assert!(!wd.join("in/other").exists() && !wd.join("in/skip.txt").exists());
    assert!(dir.join("fileuploadout.txt").is_file());

    assert_eq!(s.file("t1", "stdout.txt"), (200, "s1 genome t1\n".to_string()));
    assert_eq!(s.file("t1", "wd/out/sub/deep.txt"), (200, "deep\n".to_string()));
    assert_eq!(s.file("t1", "wd/nothing.txt").0, 404);
    assert_eq!(s.file("t1", "..%2F..%2Fp").0, 404);
    assert_clean(&s.fake.snapshot());
}

#[test]
fn an_upload_with_a_read_only_sas_or_to_a_missing_container_fails_the_task() {
    let s = setup();
    let read_only = s.outputs_url("r");
    let info = s.run(json!({
        "id": "readonly",
        "commandLine": "/bin/sh -c 'echo x > a.txt'",
        "constraints": {"maxTaskRetryCount": 3},
        "outputFiles": [output("a.txt", &read_only, Some("a.txt"), "tasksuccess")]
    }));
    assert_eq!(info["result"], "failure", "{info}");
    assert_eq!(info["exitCode"], 0, "the command itself succeeded");
    assert_eq!(info["failureInfo"]["category"], "usererror");
    assert_eq!(failure_code(&info), "FileUploadAccessDenied");
    assert_eq!(info["retryCount"], 0, "file upload errors are not retried");
    let message = info["failureInfo"]["message"].as_str().unwrap_or("");
    assert!(message.contains("403") && !message.contains("sig="), "{message}");
    assert_eq!(s.blobs.get(&s.outputs, "a.txt"), None);

    let missing = unique_container("gone");
    let url = s
        .blobs
        .container_url(&missing, &service_sas(&missing, None, "cw", FUTURE));
    let info = s.run(json!({
        "id": "nocontainer",
        "commandLine": "/bin/sh -c 'echo x > a.txt'",
        "outputFiles": [output("*.txt", &url, None, "taskcompletion")]
    }));
    assert_eq!(info["result"], "failure", "{info}");
    assert_eq!(failure_code(&info), "FileUploadContainerNotFound");

    let expired = s
        .blobs
        .container_url(&s.outputs, &service_sas(&s.outputs, None, "cw", PAST));
    let info = s.run(json!({
        "id": "expired",
        "commandLine": "/bin/sh -c 'echo x > a.txt'",
        "outputFiles": [output("a.txt", &expired, None, "taskcompletion")]
    }));
    assert_eq!(failure_code(&info), "FileUploadAccessDenied", "{info}");
}

#[test]
fn a_resource_file_that_cannot_be_fetched_fails_the_task_before_its_command() {
    let s = setup();
    s.blobs.put(&s.inputs, "in.txt", b"data");
    let wrong_key = "d3Jvbmcga2V5IGZvciB0aGUgdGVzdHM=";
    let cases = [
        (
            "badsig",
            json!({"httpUrl": s.blobs.blob_url(&s.inputs, "in.txt", &service_sas_with_key(&s.inputs, Some("in.txt"), "r", FUTURE, wrong_key)), "filePath": "in.txt"}),
            "BlobAccessDenied",
        ),
        (
            "missing",
            json!({"httpUrl": s.blobs.blob_url(&s.inputs, "nope.txt", &service_sas(&s.inputs, None, "r", FUTURE)), "filePath": "in.txt"}),
            "BlobNotFound",
        ),
        (
            "nolist",
            json!({"storageContainerUrl": s.blobs.container_url(&s.inputs, &service_sas(&s.inputs, None, "r", FUTURE))}),
            "ResourceContainerAccessDenied",
        ),
    ];
    for (id, resource, code) in cases {
        let info = s.run(json!({
            "id": id,
            "commandLine": "/bin/sh -c 'echo ran > ran.txt; echo ran'",
            "resourceFiles": [resource]
        }));
        assert_eq!(info["result"], "failure", "{id}: {info}");
        assert_eq!(info["failureInfo"]["category"], "usererror", "{id}");
        assert_eq!(failure_code(&info), code, "{id}: {info}");
        assert!(info.get("exitCode").is_none(), "{id}: the command never ran: {info}");
        let dir = s.fake.task_dir("j", id).expect("the task started on a node");
        assert!(!dir.join("wd/ran.txt").exists(), "{id}: the command never ran");
        let message = info["failureInfo"]["message"].as_str().unwrap_or("");
        assert!(!message.contains("sig="), "{id}: no SAS in messages: {message}");
    }
}

#[test]
fn upload_conditions_follow_the_exit_code_and_failures_are_retried() {
    let s = setup();
    let out = s.outputs_url("cw");
    let info = s.run(json!({
        "id": "fails",
        "commandLine": "/bin/sh -c 'echo partial > part.txt; echo boom >&2; exit 3'",
        "constraints": {"maxTaskRetryCount": 1},
        "outputFiles": [
            output("part.txt", &out, Some("ok/part.txt"), "tasksuccess"),
            output("part.txt", &out, Some("bad/part.txt"), "taskfailure"),
            output("../stderr.txt", &out, Some("bad/stderr.txt"), "taskcompletion")
        ]
    }));
    assert_eq!(info["result"], "failure", "{info}");
    assert_eq!(info["exitCode"], 3);
    assert_eq!(failure_code(&info), "FailureExitCode");
    assert_eq!(info["retryCount"], 1, "a non-zero exit is retried");
    let mut names = s.blobs.list(&s.outputs);
    names.sort();
    assert_eq!(names, ["bad/part.txt", "bad/stderr.txt"]);
    assert_eq!(s.blobs.text(&s.outputs, "bad/stderr.txt"), "boom\n");
    assert_eq!(s.file("fails", "stderr.txt"), (200, "boom\n".to_string()));
}

#[test]
fn command_lines_run_without_a_shell_and_within_their_wall_clock_time() {
    let s = setup();
    let info = s.run(json!({"id": "noshell", "commandLine": "echo \"$SAMPLE\" 'a  b' c"}));
    assert_eq!(info["result"], "success", "{info}");
    assert_eq!(
        s.file("noshell", "stdout.txt").1,
        "$SAMPLE a  b c\n",
        "no variable expansion, POSIX quoting"
    );

    let info = s.run(json!({"id": "noprogram", "commandLine": "no-such-program-xyz --help"}));
    assert_eq!(failure_code(&info), "CommandProgramNotFound", "{info}");
    assert!(info.get("exitCode").is_none());

    let started = Instant::now();
    let info = s.run(json!({
        "id": "slow",
        "commandLine": "/bin/sh -c 'sleep 30'",
        "constraints": {"maxWallClockTime": "PT0.5S", "maxTaskRetryCount": 2}
    }));
    assert!(started.elapsed() < Duration::from_secs(15), "killed at its limit");
    assert_eq!(failure_code(&info), "TaskEnded", "{info}");
    assert_eq!(info["exitCode"], 137, "killed by SIGKILL");
    assert_eq!(info["retryCount"], 0);

    let info = s.run(json!({
        "id": "container",
        "commandLine": "/bin/sh -c 'echo in-container'",
        "containerSettings": {"imageName": "ubuntu:24.04"}
    }));
    assert_eq!(info["result"], "success", "container tasks run on the host: {info}");
    let dir = s.fake.task_dir("j", "container").expect("it ran");
    assert!(dir.join("fake-node.txt").is_file());
}

#[test]
fn terminating_the_job_ends_a_running_command() {
    let s = setup();
    add(
        &s.c,
        "j",
        &[json!({"id": "long", "commandLine": "/bin/sh -c 'sleep 30'"})],
    );
    s.c.wait_for("/jobs/j/tasks/long", "a running task", |v| v["state"] == "running");
    let r = s.c.post("/jobs/j/terminate", &json!({}));
    assert_eq!(r.status, 202, "{}", r.text);
    let t = s.c.get("/jobs/j/tasks/long").json();
    assert_eq!(t["state"], "completed");
    assert_eq!(t["executionInfo"]["failureInfo"]["code"], "TaskEnded");
}

#[test]
fn nodes_trust_the_certificate_they_are_given_for_an_https_storage() {
    let s = setup_with(Azurite::shared_https());
    s.blobs.put(&s.inputs, "in.txt", b"over https");
    let input = s.blobs.blob_url(
        &s.inputs,
        "in.txt",
        &service_sas(&s.inputs, Some("in.txt"), "r", FUTURE),
    );
    assert!(input.starts_with("https://127.0.0.1:"), "{input}");
    let info = s.run(json!({
        "id": "tls",
        "commandLine": "cp in.txt out.txt",
        "resourceFiles": [{"httpUrl": input, "filePath": "in.txt"}],
        "outputFiles": [output("out.txt", &s.outputs_url("cw"), None, "tasksuccess")]
    }));
    assert_eq!(info["result"], "success", "{info}");
    assert_eq!(s.blobs.text(&s.outputs, "out.txt"), "over https");
}
