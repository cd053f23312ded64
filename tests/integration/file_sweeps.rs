//! `files("GLOB")` sweeps through the binary: one task per repository file, ids from the file
//! names (valid Batch ids, deduplicated), `${f}` as a repository input of each instance, and
//! the repository read before evaluation (the glob matches the files present when compiled).

use crate::support::Test;
use serde_json::Value;

const POOL: &str = r#"pool cpu {
  vm_size    = "Standard_D2s_v5"
  image      = marketplace("Canonical", "ubuntu-24_04-lts", "server")
  node_agent = "batch.node.ubuntu 24.04"
  dedicated  = 1
}
"#;

fn repo(workflow: &str) -> Test {
    Test::new()
        .write("data/reads/s1.fq", "@r1\nACGT\n+\nIIII\n")
        .write("data/reads/s2.fq", "@r2\nTTGA\n+\nIIII\n")
        .write("data/reads/S1.fa", ">s1\nACGT\n")
        .write("data/reads/sample 7 (new).fq", "@r7\nGGGG\n+\nIIII\n")
        .write("data/reads/nested/s9.fq", "@r9\nCCCC\n+\nIIII\n")
        .write("pipelines/w.batchflow", format!("{POOL}{workflow}"))
}

/// The tasks of the plan's collections: (id, body).
fn tasks(out: &crate::support::Output) -> Vec<(String, Value)> {
    let plan: Value = serde_json::from_str(&out.stdout).expect("plan JSON");
    let mut found = Vec::new();
    for step in plan["steps"].as_array().expect("steps") {
        for t in step["body"]["value"].as_array().into_iter().flatten() {
            found.push((t["id"].as_str().expect("id").to_string(), t.clone()));
        }
    }
    found
}

#[test]
fn one_task_per_file_named_after_it_with_the_file_as_its_input() {
    let out = repo(
        r#"job j on cpu {
  task align[f in files("data/reads/*")] {
    command = "/bin/sh -c 'wc -l ${basename(f)} > ${stem(f)}.count'"
    inputs { "${basename(f)}" = f }
  }
}
"#,
    )
    .args(["plan", "--format", "json", "pipelines/w.batchflow"])
    .success();
    let tasks = tasks(&out);
    let ids: Vec<&str> = tasks.iter().map(|(id, _)| id.as_str()).collect();
    // Sorted by path: `S1.fa` before `s1.fq` (upper case first), `sample 7 (new).fq` last.
    assert_eq!(ids, ["align-S1", "align-s1-2", "align-s2", "align-sample-7--new-"]);
    let (_, s2) = &tasks[2];
    assert_eq!(s2["commandLine"], "/bin/sh -c 'wc -l s2.fq > s2.count'");
    assert_eq!(s2["resourceFiles"][0]["httpUrl"], "<repo:data/reads/s2.fq>");
    assert_eq!(s2["resourceFiles"][0]["filePath"], "s2.fq");
}

#[test]
fn files_through_a_let_and_beside_another_loop_variable() {
    let out = repo(
        r#"let reads = files("data/reads/**/*.fq")
job j on cpu {
  task count[f in reads, k in [21, 31]] {
    command = "/usr/bin/kmc -k${k} ${basename(f)} out"
    inputs { "${basename(f)}" = f }
  }
  task report after count {
    command = "/bin/true"
  }
}
"#,
    )
    .args(["plan", "--format", "json", "pipelines/w.batchflow"])
    .success();
    let tasks = tasks(&out);
    let ids: Vec<&str> = tasks.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "count-s9-0",
            "count-s9-1",
            "count-s1-0",
            "count-s1-1",
            "count-s2-0",
            "count-s2-1",
            "count-sample-7--new--0",
            "count-sample-7--new--1",
            "report"
        ]
    );
    let report = &tasks[8].1;
    assert_eq!(report["dependsOn"]["taskIds"].as_array().map(Vec::len), Some(8));
}

#[test]
fn graph_labels_show_the_file_each_instance_stands_for() {
    repo(
        r#"job j on cpu {
  task align[f in files("data/reads/s*.fq")] { command = "/bin/true" }
}
"#,
    )
    .args(["graph", "--instances", "pipelines/w.batchflow"])
    .stdout_contains("align-s1")
    .stdout_contains("align-s2")
    .success();
}

#[test]
fn the_glob_sees_the_files_present_when_the_workflow_is_compiled() {
    let workflow = r#"job j on cpu {
  task align[f in files("data/reads/*.bam")] { command = "/bin/true" }
}
"#;
    let test = repo(workflow);
    let repo = test.repo();
    test.args(["check", "--format", "json", "pipelines/w.batchflow"])
        .stdout_contains("matches no file in the repository")
        .failure();
    repo.write("data/reads/s1.bam", "BAM");
    let out = repo
        .test()
        .args(["plan", "--format", "json", "pipelines/w.batchflow"])
        .success();
    assert_eq!(tasks(&out).len(), 1);
}
