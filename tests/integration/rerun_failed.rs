//! `batchflow run FILE --rerun-failed [RUN]` on this machine: a sweep with one instance that
//! fails, fixed, then rerun: a new run that runs exactly that instance and what depends on it
//! (its fan-in task, and the job that comes after), judged from what the tasks wrote to a
//! folder outside the run folders: one line per time each ran.

use crate::support::Repo;
use std::path::Path;

fn workflow(out: &Path) -> String {
    format!(
        r#"workflow "rerun"

pool cpu {{
  vm_size    = "Standard_D2s_v5"
  image      = marketplace("Canonical", "ubuntu-24_04-lts", "server")
  node_agent = "batch.node.ubuntu 24.04"
  dedicated  = 1
  task_slots = 4
}}

job sweep on cpu {{
  env {{ OUT = "{out}" }}

  task t[i in 0..6] {{
    command = "/bin/sh -c 'echo ran >> $OUT/t-${{i}}; [ ! -e $OUT/broken-${{i}} ]'"
  }}

  task side {{
    command = "/bin/sh -c 'echo ran >> $OUT/side && echo side made this > made.txt && echo side says hi'"
    outputs {{ "made.txt" = "results/side.txt" }}
  }}

  task gather after t {{
    command = "/bin/sh -c 'echo ran >> $OUT/gather'"
  }}
}}

job report on cpu {{
  after = sweep
  env {{ OUT = "{out}" }}

  task summary {{
    command = "/bin/sh -c 'echo ran >> $OUT/summary'"
  }}
}}
"#,
        out = out.display()
    )
}

/// How many times each task ran, by its file in `out/`.
fn times(repo: &Repo, name: &str) -> usize {
    let path = repo.path().join("out").join(name);
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

fn runs_json(repo: &Repo) -> Vec<serde_json::Value> {
    let out = repo.test().args(["runs", "--format", "json"]).success();
    serde_json::from_str(&out.stdout).expect("runs JSON")
}

#[test]
fn a_fixed_instance_reruns_with_what_depends_on_it_and_nothing_else() {
    let repo = Repo::new();
    let out = repo.mkdir("out");
    repo.write("w.batchflow", workflow(&out));
    repo.write("out/broken-3", "");
    let first = repo.test().args(["run", "w.batchflow", "--quiet"]).failure();
    assert_eq!(times(&repo, "t-3"), 1, "{}", first.stderr);
    assert_eq!(times(&repo, "gather"), 0);
    assert_eq!(times(&repo, "summary"), 0);
    let first_id = runs_json(&repo)[0]["id"].as_str().expect("id").to_string();

    // The fix.
    std::fs::remove_file(out.join("broken-3")).expect("fixed");
    let again = repo
        .test()
        .args(["run", "w.batchflow", "--rerun-failed", "--format", "json"])
        .success();
    assert!(
        again.stderr.contains(&format!("rerunning run `{first_id}`: 3 tasks")),
        "{}",
        again.stderr
    );
    for i in [0, 1, 2, 4, 5] {
        assert_eq!(times(&repo, &format!("t-{i}")), 1, "t-{i} ran again");
    }
    assert_eq!(times(&repo, "side"), 1, "side ran again");
    assert_eq!(times(&repo, "t-3"), 2);
    assert_eq!(times(&repo, "gather"), 1);
    assert_eq!(times(&repo, "summary"), 1);

    let summary: serde_json::Value = serde_json::from_str(&again.stdout).expect("summary JSON");
    assert_eq!(summary["status"], "succeeded");
    assert_eq!(summary["rerun_of"], first_id.as_str());
    assert_eq!(summary["counts"]["succeeded"], 9);
    let t0 = summary["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .find(|t| t["task"] == "t-0")
        .expect("t-0");
    assert!(t0["reason"].as_str().is_some_and(|r| r.contains(&first_id)), "{t0}");

    let runs = runs_json(&repo);
    assert_eq!(runs.len(), 2);
    assert_ne!(runs[0]["id"], runs[1]["id"]);
    assert_eq!(runs[0]["rerun_of"], first_id.as_str());
    assert_eq!(runs[0]["counts"]["reused"], 6);
    assert_eq!(runs[0]["counts"]["succeeded"], 9);

    let table = repo.test().args(["runs"]).success();
    let newest = table.stdout.lines().nth(1).expect("the rerun's row");
    assert!(
        table
            .stdout
            .lines()
            .next()
            .is_some_and(|h| h.trim_end().ends_with("reran"))
            && newest.trim_end().ends_with(&first_id),
        "{}",
        table.stdout
    );

    let status = repo.test().args(["status"]).success();
    assert!(
        status
            .stdout
            .contains(&format!("a rerun of run {first_id}: 6 succeeded task(s) taken from it")),
        "{}",
        status.stdout
    );

    // The carried task's output came back with the first run, and is fetched from there.
    assert_eq!(repo.read("results/side.txt"), "side made this\n");
    std::fs::remove_file(repo.path().join("results/side.txt")).expect("removed");
    let rerun_id = runs[0]["id"].as_str().expect("id").to_string();
    // Nothing of it was copied into the rerun's store.
    let rerun_store = repo.path().join(".batchflow/runs").join(&rerun_id).join("store");
    assert!(!rerun_store.join("runs").join(&rerun_id).join("sweep/side").exists());
    repo.test().args(["fetch", &rerun_id]).success();
    assert_eq!(repo.read("results/side.txt"), "side made this\n");
    let log = repo.test().args(["logs", &rerun_id, "side"]).success();
    assert_eq!(log.stdout, "side says hi\n");
    assert!(
        log.stderr.contains(&format!("succeeded in run `{first_id}`")),
        "{}",
        log.stderr
    );

    // Nothing failed in the rerun: said, exit 0, and no run made.
    let none = repo.test().args(["run", "w.batchflow", "--rerun-failed"]).success();
    assert!(none.stderr.contains("nothing to rerun"), "{}", none.stderr);
    assert_eq!(runs_json(&repo).len(), 2);
    assert_eq!(times(&repo, "t-3"), 2);
}

#[test]
fn a_rerun_of_a_rerun_keeps_the_outputs_where_they_were_made() {
    let repo = Repo::new();
    let out = repo.mkdir("out");
    repo.write("w.batchflow", workflow(&out));
    repo.write("out/broken-1", "");
    repo.write("out/broken-2", "");
    repo.test().args(["run", "w.batchflow", "--quiet"]).failure();
    let first_id = runs_json(&repo)[0]["id"].as_str().expect("id").to_string();
    std::fs::remove_file(out.join("broken-1")).expect("fixed");
    repo.test()
        .args(["run", "w.batchflow", "--rerun-failed", "--quiet"])
        .failure();
    std::fs::remove_file(out.join("broken-2")).expect("fixed");
    let third = repo
        .test()
        .args(["run", "w.batchflow", "--rerun-failed", "--format", "json"])
        .success();
    assert_eq!(times(&repo, "t-0"), 1);
    assert_eq!(times(&repo, "t-1"), 2);
    assert_eq!(times(&repo, "t-2"), 3);
    assert_eq!(times(&repo, "gather"), 1);
    let summary: serde_json::Value = serde_json::from_str(&third.stdout).expect("summary JSON");
    let reason = |task: &str| {
        summary["tasks"]
            .as_array()
            .expect("tasks")
            .iter()
            .find(|t| t["task"] == task)
            .and_then(|t| t["reason"].as_str())
            .unwrap_or_default()
            .to_string()
    };
    // t-0 succeeded in the first run, t-1 in the second: each where it was made.
    let made_in = |id: &str| format!("run `{id}`");
    assert!(reason("t-0").contains(&made_in(&first_id)), "{}", reason("t-0"));
    assert!(
        reason("t-1").contains("succeeded in run") && !reason("t-1").contains(&made_in(&first_id)),
        "{}",
        reason("t-1")
    );
}

#[test]
fn bad_reruns_are_refused_with_a_way_forward() {
    let repo = Repo::new();
    let out = repo.mkdir("out");
    repo.write("w.batchflow", workflow(&out));
    let none = repo.test().args(["run", "w.batchflow", "--rerun-failed"]).status(2);
    assert!(
        none.stderr.contains("no earlier run of `w.batchflow` to rerun")
            && none.stderr.contains("batchflow run w.batchflow"),
        "{}",
        none.stderr
    );
    repo.test().args(["run", "w.batchflow", "--quiet"]).success();
    let missing = repo
        .test()
        .args(["run", "w.batchflow", "--rerun-failed", "rerun-20200101-000000"])
        .status(2);
    assert!(
        missing.stderr.contains("its folder is gone")
            && missing.stderr.contains("run it all with `batchflow run w.batchflow`"),
        "{}",
        missing.stderr
    );
    let both = repo
        .test()
        .args(["run", "w.batchflow", "--rerun-failed", "--resume"])
        .status(2);
    assert!(both.stderr.contains("give one of them"), "{}", both.stderr);
}

/// A sweep whose instance `i` fails while `out/broken-i` exists and waits while `out/hold-i`
/// does, writing `out/ok-i` when it succeeds.
fn held(out: &Path) -> String {
    format!(
        r#"workflow "held"

pool cpu {{
  vm_size    = "Standard_D2s_v5"
  image      = marketplace("Canonical", "ubuntu-24_04-lts", "server")
  node_agent = "batch.node.ubuntu 24.04"
  dedicated  = 1
  task_slots = 4
}}

job sweep on cpu {{
  env {{ OUT = "{out}" }}

  task t[i in 0..4] {{
    command = "/bin/sh -c 'echo ran >> $OUT/t-${{i}}; [ ! -e $OUT/broken-${{i}} ] || exit 1; while [ -e $OUT/hold-${{i}} ]; do sleep 0.05; done; echo ok >> $OUT/ok-${{i}}'"
  }}

  task gather after t {{
    command = "/bin/sh -c 'echo ran >> $OUT/gather'"
  }}
}}
"#,
        out = out.display()
    )
}

#[test]
fn a_rerun_killed_and_resumed_runs_each_task_once_and_never_the_carried_ones() {
    let repo = Repo::new();
    let out = repo.mkdir("out");
    repo.write("w.batchflow", held(&out));
    repo.write("out/broken-2", "");
    repo.test().args(["run", "w.batchflow", "--quiet"]).failure();
    let first_id = runs_json(&repo)[0]["id"].as_str().expect("id").to_string();

    std::fs::remove_file(out.join("broken-2")).expect("fixed");
    repo.write("out/hold-2", "");
    let mut child = repo
        .test()
        .args(["run", "w.batchflow", "--rerun-failed", "--quiet"])
        .command()
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("batchflow starts");
    let started = std::time::Instant::now();
    while times(&repo, "t-2") < 2 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "t-2 never started again"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    // The task goes on without batchflow, and ends once released.
    std::fs::remove_file(out.join("hold-2")).expect("released");

    let resumed = repo
        .test()
        .args(["run", "w.batchflow", "--resume", "--quiet"])
        .success();
    assert_eq!(times(&repo, "t-2"), 2, "{}", resumed.stderr);
    assert_eq!(times(&repo, "ok-2"), 1);
    for i in [0, 1, 3] {
        assert_eq!(times(&repo, &format!("t-{i}")), 1, "t-{i} ran again");
    }
    assert_eq!(times(&repo, "gather"), 1);
    let runs = runs_json(&repo);
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["rerun_of"], first_id.as_str());
    assert_eq!(runs[0]["state"], "succeeded");
    assert_eq!(runs[0]["counts"]["reused"], 3);
}
