//! The task cache on this machine: an unchanged second run runs nothing with outputs and says
//! `cached`; a changed input reruns exactly what is downstream of it; outputs that are gone
//! are brought back, or their task runs; `--no-cache`, an unreadable index, and `plan`'s
//! marks. Whether a task ran is judged from a file it appends to outside the run folders.

use crate::support::{Output, Repo};
use serde_json::Value;

const WORKFLOW: &str = r#"workflow "cached"

param samples: list<string> = ["a", "b", "c"]

pool cpu {
  vm_size    = "Standard_D2s_v5"
  image      = marketplace("Canonical", "ubuntu-24_04-lts", "server")
  node_agent = "batch.node.ubuntu 24.04"
  dedicated  = 1
  task_slots = 4
}

job j on cpu {
  env { OUT = "OUTDIR" }

  task up[s in samples] {
    command = "/bin/sh -c 'echo ran >> $OUT/up-${s}; tr a-z A-Z < in.txt > up.txt'"
    inputs  { "in.txt" = "data/${s}.txt" }
    outputs { "up.txt" = "results/${s}.txt" }
  }

  task all after up {
    command = "/bin/sh -c 'echo ran >> $OUT/all; echo merged > all.txt'"
    outputs { "all.txt" = "results/all.txt" }
  }

}

job side on cpu {
  env { OUT = "OUTDIR" }

  task quiet {
    command = "/bin/sh -c 'echo ran >> $OUT/quiet'"
  }
}

job report on cpu {
  after = j
  env { OUT = "OUTDIR" }

  task r {
    command = "/bin/sh -c 'echo ran >> $OUT/r; echo done > r.txt'"
    outputs { "r.txt" = "results/r.txt" }
  }
}
"#;

fn repo() -> Repo {
    let repo = Repo::new();
    let out = repo.mkdir("out");
    repo.write("w.batchflow", WORKFLOW.replace("OUTDIR", &out.display().to_string()));
    for s in ["a", "b", "c"] {
        repo.write(format!("data/{s}.txt"), format!("sample {s}\n"));
    }
    repo
}

/// How many times each task ran.
fn times(repo: &Repo, name: &str) -> usize {
    std::fs::read_to_string(repo.path().join("out").join(name)).map_or(0, |t| t.lines().count())
}

fn run(repo: &Repo, extra: &[&str]) -> (Value, Output) {
    let out = repo
        .test()
        .args(["run", "w.batchflow", "--format", "json"])
        .args(extra)
        .success();
    (serde_json::from_str(&out.stdout).expect("summary JSON"), out)
}

/// Each task's state in a summary, as `JOB/TASK=STATE`, sorted.
fn states(summary: &Value) -> Vec<String> {
    let mut out: Vec<String> = summary["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| {
            format!(
                "{}/{}={}",
                t["job"].as_str().unwrap_or(""),
                t["task"].as_str().unwrap_or(""),
                t["state"].as_str().unwrap_or("")
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn an_unchanged_second_run_takes_every_task_with_outputs_from_the_cache() {
    let repo = repo();
    let (first, _) = run(&repo, &[]);
    assert_eq!(first["counts"]["cached"], 0);
    let (second, out) = run(&repo, &[]);
    assert_eq!(
        states(&second),
        [
            "j/all=cached",
            "j/up-0=cached",
            "j/up-1=cached",
            "j/up-2=cached",
            "report/r=cached",
            "side/quiet=succeeded"
        ],
        "{}",
        out.stderr
    );
    assert_eq!(second["counts"]["cached"], 5);
    assert_eq!(second["counts"]["succeeded"], 6);
    for name in ["up-a", "up-b", "up-c", "all", "r"] {
        assert_eq!(times(&repo, name), 1, "{name} ran once");
    }
    assert_eq!(times(&repo, "quiet"), 2, "a task without outputs always runs");
    let first_id = first["run"].as_str().expect("run id");
    let why = second["tasks"][0]["reason"].as_str().expect("reason");
    assert_eq!(why, format!("cached: the same task succeeded in run `{first_id}`"));
    // The table says it too, and `runs` counts it.
    let table = repo.test().args(["run", "w.batchflow"]).success();
    assert!(table.stdout.contains("cached"), "{}", table.stdout);
    assert!(
        table.stdout.contains("6 tasks: 6 succeeded (5 cached)"),
        "{}",
        table.stdout
    );
    let runs: Vec<Value> =
        serde_json::from_str(&repo.test().args(["runs", "--format", "json"]).success().stdout).expect("runs JSON");
    assert_eq!(runs[0]["counts"]["cached"], 5);
    assert_eq!(runs[0]["counts"]["reused"], 0);
    let state: Value = serde_json::from_str(&repo.read(format!(
        ".batchflow/runs/{}/state.json",
        runs[0]["id"].as_str().expect("id")
    )))
    .expect("state JSON");
    let up0 = &state["tasks"].as_array().expect("tasks")[0];
    assert_eq!(
        (up0["cached"].as_bool(), up0["from"].as_str()),
        (Some(true), Some(first_id))
    );
}

#[test]
fn a_changed_input_reruns_exactly_the_tasks_downstream_of_it() {
    let repo = repo();
    run(&repo, &[]);
    repo.write("data/b.txt", "sample b, corrected\n");
    let (second, out) = run(&repo, &[]);
    assert_eq!(
        states(&second),
        [
            "j/all=succeeded",
            "j/up-0=cached",
            "j/up-1=succeeded",
            "j/up-2=cached",
            "report/r=succeeded",
            "side/quiet=succeeded"
        ],
        "{}",
        out.stderr
    );
    assert_eq!(repo.read("results/b.txt"), "SAMPLE B, CORRECTED\n");
    assert_eq!(
        (
            times(&repo, "up-a"),
            times(&repo, "up-b"),
            times(&repo, "all"),
            times(&repo, "r")
        ),
        (1, 2, 2, 2)
    );
    // The new results are what the next run takes.
    let (third, _) = run(&repo, &[]);
    assert_eq!(third["counts"]["cached"], 5);
    assert_eq!(
        third["tasks"][1]["reason"].as_str().expect("reason"),
        format!(
            "cached: the same task succeeded in run `{}`",
            second["run"].as_str().expect("id")
        )
    );
}

#[test]
fn outputs_that_are_gone_come_back_from_the_store_or_their_task_runs() {
    let repo = repo();
    run(&repo, &[]);
    std::fs::remove_file(repo.path().join("results/a.txt")).expect("removed");
    let (second, out) = run(&repo, &[]);
    assert_eq!(second["counts"]["cached"], 5, "{}", out.stderr);
    assert_eq!(repo.read("results/a.txt"), "SAMPLE A\n");
    assert!(
        out.stderr.contains("brought back 1 output file of reused tasks"),
        "{}",
        out.stderr
    );
    // Without the run folders, nothing can bring it back: `up-0` runs, and what comes after.
    repo.test().args(["clean"]).success();
    std::fs::remove_file(repo.path().join("results/a.txt")).expect("removed");
    let (third, out) = run(&repo, &[]);
    assert_eq!(
        states(&third),
        [
            "j/all=succeeded",
            "j/up-0=succeeded",
            "j/up-1=cached",
            "j/up-2=cached",
            "report/r=succeeded",
            "side/quiet=succeeded"
        ],
        "{}",
        out.stderr
    );
    assert_eq!(times(&repo, "up-a"), 2);
}

#[test]
fn no_cache_runs_everything_and_still_records() {
    let repo = repo();
    run(&repo, &[]);
    let (second, _) = run(&repo, &["--no-cache"]);
    assert_eq!(second["counts"]["cached"], 0);
    assert_eq!(times(&repo, "up-a"), 2);
    let (third, _) = run(&repo, &[]);
    assert_eq!(
        third["tasks"][0]["reason"].as_str().expect("reason"),
        format!(
            "cached: the same task succeeded in run `{}`",
            second["run"].as_str().expect("id")
        )
    );
}

#[test]
fn cache_false_runs_that_task_and_what_comes_after_it() {
    let repo = repo();
    let text = repo
        .read("w.batchflow")
        .replace("task up[s in samples] {", "task up[s in samples] {\n    cache = false");
    repo.write("w.batchflow", text);
    run(&repo, &[]);
    let (second, out) = run(&repo, &[]);
    assert_eq!(second["counts"]["cached"], 0, "{}", out.stderr);
    assert_eq!(
        (times(&repo, "up-a"), times(&repo, "all"), times(&repo, "r")),
        (2, 2, 2)
    );
}

#[test]
fn on_complete_hears_how_many_tasks_were_cached() {
    let repo = repo();
    repo.write(
        "w.rhai",
        "fn on_complete(summary) { print(`done: ${summary.succeeded} ok, ${summary.cached} cached`); }\n",
    );
    let (_, first) = run(&repo, &[]);
    assert!(first.stderr.contains("hook: done: 6 ok, 0 cached"), "{}", first.stderr);
    let (_, second) = run(&repo, &[]);
    assert!(
        second.stderr.contains("hook: done: 6 ok, 5 cached"),
        "{}",
        second.stderr
    );
}

#[test]
fn an_unreadable_index_means_run_it_and_is_rewritten() {
    let repo = repo();
    run(&repo, &[]);
    repo.write(".batchflow/cache/cached.json", "{\"format\": 1, \"entries\": [{\"key\"");
    let (second, out) = run(&repo, &[]);
    assert_eq!(second["counts"]["cached"], 0);
    assert!(
        out.stderr.contains("cannot be read") && out.stderr.contains("left out"),
        "{}",
        out.stderr
    );
    let index: Value =
        serde_json::from_str(&repo.read(".batchflow/cache/cached.json")).expect("a readable index again");
    assert_eq!(index["entries"].as_array().map(Vec::len), Some(5));
    let (third, _) = run(&repo, &[]);
    assert_eq!(third["counts"]["cached"], 5);
}

#[test]
fn a_failed_task_is_never_taken_and_what_follows_it_runs() {
    let repo = repo();
    repo.write(
        "w.batchflow",
        repo.read("w.batchflow").replace("echo merged > all.txt", "exit 3"),
    );
    let first = repo.test().args(["run", "w.batchflow", "--quiet"]).failure();
    assert!(first.stdout.contains("failed"), "{}", first.stdout);
    repo.write(
        "w.batchflow",
        repo.read("w.batchflow").replace("exit 3", "echo merged > all.txt"),
    );
    let (second, _) = run(&repo, &[]);
    assert_eq!(
        states(&second),
        [
            "j/all=succeeded",
            "j/up-0=cached",
            "j/up-1=cached",
            "j/up-2=cached",
            "report/r=succeeded",
            "side/quiet=succeeded"
        ]
    );
}

#[test]
fn a_task_after_one_without_outputs_always_runs() {
    let repo = repo();
    let text = repo
        .read("w.batchflow")
        .replace("task all after up {", "task all after up, prep {");
    repo.write(
        "w.batchflow",
        text.replace(
            "job j on cpu {",
            "job j on cpu {\n  task prep { command = \"/bin/sh -c 'echo ran >> $OUT/prep'\" }\n",
        ),
    );
    run(&repo, &[]);
    let (second, out) = run(&repo, &[]);
    let s = states(&second);
    assert!(s.contains(&"j/all=succeeded".to_string()), "{s:?}\n{}", out.stderr);
    assert!(s.contains(&"report/r=succeeded".to_string()), "{s:?}");
    assert!(s.contains(&"j/up-0=cached".to_string()), "{s:?}");
    assert_eq!(times(&repo, "prep"), 2, "`prep` has no outputs: it runs every time");
}

#[test]
fn plan_marks_what_the_cache_would_take() {
    let repo = repo();
    let before = repo.test().args(["plan", "w.batchflow"]).success();
    assert!(!before.stdout.contains("task cache"), "{}", before.stdout);
    run(&repo, &[]);
    repo.write("data/c.txt", "sample c, corrected\n");
    let text = repo.test().args(["plan", "w.batchflow"]).success();
    assert!(text.stdout.contains("task cache: 2 of 6 tasks"), "{}", text.stdout);
    assert!(text.stdout.contains("2 of 4 tasks cached: not sent"), "{}", text.stdout);
    let json: Value = serde_json::from_str(
        &repo
            .test()
            .args(["plan", "w.batchflow", "--format", "json"])
            .success()
            .stdout,
    )
    .expect("plan JSON");
    let cached: Vec<&str> = json["cached"]
        .as_array()
        .expect("cached")
        .iter()
        .filter_map(|c| c["task"].as_str())
        .collect();
    assert_eq!(cached, ["up-0", "up-1"]);
    // Unchanged: the second job has nothing to do.
    repo.write("data/c.txt", "sample c\n");
    let text = repo.test().args(["plan", "w.batchflow"]).success();
    assert!(text.stdout.contains("skipped: nothing to do"), "{}", text.stdout);
}

/// A container registry on 127.0.0.1 that answers every manifest request with `digest`, and
/// counts them.
struct Registry {
    port: u16,
    digest: std::sync::Arc<std::sync::Mutex<String>>,
    asked: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Registry {
    fn start(digest: &str) -> Registry {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let port = listener.local_addr().expect("an address").port();
        let digest = std::sync::Arc::new(std::sync::Mutex::new(digest.to_string()));
        let asked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (d, a) = (digest.clone(), asked.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut s) = stream else { continue };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && s.read(&mut byte).unwrap_or(0) == 1 {
                    head.push(byte[0]);
                }
                let request = String::from_utf8_lossy(&head).to_string();
                let reply = if request.starts_with("HEAD /v2/team/tool/manifests/1 ") {
                    a.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let digest = d.lock().map(|g| g.clone()).unwrap_or_default();
                    format!("HTTP/1.1 200 OK\r\nDocker-Content-Digest: {digest}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                } else {
                    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_string()
                };
                let _ = s.write_all(reply.as_bytes());
            }
        });
        Registry { port, digest, asked }
    }

    fn set(&self, digest: &str) {
        if let Ok(mut d) = self.digest.lock() {
            *d = digest.to_string();
        }
    }
}

#[test]
fn a_tag_that_moves_to_another_image_reruns_its_task() {
    use crate::local_repo::{local_repo, LocalRepo};
    let digest = |c: char| format!("sha256:{}", c.to_string().repeat(64));
    let registry = Registry::start(&digest('a'));
    let image = format!("127.0.0.1:{}/team/tool:1", registry.port);
    let repo = local_repo();
    repo.workflow(
        "w.batchflow",
        &r#"workflow "moving"
registry team {
  server   = "REGHOST"
  username = "bot"
  password = secret("REG_PASSWORD")
}
pool box {
@CONTAINER_HOST@
  dedicated = 1
  containers {
    images     = ["IMG"]
    registries = [team]
  }
}
job j on box {
  task t {
    container = "IMG"
    command   = "/bin/sh -c 'echo out > out.txt'"
    outputs   { "out.txt" = "results/out.txt" }
  }
}
"#
        .replace("IMG", &image)
        .replace("REGHOST", &format!("127.0.0.1:{}", registry.port)),
    );
    // A stand-in docker: each `run` is counted; the task "succeeds" without a file.
    let cli = repo.script(
        "bin/docker",
        "#!/bin/sh\nif [ \"$1\" = info ]; then echo 'Server Version: 27.3.1'; exit 0; fi\necho run >> @DIR@/used/runs\n",
    );
    let run = || {
        let out = repo
            .run(&[
                "w.batchflow",
                "--format",
                "json",
                "--container-cli",
                cli.to_str().expect("utf-8"),
            ])
            .env("BATCHFLOW_REGISTRY_DIGESTS", "on")
            .env("REG_PASSWORD", "not-a-real-one")
            .success();
        let summary: Value = serde_json::from_str(&out.stdout).expect("summary JSON");
        summary["counts"]["cached"].as_u64()
    };
    assert_eq!(run(), Some(0));
    assert_eq!(run(), Some(1), "the same digest: cached");
    registry.set(&digest('b'));
    assert_eq!(run(), Some(0), "the tag now names another image");
    assert_eq!(repo.count("used/runs"), 2);
    assert!(registry.asked.load(std::sync::atomic::Ordering::SeqCst) >= 3);
}
