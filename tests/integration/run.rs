//! `batchflow run`, `runs` and `logs`: the local backend, through the real binary, in
//! throw-away repositories (`local_repo.rs`). How command lines run is in `run_commands.rs`,
//! how pools become simulated nodes in `run_nodes.rs`.

use crate::local_repo::*;
use crate::support::root;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------
// Nodes, directories, variables, slots
// ---------------------------------------------------------------------------------------

#[test]
fn tasks_get_batchs_directories_and_variables_and_run_in_sh_in_their_working_dir() {
    let repo = local_repo();
    repo.workflow(
        "env.batchflow",
        r#"workflow "envcheck"
pool cpu {
@LINUX@
  dedicated = 1
}
job etl on cpu {
  env { SHARED = "from-job", JOBONLY = "j1" }
  task probe {
    command = "/bin/sh -c 'echo \"$0|$(pwd)\"; env | grep -E \"^(AZ_BATCH_|SHARED=|JOBONLY=|TASKONLY=)\" > ../seen.txt; echo to-stderr >&2'"
    env { SHARED = "from-task", TASKONLY = "t1" }
  }
}
"#,
    );
    repo.run(&["env.batchflow", "--jobs", "1"]).success();
    let run = repo.only_run();
    let run_id = run.file_name().expect("name").to_string_lossy().into_owned();
    let node = run.join("nodes/cpu-node-0");
    for sub in ["shared", "startup", "workitems"] {
        assert!(node.join(sub).is_dir(), "{sub} is missing in {}", node.display());
    }
    let dir = task_dir(&run, "cpu-node-0", "etl", "probe");
    let wd = dir.join("wd");
    assert!(wd.is_dir());
    // `/bin/sh -c COMMAND`, in the working directory.
    let stdout = std::fs::read_to_string(dir.join("stdout.txt")).expect("stdout.txt");
    assert_eq!(stdout.trim(), format!("/bin/sh|{}", wd.display()));
    let stderr = std::fs::read_to_string(dir.join("stderr.txt")).expect("stderr.txt");
    assert_eq!(stderr.trim(), "to-stderr");
    let seen = std::fs::read_to_string(dir.join("seen.txt")).expect("seen.txt");
    let var = |name: &str| {
        seen.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("{name} is not set; the task saw:\n{seen}"))
            .to_string()
    };
    let path = |p: &Path| p.display().to_string();
    assert_eq!(var("AZ_BATCH_NODE_ROOT_DIR"), path(&node));
    assert_eq!(var("AZ_BATCH_NODE_SHARED_DIR"), path(&node.join("shared")));
    assert_eq!(var("AZ_BATCH_NODE_STARTUP_DIR"), path(&node.join("startup")));
    assert_eq!(var("AZ_BATCH_TASK_WORKING_DIR"), path(&wd));
    assert_eq!(var("AZ_BATCH_TASK_DIR"), path(&dir));
    assert_eq!(var("AZ_BATCH_JOB_ID"), "etl");
    assert_eq!(var("AZ_BATCH_TASK_ID"), "probe");
    assert_eq!(var("AZ_BATCH_POOL_ID"), "cpu");
    assert_eq!(var("AZ_BATCH_NODE_ID"), "cpu-node-0");
    assert!(!var("AZ_BATCH_ACCOUNT_NAME").is_empty());
    // The job's env and the task's; the task's wins.
    assert_eq!(var("JOBONLY"), "j1");
    assert_eq!(var("TASKONLY"), "t1");
    assert_eq!(var("SHARED"), "from-task");
    assert!(run_id.starts_with("envcheck-"), "{run_id}");
}

#[test]
fn params_shape_the_plan_that_runs() {
    let repo = local_repo();
    repo.workflow(
        "params.batchflow",
        r#"param n: int = 2
param word: string = "default"
pool cpu {
@LINUX@
  dedicated = 1
}
job j on cpu {
  task t[i in 0..n] { command = "/bin/sh -c 'echo ${word}-${i} >> @DIR@/marks/seen'" }
}
"#,
    );
    repo.run(&[
        "params.batchflow",
        "--param",
        "n=3",
        "--param",
        "word=given",
        "--jobs",
        "1",
    ])
    .success();
    let mut seen: Vec<String> = repo.read("marks/seen").lines().map(String::from).collect();
    seen.sort();
    assert_eq!(seen, ["given-0", "given-1", "given-2"]);
}

// ---------------------------------------------------------------------------------------
// Start tasks
// ---------------------------------------------------------------------------------------

#[test]
fn start_tasks_run_on_every_node_before_its_tasks() {
    let repo = local_repo();
    repo.workflow(
        "start.batchflow",
        r#"pool cpu {
@LINUX@
  dedicated = 2
  start_task {
    command          = "/bin/sh -c 'sleep 0.3; echo $AZ_BATCH_NODE_ID >> @DIR@/marks/started; touch $AZ_BATCH_NODE_SHARED_DIR/ready'"
    wait_for_success = true
  }
}
job j on cpu {
  task t[i in 0..4] { command = "/bin/sh -c 'test -f $AZ_BATCH_NODE_SHARED_DIR/ready && echo $AZ_BATCH_NODE_ID >> @DIR@/marks/ran'" }
}
"#,
    );
    repo.run(&["start.batchflow", "--jobs", "2"]).success();
    let mut started: Vec<String> = repo.read("marks/started").lines().map(String::from).collect();
    started.sort();
    assert_eq!(started, ["cpu-node-0", "cpu-node-1"], "one start task per node");
    assert_eq!(repo.count("marks/ran"), 4);
    let run = repo.only_run();
    assert!(run.join("nodes/cpu-node-0/startup/stdout.txt").is_file());
    assert!(run.join("nodes/cpu-node-1/startup/stderr.txt").is_file());
}

#[test]
fn a_failing_start_task_blocks_its_pools_tasks_and_says_why() {
    let repo = local_repo();
    repo.workflow(
        "startfail.batchflow",
        r#"pool cpu {
@LINUX@
  dedicated = 1
  start_task {
    command          = "/bin/sh -c 'echo mounting; echo disk-not-mounted-xyz >&2; exit 3'"
    wait_for_success = true
  }
}
pool other {
@LINUX@
  dedicated = 1
}
job j on cpu {
  task a { command = "/bin/sh -c 'echo a >> @DIR@/marks/a'" }
  task b { command = "/bin/sh -c 'echo b >> @DIR@/marks/b'" }
}
job k on other {
  task c { command = "/bin/sh -c 'echo c >> @DIR@/marks/c'" }
}
"#,
    );
    let out = repo.run(&["startfail.batchflow", "--jobs", "2"]).failure();
    // A message naming the node, followed by the end of the start task's stderr.
    let lines: Vec<&str> = out.stderr.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("start task") && l.contains("cpu-node-0"))
        .unwrap_or_else(|| panic!("no start task message:\n{}", show(&out)));
    let message = lines[at..(at + 6).min(lines.len())].join("\n");
    assert!(message.contains("disk-not-mounted-xyz"), "{message}");
    for t in ["a", "b"] {
        let r = row(&out, &format!("j/{t}"));
        assert!(r.contains("blocked"), "{r}");
        assert!(r.contains("cpu-node-0"), "{r}");
        assert!(!repo.exists(format!("marks/{t}")), "{t} ran");
    }
    // The other pool's work goes on.
    assert!(row(&out, "k/c").contains("succeeded"));
    assert_eq!(repo.count("marks/c"), 1);
    let st = state(&repo.only_run());
    assert_eq!(task_state(&st, "a"), "blocked");
    assert_eq!(st["status"], "failed");
}

// ---------------------------------------------------------------------------------------
// Dependencies, jobs, retries, timeouts
// ---------------------------------------------------------------------------------------

#[test]
fn tasks_start_only_when_their_dependencies_succeeded() {
    let repo = local_repo();
    repo.workflow(
        "deps.batchflow",
        r#"pool cpu {
@LINUX@
  dedicated  = 1
  task_slots = 4
}
job j on cpu {
  task first { command = "/bin/sh -c 'sleep 0.3; touch @DIR@/marks/first.done'" }
  task second after first { command = "/bin/sh -c 'test -f @DIR@/marks/first.done && sleep 0.2 && touch @DIR@/marks/second.done'" }
  task last after first, second { command = "/bin/sh -c 'test -f @DIR@/marks/second.done && touch @DIR@/marks/last.done'" }
}
"#,
    );
    repo.run(&["deps.batchflow", "--jobs", "4"]).success();
    assert!(repo.exists("marks/last.done"));
}

#[test]
fn a_failed_task_blocks_its_dependents_while_independent_work_continues() {
    let repo = local_repo();
    repo.workflow(
        "fail.batchflow",
        r#"pool cpu {
@LINUX@
  dedicated  = 1
  task_slots = 2
}
job j on cpu {
  task broken { command = "/bin/sh -c 'echo broken-on-purpose >&2; exit 7'" }
  task child after broken { command = "/bin/sh -c 'echo ran >> @DIR@/marks/child'" }
  task grandchild after child { command = "/bin/sh -c 'echo ran >> @DIR@/marks/grandchild'" }
  task free[i in 0..3] { command = "/bin/sh -c 'sleep 0.2; echo ran >> @DIR@/marks/free'" }
  task after_free after free { command = "/bin/sh -c 'echo ran >> @DIR@/marks/after_free'" }
}
"#,
    );
    let out = repo.run(&["fail.batchflow", "--jobs", "2"]).failure();
    let st = state(&repo.only_run());
    assert_eq!(task_state(&st, "broken"), "failed");
    assert_eq!(record(&st, "broken")["exit_code"], 7);
    assert_eq!(task_state(&st, "child"), "blocked");
    assert_eq!(task_state(&st, "grandchild"), "blocked");
    assert_eq!(task_state(&st, "after_free"), "succeeded");
    assert!(!repo.exists("marks/child") && !repo.exists("marks/grandchild"));
    assert_eq!(repo.count("marks/free"), 3);
    assert_eq!(repo.count("marks/after_free"), 1);
    let child = row(&out, "j/child");
    assert!(child.contains("blocked") && child.contains("broken"), "{child}");
    assert!(row(&out, "j/broken").contains("broken-on-purpose"));
    // A blocked task never ran: no task directory.
    let run = repo.only_run();
    assert!(!task_dir(&run, "cpu-node-0", "j", "child").exists());
}

#[test]
fn format_json_prints_the_summary_as_one_object_with_every_task() {
    let repo = local_repo();
    repo.workflow(
        "json.batchflow",
        r#"pool cpu {
@LINUX@
  dedicated  = 1
}
job j on cpu {
  task broken { command = "/bin/sh -c 'exit 3'" }
  task child after broken { command = "true" }
  task ok[i in 0..50] { command = "true" }
}
"#,
    );
    let out = repo.run(&["json.batchflow", "--format", "json", "--quiet"]).failure();
    let v: Value = serde_json::from_str(&out.stdout).expect("stdout is one JSON object");
    assert_eq!(v["target"], "local");
    assert_eq!(v["status"], "failed");
    assert_eq!(v["run"].as_str(), repo.only_run().file_name().and_then(|n| n.to_str()));
    assert_eq!(
        (
            &v["counts"]["total"],
            &v["counts"]["succeeded"],
            &v["counts"]["failed"],
            &v["counts"]["blocked"]
        ),
        (&json!(52), &json!(50), &json!(1), &json!(1))
    );
    // Every task, not only the table's first rows.
    let tasks = v["tasks"].as_array().expect("tasks");
    assert_eq!(tasks.len(), 52);
    let of = |id: &str| tasks.iter().find(|t| t["task"] == id).cloned().unwrap_or_default();
    let broken = of("broken");
    assert_eq!(
        (&broken["job"], &broken["state"], &broken["exit_code"]),
        (&json!("j"), &json!("failed"), &json!(3))
    );
    assert!(
        broken["output"].as_str().is_some_and(|p| p.ends_with("broken")),
        "{broken}"
    );
    assert_eq!(of("child")["state"], "blocked");
    assert!(of("ok-7")["duration_ms"].is_u64());
}

#[test]
fn jobs_start_after_the_jobs_they_come_after_and_are_blocked_after_a_failed_one() {
    let repo = local_repo();
    repo.workflow(
        "jobs.batchflow",
        r#"pool cpu {
@LINUX@
  dedicated  = 1
  task_slots = 4
}
# Declared before the job it comes after.
job load on cpu {
  after = extract
  task l { command = "/bin/sh -c 'test -f @DIR@/marks/extract.done && echo ran >> @DIR@/marks/load'" }
}
job extract on cpu {
  task e[i in 0..2] { command = "/bin/sh -c 'sleep 0.3; touch @DIR@/marks/extract.done'" }
}
job shaky on cpu {
  task s { command = "/bin/sh -c 'exit 1'" }
  task fine { command = "/bin/sh -c 'echo ran >> @DIR@/marks/fine'" }
}
job report on cpu {
  after = [shaky, load]
  task r { command = "/bin/sh -c 'echo ran >> @DIR@/marks/report'" }
}
"#,
    );
    let out = repo.run(&["jobs.batchflow", "--jobs", "4"]).failure();
    let st = state(&repo.only_run());
    assert_eq!(task_state(&st, "l"), "succeeded", "{st}");
    assert_eq!(repo.count("marks/load"), 1);
    assert_eq!(repo.count("marks/fine"), 1);
    assert_eq!(task_state(&st, "r"), "blocked", "{st}");
    assert!(!repo.exists("marks/report"));
    let r = row(&out, "report/r");
    assert!(r.contains("blocked") && r.contains("shaky"), "{r}");
}

#[test]
fn retries_run_a_failed_task_again() {
    let repo = local_repo();
    repo.workflow(
        "retries.batchflow",
        r#"pool cpu {
@LINUX@
  dedicated = 1
}
job j on cpu {
  task third_time_lucky {
    command = "/bin/sh -c 'echo $AZ_BATCH_TASK_RETRY_COUNT >> @DIR@/marks/lucky; test $(wc -l < @DIR@/marks/lucky) -ge 3'"
    retries = 5
  }
  task never {
    command = "/bin/sh -c 'echo try >> @DIR@/marks/never; exit 2'"
    retries = 1
  }
  task once { command = "/bin/sh -c 'echo try >> @DIR@/marks/once; exit 2'" }
}
"#,
    );
    repo.run(&["retries.batchflow", "--jobs", "1"]).failure();
    assert_eq!(repo.read("marks/lucky"), "0\n1\n2\n", "three attempts, numbered");
    assert_eq!(repo.count("marks/never"), 2, "one try and one retry");
    assert_eq!(repo.count("marks/once"), 1, "no retries by default");
    let st = state(&repo.only_run());
    assert_eq!(task_state(&st, "third_time_lucky"), "succeeded");
    assert_eq!(record(&st, "third_time_lucky")["attempts"], 3);
    assert_eq!(task_state(&st, "never"), "failed");
    assert_eq!(record(&st, "never")["attempts"], 2);
}

/// Whether a process id is a live (not zombie) process.
fn alive(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/status")) {
        Err(_) => false,
        Ok(status) => status
            .lines()
            .find(|l| l.starts_with("State:"))
            .is_some_and(|l| !l.contains('Z') && !l.contains('X')),
    }
}

#[test]
fn a_timeout_kills_the_task_and_its_children() {
    let repo = local_repo();
    repo.workflow(
        "timeout.batchflow",
        r#"pool cpu {
@LINUX@
  dedicated = 1
}
job j on cpu {
  task slow {
    command = "sh -c 'sleep 30 & echo $! > @DIR@/marks/child.pid; wait'"
    timeout = 1s
  }
  task after_slow after slow { command = "/bin/sh -c 'echo ran >> @DIR@/marks/after'" }
}
"#,
    );
    let began = Instant::now();
    let out = repo.run(&["timeout.batchflow", "--jobs", "1"]).failure();
    let took = began.elapsed();
    assert!(took < Duration::from_secs(20), "the run took {took:?}");
    let pid = repo.read("marks/child.pid").trim().to_string();
    let deadline = Instant::now() + Duration::from_secs(3);
    while alive(&pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!alive(&pid), "the task's child {pid} outlived the timeout");
    let st = state(&repo.only_run());
    assert_eq!(task_state(&st, "slow"), "failed");
    assert_eq!(task_state(&st, "after_slow"), "blocked");
    let r = row(&out, "j/slow");
    assert!(r.contains("timed out"), "{r}");
}

#[test]
fn the_why_column_shows_the_last_line_of_stderr() {
    let repo = local_repo();
    repo.workflow(
        "tail.batchflow",
        r#"pool cpu {
@LINUX@
  dedicated = 1
}
job j on cpu {
  task t { command = "/bin/sh -c \"for i in 1 2 3 4 5 6 7; do echo progress-$i >&2; done; echo 'FATAL: bad input' >&2; exit 1\"" }
}
"#,
    );
    let out = repo.run(&["tail.batchflow", "--quiet"]).failure();
    let r = row(&out, "j/t");
    assert!(r.contains("FATAL: bad input"), "{r}");
}

// ---------------------------------------------------------------------------------------
// Containers
// ---------------------------------------------------------------------------------------

/// A stand-in for docker: answers `info` (its daemon is up), records its tag and its arguments
/// (one per line) under `@DIR@/used/<task>` and `@DIR@/argv/<task>`, then runs what follows
/// the image on the host.
fn fake_cli(repo: &Repo, name: &str, tag: &str) -> PathBuf {
    repo.script(
        name,
        &r#"#!/bin/sh
if [ "$1" = info ]; then exit 0; fi
echo TAG > "@DIR@/used/$AZ_BATCH_TASK_ID"
out="@DIR@/argv/$AZ_BATCH_TASK_ID"
: > "$out"
for a in "$@"; do printf '%s\n' "$a" >> "$out"; done
while [ $# -gt 0 ]; do
  if [ "$1" = "@IMAGE@" ]; then shift; break; fi
  shift
done
if [ $# -eq 0 ]; then exit 0; fi
exec "$@"
"#
        .replace("TAG", tag),
    )
}

const CONTAINER_WORKFLOW: &str = r#"workflow "boxes"
pool gpu {
@CONTAINER_HOST@
  dedicated = 1
  containers { images = ["@IMAGE@"] }
}
job j on gpu {
  env { JOBVAR = "jv" }
  task box {
    container   = "@IMAGE@"
    run_options = "--memory 2g --label 'a b'"
    command     = "/bin/sh -c 'echo $TASKVAR > out.txt'"
    env { TASKVAR = "tv" }
  }
}
"#;

fn argv(repo: &Repo, task: &str) -> Vec<String> {
    repo.read(format!("argv/{task}")).lines().map(String::from).collect()
}

#[test]
fn container_tasks_run_through_the_cli_with_batchs_arguments() {
    let repo = local_repo();
    let cli = fake_cli(&repo, "bin/fake-docker", "fake");
    let file = repo.workflow("boxes.batchflow", CONTAINER_WORKFLOW);
    repo.run(&[
        file.to_str().expect("utf-8"),
        "--container-cli",
        cli.to_str().expect("utf-8"),
        "--jobs",
        "1",
    ])
    .success();
    let run = repo.only_run();
    let run_id = run.file_name().expect("name").to_string_lossy().into_owned();
    let node_root = run.join("nodes/gpu-node-0").display().to_string();
    let dir = task_dir(&run, "gpu-node-0", "j", "box");
    let wd = dir.join("wd").display().to_string();
    let args = argv(&repo, "box");
    let head = [
        "run".to_string(),
        "--rm".into(),
        "--name".into(),
        format!("batchflow-{run_id}-gpu-node-0-box"),
        "--volume".into(),
        format!("{node_root}:{node_root}"),
        "--workdir".into(),
        wd,
    ];
    assert_eq!(args[..head.len()], head, "{args:#?}");
    let mut i = head.len();
    let mut names = Vec::new();
    while args.get(i).is_some_and(|a| a == "--env") {
        names.push(args[i + 1].clone());
        i += 2;
    }
    for name in [
        "AZ_BATCH_NODE_ROOT_DIR",
        "AZ_BATCH_NODE_SHARED_DIR",
        "AZ_BATCH_NODE_STARTUP_DIR",
        "AZ_BATCH_TASK_WORKING_DIR",
        "AZ_BATCH_TASK_DIR",
        "AZ_BATCH_JOB_ID",
        "AZ_BATCH_TASK_ID",
        "AZ_BATCH_POOL_ID",
        "AZ_BATCH_NODE_ID",
        "AZ_BATCH_ACCOUNT_NAME",
        "JOBVAR",
        "TASKVAR",
    ] {
        assert!(names.iter().any(|n| n == name), "no --env {name}: {args:#?}");
    }
    // Names only: the values come from the CLI's environment.
    assert!(names.iter().all(|n| !n.contains('=')), "{names:?}");
    assert_eq!(
        args[i..],
        [
            "--memory",
            "2g",
            "--label",
            "a b",
            IMAGE,
            "/bin/sh",
            "-c",
            "echo $TASKVAR > out.txt"
        ],
        "{args:#?}"
    );
    // The command ran in the task's working directory with the task's variables.
    assert_eq!(
        std::fs::read_to_string(dir.join("wd/out.txt")).expect("out.txt").trim(),
        "tv"
    );
}

#[test]
fn run_options_workdir_replaces_batchflows_and_no_command_keeps_the_entrypoint() {
    let repo = local_repo();
    let cli = fake_cli(&repo, "bin/fake-docker", "fake");
    repo.workflow(
        "entry.batchflow",
        r#"pool gpu {
@CONTAINER_HOST@
  dedicated = 1
  containers { images = ["@IMAGE@"] }
}
job j on gpu {
  task long_form {
    container   = "@IMAGE@"
    run_options = "--workdir /app"
  }
  task short_form {
    container   = "@IMAGE@"
    run_options = "-w /app"
    command     = ""
  }
  task equals_form {
    container   = "@IMAGE@"
    run_options = "--workdir=/app --rm"
  }
}
"#,
    );
    repo.run(&[
        "entry.batchflow",
        "--container-cli",
        cli.to_str().expect("utf-8"),
        "--jobs",
        "1",
    ])
    .success();
    let run = repo.only_run();
    let run_id = run.file_name().expect("name").to_string_lossy().into_owned();
    let node_root = run.join("nodes/gpu-node-0").display().to_string();
    for (task, options) in [
        ("long_form", vec!["--workdir", "/app"]),
        ("short_form", vec!["-w", "/app"]),
        ("equals_form", vec!["--workdir=/app", "--rm"]),
    ] {
        let args = argv(&repo, task);
        let head = [
            "run".to_string(),
            "--rm".into(),
            "--name".into(),
            format!("batchflow-{run_id}-gpu-node-0-{task}"),
            "--volume".into(),
            format!("{node_root}:{node_root}"),
        ];
        assert_eq!(args[..head.len()], head, "{task}: {args:#?}");
        let mut i = head.len();
        while args.get(i).is_some_and(|a| a == "--env") {
            i += 2;
        }
        // No `--workdir <task wd>`: the run options' own, then the image, and nothing after.
        let mut tail: Vec<&str> = options.clone();
        tail.push(IMAGE);
        assert_eq!(args[i..], tail, "{task}: {args:#?}");
        assert!(!args.iter().any(|a| a.ends_with("/wd")), "{task}: {args:#?}");
    }
}

#[test]
fn the_container_cli_is_the_flag_then_the_variable_then_docker_then_podman() {
    let repo = local_repo();
    fake_cli(&repo, "both/docker", "docker");
    fake_cli(&repo, "both/podman", "podman");
    fake_cli(&repo, "only-podman/podman", "podman");
    let by_var = fake_cli(&repo, "clis/by-var", "by-var");
    let by_flag = fake_cli(&repo, "clis/by-flag", "by-flag");
    let file = repo.workflow("boxes.batchflow", CONTAINER_WORKFLOW);
    let file = file.to_str().expect("utf-8");
    // PATH holds only the stand-ins: every command of the test uses absolute paths.
    let path = |dir: &str| repo.path().join(dir).display().to_string();
    let cases: [(&str, &str, Option<&Path>, &str); 5] = [
        ("both", "", None, "docker"),
        ("only-podman", "", None, "podman"),
        ("both", "podman", None, "podman"),
        ("both", by_var.to_str().expect("utf-8"), None, "by-var"),
        (
            "both",
            by_var.to_str().expect("utf-8"),
            Some(by_flag.as_path()),
            "by-flag",
        ),
    ];
    for (dir, var, flag, expect) in cases {
        let _ = std::fs::remove_file(repo.path().join("used/box"));
        let mut args = vec![file, "--quiet"];
        if let Some(f) = flag {
            args.extend(["--container-cli", f.to_str().expect("utf-8")]);
        }
        repo.run(&args)
            .env("PATH", path(dir))
            .env("BATCHFLOW_CONTAINER_CLI", var)
            .success();
        assert_eq!(
            repo.read("used/box").trim(),
            expect,
            "PATH={dir} var={var:?} flag={flag:?}"
        );
    }
}

#[test]
fn container_tasks_without_a_runtime_fail_before_anything_starts() {
    let repo = local_repo();
    let empty_bin = repo.mkdir("empty-bin");
    repo.workflow("boxes.batchflow", CONTAINER_WORKFLOW);
    repo.run(&["boxes.batchflow"])
        .env("PATH", empty_bin)
        .env("BATCHFLOW_CONTAINER_CLI", "")
        .stderr_contains("`box`")
        .stderr_contains("docker")
        .stderr_contains("podman")
        .stderr_contains("--container-cli")
        .stderr_contains("BATCHFLOW_CONTAINER_CLI")
        .status(2);
    let files = files_below(&repo.runs_root());
    assert!(named(&files, "stdout.txt").is_empty(), "{files:?}");
    assert!(!files
        .iter()
        .any(|f| f.components().any(|c| c.as_os_str() == "workitems")));
    // A CLI named explicitly must exist.
    repo.run(&["boxes.batchflow", "--container-cli", "/no/such/cli"])
        .stderr_contains("/no/such/cli")
        .status(2);
}

#[test]
fn a_relative_container_cli_path_is_taken_from_the_current_directory() {
    let repo = local_repo();
    fake_cli(&repo, "bin/fake-docker", "fake");
    repo.workflow("boxes.batchflow", CONTAINER_WORKFLOW);
    repo.run(&["boxes.batchflow", "--container-cli", "./bin/fake-docker", "--quiet"])
        .success();
    assert_eq!(repo.read("used/box").trim(), "fake");
}

// ---------------------------------------------------------------------------------------
// Run-time hooks
// ---------------------------------------------------------------------------------------

const HOOK_POOL: &str = r#"pool cpu {
@LINUX@
  dedicated = 1
}
"#;

const ON_COMPLETE: &str = r#"
fn on_complete(summary) {
    print(`complete: ${summary.succeeded} ok, ${summary.failed} failed, ${summary.blocked} blocked`);
}
"#;

#[test]
fn on_task_failed_retry_runs_the_task_again() {
    let repo = local_repo();
    repo.workflow(
        "retry.batchflow",
        &(HOOK_POOL.to_string()
            + r#"job j on cpu {
  task flaky { command = "/bin/sh -c 'echo try >> @DIR@/marks/flaky; test $(wc -l < @DIR@/marks/flaky) -ge 2'" }
}
"#),
    );
    repo.workflow(
        "retry.rhai",
        &(r#"
fn on_task_failed(task, result) {
    print(`failed ${task.id} with ${result.exit_code}`);
    "retry"
}
"#
        .to_string()
            + ON_COMPLETE),
    );
    let out = repo.run(&["retry.batchflow", "--jobs", "1"]).success();
    assert_eq!(repo.count("marks/flaky"), 2);
    assert!(out.stderr.contains("hook: failed flaky with 1"), "{}", show(&out));
    assert_eq!(
        out.stderr.matches("hook: complete: 1 ok, 0 failed, 0 blocked").count(),
        1,
        "{}",
        show(&out)
    );
}

#[test]
fn on_task_failed_continue_lets_dependents_run() {
    let repo = local_repo();
    repo.workflow(
        "cont.batchflow",
        &(HOOK_POOL.to_string()
            + r#"job j on cpu {
  task soft { command = "/bin/sh -c 'echo try >> @DIR@/marks/soft; exit 4'" }
  task after_soft after soft { command = "/bin/sh -c 'echo ran >> @DIR@/marks/after_soft'" }
}
"#),
    );
    repo.workflow(
        "cont.rhai",
        &(r#"
fn on_task_failed(task, result) { "continue" }
"#
        .to_string()
            + ON_COMPLETE),
    );
    // A failed task fails the run.
    let out = repo.run(&["cont.batchflow", "--jobs", "1"]).failure();
    assert_eq!(repo.count("marks/soft"), 1, "continue is not retry");
    assert_eq!(repo.count("marks/after_soft"), 1);
    let st = state(&repo.only_run());
    assert_eq!(task_state(&st, "soft"), "failed");
    assert_eq!(task_state(&st, "after_soft"), "succeeded");
    assert_eq!(
        out.stderr.matches("hook: complete: 1 ok, 1 failed, 0 blocked").count(),
        1,
        "{}",
        show(&out)
    );
}

#[test]
fn on_task_failed_abort_stops_the_run() {
    let repo = local_repo();
    repo.workflow(
        "abort.batchflow",
        &(HOOK_POOL.to_string()
            + r#"job j on cpu {
  task fatal { command = "/bin/sh -c 'exit 5'" }
  task later[i in 0..3] { command = "/bin/sh -c 'echo ran >> @DIR@/marks/later'" }
}
job next on cpu {
  task n { command = "/bin/sh -c 'echo ran >> @DIR@/marks/next'" }
}
"#),
    );
    repo.workflow(
        "abort.rhai",
        &(r#"
fn on_task_failed(task, result) { "abort" }
"#
        .to_string()
            + ON_COMPLETE),
    );
    let out = repo.run(&["abort.batchflow", "--jobs", "1"]).failure();
    assert!(
        !repo.exists("marks/later") && !repo.exists("marks/next"),
        "{}",
        show(&out)
    );
    let st = state(&repo.only_run());
    assert_eq!(task_state(&st, "fatal"), "failed");
    for t in ["later-0", "later-1", "later-2", "n"] {
        assert_eq!(task_state(&st, t), "blocked", "{t}: {st}");
    }
    assert!(out.stderr.contains("abort"), "{}", show(&out));
    assert_eq!(
        out.stderr.matches("hook: complete: 0 ok, 1 failed, 4 blocked").count(),
        1,
        "{}",
        show(&out)
    );
}

// ---------------------------------------------------------------------------------------
// Progress, summary, state, resume, runs, logs
// ---------------------------------------------------------------------------------------

const TWO_TASKS: &str = r#"workflow "pair"
pool cpu {
@LINUX@
  dedicated = 1
}
job j on cpu {
  task good { command = "/bin/sh -c 'echo good-out; echo good-err >&2'" }
  task bad { command = "/bin/sh -c 'echo bad-out; echo bad-err >&2; exit 3'" }
}
"#;

#[test]
fn progress_is_plain_lines_on_stderr_and_quiet_prints_none() {
    let repo = local_repo();
    let file = repo.workflow("pair.batchflow", TWO_TASKS);
    let file = file.to_str().expect("utf-8");
    let out = repo.run(&[file, "--jobs", "1"]).failure();
    assert!(out.stderr.contains("run `pair-"), "{}", show(&out));
    assert!(out.stderr.contains("2/2 done"), "{}", show(&out));
    assert!(
        !out.stderr.contains('\r') && !out.stderr.contains('\u{1b}'),
        "not a terminal, no bar: {:?}",
        out.stderr
    );
    let quiet = repo.run(&[file, "--jobs", "1", "--quiet"]).failure();
    assert!(!quiet.stderr.contains("run `pair-"), "{}", show(&quiet));
    assert!(!quiet.stderr.contains("done:"), "{}", show(&quiet));
    // The summary is on stdout either way.
    for o in [&out, &quiet] {
        assert!(o.stdout.starts_with("task "), "{}", show(o));
        assert!(
            o.stdout.contains("2 tasks: 1 succeeded, 1 failed, 0 blocked"),
            "{}",
            show(o)
        );
    }
}

#[test]
fn the_summary_table_is_on_stdout_and_the_exit_code_says_whether_all_succeeded() {
    let repo = local_repo();
    let file = repo.workflow("pair.batchflow", TWO_TASKS);
    let out = repo
        .run(&[file.to_str().expect("utf-8"), "--jobs", "1", "--quiet"])
        .failure();
    let header = out.stdout.lines().next().expect("header");
    let columns: Vec<&str> = header.split_whitespace().collect();
    assert_eq!(columns, ["task", "state", "exit", "time", "why", "output"]);
    let run = repo.only_run();
    let rel = |task: &str| {
        task_dir(&run, "cpu-node-0", "j", task)
            .strip_prefix(repo.path())
            .expect("inside the repo")
            .display()
            .to_string()
    };
    let good: Vec<&str> = row(&out, "j/good").split_whitespace().collect();
    assert_eq!(good[..3], ["j/good", "succeeded", "0"], "{good:?}");
    assert!(good[3].ends_with('s'), "a time: {good:?}");
    // A task that succeeded has no reason ("-"); the output path is the last column.
    assert_eq!(good[4], "-");
    assert_eq!(good.last().copied(), Some(rel("good").as_str()));
    let bad = row(&out, "j/bad");
    let cells: Vec<&str> = bad.split_whitespace().collect();
    assert_eq!(cells[..3], ["j/bad", "failed", "3"], "{bad}");
    assert_eq!(cells.last().copied(), Some(rel("bad").as_str()));
    assert!(bad.contains("bad-err"), "{bad}");
    assert!(
        out.stdout.contains("2 tasks: 1 succeeded, 1 failed, 0 blocked"),
        "{}",
        out.stdout
    );
    // Each task's output is in its task directory.
    let dir = task_dir(&run, "cpu-node-0", "j", "good");
    assert_eq!(
        std::fs::read_to_string(dir.join("stdout.txt")).expect("stdout").trim(),
        "good-out"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("stderr.txt")).expect("stderr").trim(),
        "good-err"
    );

    let all_good = repo.workflow(
        "good.batchflow",
        &TWO_TASKS.replace("; exit 3", "").replace("\"pair\"", "\"allgood\""),
    );
    let out = repo.run(&[all_good.to_str().expect("utf-8"), "--quiet"]).success();
    assert!(
        out.stdout.contains("2 tasks: 2 succeeded, 0 failed, 0 blocked"),
        "{}",
        out.stdout
    );
}

#[test]
fn state_json_records_the_run() {
    let repo = local_repo();
    let file = repo.workflow("pair.batchflow", TWO_TASKS);
    repo.run(&[file.to_str().expect("utf-8"), "--jobs", "1", "--quiet"])
        .failure();
    let run = repo.only_run();
    let st = state(&run);
    assert_eq!(st["status"], "failed");
    assert_eq!(st["run_id"].as_str(), run.file_name().and_then(|n| n.to_str()));
    assert_eq!(st["workflow"], "pair");
    assert_eq!(task_state(&st, "good"), "succeeded");
    assert_eq!(record(&st, "good")["exit_code"], 0);
    assert_eq!(record(&st, "good")["node"], "cpu-node-0");
    assert_eq!(task_state(&st, "bad"), "failed");
    assert_eq!(record(&st, "bad")["exit_code"], 3);
    assert!(run.join("plan.json").is_file());

    let good = repo.workflow(
        "good.batchflow",
        &TWO_TASKS.replace("; exit 3", "").replace("\"pair\"", "\"allgood\""),
    );
    repo.run(&[good.to_str().expect("utf-8"), "--quiet"]).success();
    let newest = repo
        .run_dirs()
        .into_iter()
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("allgood-"))
        })
        .expect("the second run");
    assert_eq!(state(&newest)["status"], "succeeded");
}

const RESUMABLE: &str = r#"workflow "resumable"
pool cpu {
@LINUX@
  dedicated  = 1
  task_slots = 2
}
job j on cpu {
  task steady { command = "/bin/sh -c 'echo run >> @DIR@/marks/steady'" }
  task flaky { command = "/bin/sh -c 'echo run >> @DIR@/marks/flaky; test -f @DIR@/marks/go'" }
  task after_flaky after flaky { command = "/bin/sh -c 'echo run >> @DIR@/marks/after_flaky'" }
}
job k on cpu {
  after = j
  task next { command = "/bin/sh -c 'echo run >> @DIR@/marks/next'" }
}
"#;

#[test]
fn resume_runs_again_only_what_did_not_succeed() {
    let repo = local_repo();
    let file = repo.workflow("resumable.batchflow", RESUMABLE);
    repo.run(&[file.to_str().expect("utf-8"), "--jobs", "2", "--quiet"])
        .failure();
    let run = repo.only_run();
    let st = state(&run);
    assert_eq!(task_state(&st, "flaky"), "failed");
    assert_eq!(task_state(&st, "after_flaky"), "blocked");
    assert_eq!(task_state(&st, "next"), "blocked");
    assert_eq!(repo.count("marks/steady"), 1);

    std::fs::write(repo.path().join("marks/go"), "").expect("go");
    let out = repo.run(&["--resume", "--quiet"]).success();
    assert_eq!(repo.only_run(), run, "resuming continues the same run");
    assert_eq!(repo.count("marks/steady"), 1, "a succeeded task ran again");
    assert_eq!(repo.count("marks/flaky"), 2);
    assert_eq!(repo.count("marks/after_flaky"), 1);
    assert_eq!(repo.count("marks/next"), 1);
    let st = state(&run);
    assert_eq!(st["status"], "succeeded");
    for t in ["steady", "flaky", "after_flaky", "next"] {
        assert_eq!(task_state(&st, t), "succeeded", "{t}");
    }
    assert!(
        out.stdout.contains("4 tasks: 4 succeeded, 0 failed, 0 blocked"),
        "{}",
        out.stdout
    );

    // Resuming a finished run by its id runs nothing again.
    let id = run.file_name().expect("name").to_string_lossy().into_owned();
    repo.run(&["--resume", &id, "--quiet"]).success();
    assert_eq!(repo.count("marks/steady"), 1);
    assert_eq!(repo.count("marks/flaky"), 2);
}

#[test]
fn an_interrupted_run_exits_130_and_resumes_where_it_stopped() {
    let repo = local_repo();
    repo.workflow(
        "intr.batchflow",
        r#"workflow "intr"
pool cpu {
@LINUX@
  dedicated  = 1
  task_slots = 2
}
job j on cpu {
  task quick { command = "/bin/sh -c 'echo run >> @DIR@/marks/quick'" }
  task slow { command = "/bin/sh -c 'echo run >> @DIR@/marks/slow; while [ ! -f @DIR@/marks/go ]; do sleep 0.1; done'" }
}
"#,
    );
    let mut child = repo
        .run(&["intr.batchflow", "--jobs", "2", "--quiet"])
        .command()
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("batchflow starts");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(repo.exists("marks/slow") && repo.exists("marks/quick")) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(repo.exists("marks/slow"), "the slow task never started");
    // Let the quick task's end reach the run loop.
    std::thread::sleep(Duration::from_millis(300));
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if Instant::now() > deadline {
            // Let the task end so nothing is left behind, then fail.
            let _ = std::fs::write(repo.path().join("marks/go"), "");
            let _ = child.wait();
            panic!("batchflow did not stop on SIGINT");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(130));
    let run = repo.only_run();
    let st = state(&run);
    assert_eq!(st["status"], "interrupted", "{st}");
    assert_eq!(task_state(&st, "quick"), "succeeded", "{st}");

    std::fs::write(repo.path().join("marks/go"), "").expect("go");
    repo.run(&["--resume", "--quiet"]).success();
    assert_eq!(repo.count("marks/quick"), 1, "quick ran again");
    assert_eq!(repo.count("marks/slow"), 2);
    assert_eq!(state(&run)["status"], "succeeded");
}

#[test]
fn runs_lists_runs_and_logs_prints_a_tasks_output() {
    let repo = local_repo();
    let file = repo.workflow("pair.batchflow", TWO_TASKS);
    repo.run(&[file.to_str().expect("utf-8"), "--jobs", "1", "--quiet"])
        .failure();
    let run = repo.only_run();
    let id = run.file_name().expect("name").to_string_lossy().into_owned();

    let runs = repo.test().args(["runs"]).success();
    let line = runs
        .stdout
        .lines()
        .find(|l| l.starts_with(&id))
        .unwrap_or_else(|| panic!("{id} is not listed:\n{}", runs.stdout));
    let cells: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        cells,
        [id.as_str(), "failed", "2", "1", "0", "1", "0", "0", "pair", "local"]
    );

    let logs = |args: &[&str]| repo.test().arg("logs").args(args);
    for which in [id.as_str(), "latest", &id[..id.len() - 3]] {
        logs(&[which, "good"]).stdout("good-out\n").success();
    }
    logs(&["latest", "bad", "--stderr"]).stdout("bad-err\n").success();
    logs(&["latest", "j/bad"]).stdout("bad-out\n").run();
    // A suggestion.
    logs(&["latest", "godo"]).stderr_contains("good").status(2);
    logs(&["no-such-run", "good"]).status(2);
}

#[test]
fn latest_is_the_run_started_last() {
    let repo = local_repo();
    for name in ["zeta", "alpha"] {
        repo.workflow(
            &format!("{name}.batchflow"),
            &format!(
                "workflow \"{name}\"\npool cpu {{\n@LINUX@\n  dedicated = 1\n}}\njob j on cpu {{\n  task t {{ command = \"echo from-{name}\" }}\n}}\n"
            ),
        );
    }
    // Two runs in a row usually start in the same second; try until they do.
    for _ in 0..5 {
        let _ = std::fs::remove_dir_all(repo.runs_root());
        repo.run(&["zeta.batchflow", "--quiet"]).success();
        repo.run(&["alpha.batchflow", "--quiet"]).success();
        let started: Vec<Value> = repo.run_dirs().iter().map(|r| state(r)["started"].clone()).collect();
        if started[0] == started[1] {
            repo.test().args(["logs", "latest", "t"]).stdout("from-alpha\n").run();
            return;
        }
    }
    panic!("could not start two runs in the same second");
}

// ---------------------------------------------------------------------------------------
// Examples, bad input, secrets, Windows
// ---------------------------------------------------------------------------------------

#[test]
fn the_hello_example_runs() {
    let repo = local_repo();
    repo.write(
        "hello.batchflow",
        std::fs::read(root().join("examples/hello.batchflow")).expect("the example"),
    );
    let out = repo.run(&["hello.batchflow", "--jobs", "2"]).success();
    assert!(
        out.stdout.contains("5 tasks: 5 succeeded, 0 failed, 0 blocked"),
        "{}",
        out.stdout
    );
    let logs = repo.test().args(["logs", "latest", "gather"]).success();
    let lines: Vec<&str> = logs.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", logs.stdout);
    assert!(lines[0].starts_with("hello from greet-0"), "{}", logs.stdout);
}

/// `/usr/bin/time -f %M` when it is GNU time.
fn gnu_time() -> Option<&'static str> {
    let ok = std::process::Command::new("/usr/bin/time")
        .args(["-f", "%M", "true"])
        .output()
        .ok()
        .is_some_and(|o| o.status.success() && String::from_utf8_lossy(&o.stderr).trim().parse::<u64>().is_ok());
    ok.then_some("/usr/bin/time")
}

#[test]
fn a_task_printing_200_mb_does_not_fill_batchflows_memory() {
    let repo = local_repo();
    let file = repo.workflow(
        "loud.batchflow",
        r#"pool cpu {
@LINUX@
  dedicated = 1
}
job j on cpu {
  task loud { command = "head -c 200000000 /dev/zero" }
}
"#,
    );
    let file = file.to_str().expect("utf-8");
    match gnu_time() {
        Some(time) => {
            let rss_file = repo.path().join("rss.txt");
            repo.run(&[file, "--quiet"])
                .wrapper([
                    time.as_ref(),
                    "-f".as_ref(),
                    "%M".as_ref(),
                    "-o".as_ref(),
                    rss_file.as_os_str(),
                ])
                .success();
            let kib: u64 = std::fs::read_to_string(&rss_file)
                .expect("rss")
                .lines()
                .last()
                .and_then(|l| l.trim().parse().ok())
                .expect("a number of KiB");
            assert!(kib < 100 * 1024, "batchflow peaked at {kib} KiB");
        }
        None => {
            repo.run(&[file, "--quiet"]).success();
        }
    }
    let out = task_dir(&repo.only_run(), "cpu-node-0", "j", "loud").join("stdout.txt");
    assert_eq!(std::fs::metadata(&out).expect("stdout.txt").len(), 200_000_000);
}

const SECRETIVE: &str = r#"workflow "secretive"
pool cpu {
@LINUX@
  dedicated = 1
}
job j on cpu {
  task use {
    command = "/bin/sh -c 'printf %s \"$API_TOKEN\" > @DIR@/marks/token'"
    env { API_TOKEN = secret("BF_RUN_TEST_TOKEN_Q7") }
  }
}
"#;

#[test]
fn a_missing_secret_stops_the_run_before_it_starts() {
    let repo = local_repo();
    let file = repo.workflow("secretive.batchflow", SECRETIVE);
    repo.run(&[file.to_str().expect("utf-8")])
        .stderr_contains("BF_RUN_TEST_TOKEN_Q7")
        .status(2);
    assert!(!repo.exists("marks/token"));
    assert!(named(&files_below(&repo.runs_root()), "stdout.txt").is_empty());
}

#[test]
fn a_secret_reaches_its_task_but_never_the_run_folder() {
    let repo = local_repo();
    let file = repo.workflow("secretive.batchflow", SECRETIVE);
    let value = "hunter2-s3cr3t-value";
    let out = repo
        .run(&[file.to_str().expect("utf-8")])
        .env("BF_RUN_TEST_TOKEN_Q7", value)
        .success();
    assert_eq!(repo.read("marks/token"), value);
    assert!(!out.stdout.contains(value) && !out.stderr.contains(value));
    let run = repo.only_run();
    assert!(run.join("state.json").is_file() && run.join("plan.json").is_file());
    for f in files_below(&run) {
        let bytes = std::fs::read(&f).expect("read");
        assert!(
            !String::from_utf8_lossy(&bytes).contains(value),
            "the secret is in {}",
            f.display()
        );
    }
    assert!(std::fs::read_to_string(run.join("plan.json"))
        .expect("plan")
        .contains("<secret:BF_RUN_TEST_TOKEN_Q7>"));
}

#[test]
fn windows_pools_are_refused_before_start() {
    let repo = local_repo();
    repo.workflow(
        "win.batchflow",
        r#"pool win {
  vm_size    = "Standard_D2s_v5"
  image      = marketplace("MicrosoftWindowsServer", "windowsserver2022", "2022-datacenter")
  node_agent = "batch.node.windows amd64"
  dedicated  = 1
}
job j on win {
  task t { command = "cmd /c echo hi" }
}
"#,
    );
    let out = repo.run(&["win.batchflow"]).status(2);
    assert!(
        out.stderr.contains("`win`") && out.stderr.contains("Windows"),
        "{}",
        show(&out)
    );
    assert!(named(&files_below(&repo.runs_root()), "stdout.txt").is_empty());
}

/// A file server on 127.0.0.1 for `inputs`: `/in.txt` is a file, anything else is 404. It
/// records each request's path and query.
fn file_server() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("bind 127.0.0.1");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(&stream);
            let mut first = String::new();
            if reader.read_line(&mut first).is_err() {
                continue;
            }
            // The headers, up to the blank line.
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let target = first.split_whitespace().nth(1).unwrap_or("").to_string();
            log.lock().unwrap_or_else(|e| e.into_inner()).push(target.clone());
            let reply = if target.starts_with("/in.txt") {
                "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: close\r\n\r\nhello input\n".to_string()
            } else {
                "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string()
            };
            let _ = (&stream).write_all(reply.as_bytes());
        }
    });
    (url, seen)
}

#[test]
fn inputs_are_downloaded_into_the_working_directory_before_the_task() {
    let (url, seen) = file_server();
    let repo = local_repo();
    repo.workflow(
        "inputs.batchflow",
        &r#"pool cpu {
@LINUX@
  dedicated = 1
}
job j on cpu {
  task use {
    command = "cat data/in.txt"
    inputs { "data/in.txt" = "@URL@/in.txt?${secret("SAS")}" }
  }
  task after_use after use { command = "true" }
  task missing {
    command = "echo should-not-run"
    inputs { "x.txt" = "@URL@/nope.txt?${secret("SAS")}" }
  }
  task blocked after missing { command = "true" }
}
"#
        .replace("@URL@", &url),
    );
    let out = repo
        .run(&["inputs.batchflow", "--quiet"])
        .env("SAS", "sig=the-secret")
        .failure();
    repo.test()
        .args(["logs", "latest", "use"])
        .stdout("hello input\n")
        .run();
    let st = state(&repo.only_run());
    assert_eq!(task_state(&st, "after_use"), "succeeded");
    assert_eq!(task_state(&st, "missing"), "failed");
    assert_eq!(task_state(&st, "blocked"), "blocked");
    let reason = record(&st, "missing")["reason"].as_str().unwrap_or("").to_string();
    assert!(
        reason.contains(&format!(
            "cannot download input `x.txt` from {url}/nope.txt?…: HTTP 404"
        )),
        "{reason}"
    );
    // The secret went to the server, and nowhere else.
    let seen = seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert!(seen.contains(&"/in.txt?sig=the-secret".to_string()), "{seen:?}");
    assert!(!out.stdout.contains("the-secret") && !out.stderr.contains("the-secret"));
    let state_text = std::fs::read_to_string(repo.only_run().join("state.json")).expect("state");
    assert!(!state_text.contains("the-secret"));
}

#[test]
fn a_whole_container_as_input_is_refused_before_a_local_run_starts() {
    let repo = local_repo();
    repo.workflow(
        "container-input.batchflow",
        r#"pool cpu {
@LINUX@
  dedicated = 1
}
job j on cpu {
  task t {
    command = "ls data"
    inputs { "data" = "https://acct.blob.core.windows.net/inputs" }
  }
}
"#,
    );
    let out = repo.run(&["container-input.batchflow"]).status(2);
    assert!(
        out.stderr
            .contains("task `t` take a whole blob container as input (`storageContainerUrl`)"),
        "{}",
        out.stderr
    );
    assert!(repo.run_dirs().is_empty());
}
