//! Kill and resume: a `batchflow run` stopped mid-run — by SIGKILL (it gets no chance to save
//! anything on its way out), by Ctrl-C (SIGINT) or by SIGTERM — leaves a state from which
//! `batchflow run --resume` finishes the run with every task succeeding exactly once.
//!
//! Each test runs the real binary in a throw-away repository (a temporary folder with an
//! empty `.git`, so the run lands in `<tmp>/.batchflow/runs/`). Every task of the workflow
//! writes `$PPID $$` to `out/pid-<i>` when it starts and appends one line to `out/ok-<i>` as
//! its last act; `out/` sits outside the run folder (an absolute path given through the job's
//! `env`), so the runs before and after a kill write to the same files. A task that succeeded
//! twice shows as two lines, one that never did as none.

use crate::support::Repo;
use std::fs::File;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Tasks of the sweep (the fan-in `gather` comes on top).
const TASKS: usize = 40;
/// The sweep of the tests that repeat a kill many times, to keep them short.
const SHORT: usize = 20;
/// `--jobs`: tasks at once, on one simulated node of 4 slots.
const JOBS: &str = "4";
/// In a gated workflow, the tasks from this index on wait for `out/go`.
const GATED_FROM: usize = 8;
/// Longest a run may take before the test calls it hung.
const HANG: Duration = Duration::from_secs(60);

/// What the sweep's tasks do before they append their success line.
#[derive(Clone, Copy)]
enum Tasks {
    /// Sleep 0.1, 0.2 or 0.3 s (by `i % 3`).
    Timed,
    /// Sleep 0.2 s each: with 4 slots they run in waves of 4 that end within milliseconds.
    Waves,
    /// As `Waves`, in a shell that, like the one supervising every task, exits on SIGTERM only
    /// once its current command has ended, with that command's status: the success line is
    /// the last thing it does, and a SIGTERM after it still ends the task with status 0.
    BareWaves,
    /// The first `GATED_FROM` sleep 0.1 s; the others wait for `out/go` (and fail after ~10 s
    /// without it), so the test decides when they may finish.
    Gated,
    /// As `Gated`, but the command's own shell ignores SIGTERM (as a program that traps it to
    /// clean up, or ignores it, would): only SIGKILL stops it.
    Stubborn,
}

/// The sweep workflow in a temporary repository of the builder's.
struct Sweep {
    repo: Repo,
    /// Tasks of the sweep.
    n: usize,
}

impl Sweep {
    fn new(tasks: Tasks) -> Sweep {
        Sweep::with(tasks, TASKS)
    }

    fn with(tasks: Tasks, n: usize) -> Sweep {
        let repo = Repo::new();
        let out = repo.mkdir("out");
        repo.write("w.batchflow", workflow(&out, tasks, n));
        Sweep { repo, n }
    }

    fn path(&self) -> &Path {
        self.repo.path()
    }

    fn out(&self) -> PathBuf {
        self.path().join("out")
    }

    /// `batchflow run w.batchflow --jobs 4 --quiet`, in the background.
    fn start(&self) -> Child {
        self.spawn("first", &["run", "w.batchflow", "--jobs", JOBS, "--quiet"])
    }

    /// `batchflow run --resume --jobs 4 --quiet` to its end: exit code and stderr.
    fn resume(&self) -> (i32, String) {
        let mut child = self.spawn("resume", &["run", "--resume", "--jobs", JOBS, "--quiet"]);
        let status = finish(&mut child, "`batchflow run --resume`");
        let stderr = std::fs::read_to_string(self.path().join("resume.stderr")).unwrap_or_default();
        (status.code().unwrap_or(-1), stderr)
    }

    fn spawn(&self, log: &str, args: &[&str]) -> Child {
        let file = |ext: &str| File::create(self.path().join(format!("{log}.{ext}"))).expect("log file");
        self.repo
            .test()
            .args(args)
            .command()
            .stdin(Stdio::null())
            .stdout(file("stdout"))
            .stderr(file("stderr"))
            .spawn()
            .expect("the batchflow binary starts")
    }

    fn stderr(&self, log: &str) -> String {
        std::fs::read_to_string(self.path().join(format!("{log}.stderr"))).unwrap_or_default()
    }

    /// Tasks that appended their success line at least once.
    fn succeeded(&self) -> usize {
        (0..self.n)
            .filter(|i| self.out().join(format!("ok-{i}")).exists())
            .count()
    }

    fn started(&self, i: usize) -> bool {
        self.out().join(format!("pid-{i}")).exists()
    }

    /// The process ids the tasks wrote: each one's supervising shell (`$PPID`, the process
    /// group batchflow started) and the `/bin/sh -c` of its command (`$$`).
    fn pids(&self) -> Vec<(usize, i32)> {
        let mut out = Vec::new();
        for i in 0..self.n {
            let text = std::fs::read_to_string(self.out().join(format!("pid-{i}"))).unwrap_or_default();
            out.extend(text.split_whitespace().filter_map(|p| p.parse().ok()).map(|p| (i, p)));
        }
        out
    }

    /// Tasks that started and have not succeeded whose processes still run.
    fn orphans(&self) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .pids()
            .into_iter()
            .filter(|(i, p)| !self.out().join(format!("ok-{i}")).exists() && alive(*p))
            .map(|(i, _)| i)
            .collect();
        out.dedup();
        out
    }

    fn run_dir(&self) -> PathBuf {
        let runs = self.path().join(".batchflow/runs");
        let dirs: Vec<PathBuf> = std::fs::read_dir(&runs)
            .map(|d| {
                d.filter_map(|e| e.ok())
                    .map(|e| e.path())
                    .filter(|p| p.is_dir())
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(dirs.len(), 1, "one run folder in {}: {dirs:?}", runs.display());
        dirs.into_iter().next().expect("one run")
    }

    fn state(&self) -> serde_json::Value {
        let path = self.run_dir().join("state.json");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        serde_json::from_str(&text).expect("state.json is JSON")
    }

    /// Every sweep task and the fan-in succeeded exactly once, and state.json says so.
    fn assert_exactly_once(&self, context: &str) {
        let lines = |name: &str| {
            std::fs::read_to_string(self.out().join(name))
                .map(|t| t.lines().count())
                .unwrap_or(0)
        };
        let wrong: Vec<String> = (0..self.n)
            .map(|i| (i, lines(&format!("ok-{i}"))))
            .filter(|(_, n)| *n != 1)
            .map(|(i, n)| format!("t-{i} succeeded {n} times"))
            .collect();
        assert!(wrong.is_empty(), "{context}: {}", wrong.join(", "));
        assert_eq!(
            lines("gather"),
            1,
            "{context}: the fan-in ran {} times",
            lines("gather")
        );
        let state = self.state();
        assert_eq!(state["status"], "succeeded", "{context}: state.json status");
        let tasks = state["tasks"].as_array().expect("tasks");
        assert_eq!(tasks.len(), self.n + 1, "{context}: tasks in state.json");
        for t in tasks {
            assert_eq!(t["state"], "succeeded", "{context}: {t}");
        }
    }
}

fn workflow(out: &Path, tasks: Tasks, n: usize) -> String {
    let body = match tasks {
        Tasks::Timed => "sleep 0.$((1 + ${i} % 3))".to_string(),
        Tasks::Waves | Tasks::BareWaves => "sleep 0.2".to_string(),
        Tasks::Gated | Tasks::Stubborn => format!(
            "{}if [ ${{i}} -lt {GATED_FROM} ]; then sleep 0.1; else n=0; \
             while [ ! -e $OUT/go ]; do n=$((n + 1)); [ $n -le 200 ] || exit 3; sleep 0.05; done; fi",
            if matches!(tasks, Tasks::Stubborn) {
                r#"trap \"\" TERM; "#
            } else {
                ""
            }
        ),
    };
    let trap = if matches!(tasks, Tasks::BareWaves) {
        "trap exit TERM; "
    } else {
        ""
    };
    let command = format!("/bin/sh -c '{trap}echo $PPID $$ > $OUT/pid-${{i}}; {body}; echo ok >> $OUT/ok-${{i}}'");
    format!(
        r#"# Generated by tests/integration/resume.rs.
workflow "resume"

pool cpu {{
  vm_size    = "Standard_D2s_v5"
  image      = marketplace("Canonical", "ubuntu-24_04-lts", "server")
  node_agent = "batch.node.ubuntu 24.04"
  dedicated  = 1
  task_slots = 4
}}

job sweep on cpu {{
  env {{ OUT = "{out}" }}

  task t[i in 0..{n}] {{
    command = "{command}"
  }}

  task gather after t {{
    command = "/bin/sh -c 'echo ok >> $OUT/gather'"
  }}
}}
"#,
        out = out.display()
    )
}

/// `kill -SIG PID` (the batchflow process only, not its process group).
fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill")
        .args([format!("-{sig}"), child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{sig} {}", child.id());
}

/// Waits for a process to end; kills it and fails the test when it takes longer than `HANG`.
fn finish(child: &mut Child, what: &str) -> ExitStatus {
    let until = Instant::now() + HANG;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() >= until {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} hung: still running after {HANG:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Polls until `cond` holds while the run goes on; fails the test when the run ends first or
/// after `HANG`.
fn wait_until(repo: &Sweep, child: &mut Child, what: &str, mut cond: impl FnMut() -> bool) {
    let until = Instant::now() + HANG;
    while !cond() {
        if let Some(status) = child.try_wait().expect("try_wait") {
            panic!(
                "the run ended ({status}) before {what}; stderr:\n{}",
                repo.stderr("first")
            );
        }
        assert!(Instant::now() < until, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Whether a process runs (a zombie waiting for its parent to reap it does not).
fn alive(pid: i32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    !matches!(state, Some('Z' | 'X') | None)
}

#[test]
fn sigkill_mid_run_then_resume_runs_every_task_exactly_once() {
    // Three moments, early, halfway and late in the sweep: 100 ms into a wave of 0.2 s tasks,
    // when four tasks run and none is being started or reaped (a kill just as a task starts is
    // `sigkill_as_a_task_starts_...` below).
    let mut orphans = 0;
    for wave in [2, 5, 8] {
        let repo = Sweep::new(Tasks::Waves);
        let mut child = repo.start();
        wait_until(&repo, &mut child, &format!("wave {wave} started"), || {
            repo.started(wave * 4)
        });
        std::thread::sleep(Duration::from_millis(100));
        signal(&child, "KILL");
        let status = finish(&mut child, "the killed run");
        assert_eq!(status.signal(), Some(9), "the first run died of SIGKILL: {status:?}");
        let done = repo.succeeded();
        // Tasks running when batchflow died go on as orphans; the resumed run must account
        // for them (wait for them and read the exit status their shell records) rather than
        // run them again.
        let running = repo.orphans();
        orphans += running.len();
        assert!(done < TASKS, "killed after {done} tasks: too late to test anything");
        let (code, stderr) = repo.resume();
        let context = format!("killed after {done} of {TASKS} tasks with {running:?} still running");
        assert_eq!(code, 0, "{context}: resume exit code; stderr:\n{stderr}");
        repo.assert_exactly_once(&context);
    }
    assert!(
        orphans > 0,
        "no task was running at any of the kills: the test proved nothing"
    );
}

#[test]
fn sigkill_in_the_first_moment_then_resume_runs_every_task_exactly_once() {
    // As soon as the first four tasks run: before the run's first periodic save (0.5 s in).
    let repo = Sweep::new(Tasks::Timed);
    let mut child = repo.start();
    wait_until(&repo, &mut child, "the first four tasks started", || {
        (0..4).all(|i| repo.started(i))
    });
    std::thread::sleep(Duration::from_millis(20));
    signal(&child, "KILL");
    let status = finish(&mut child, "the killed run");
    assert_eq!(status.signal(), Some(9), "{status:?}");
    let running = repo.orphans();
    let (code, stderr) = repo.resume();
    let context = format!("killed at once with {running:?} running");
    assert_eq!(code, 0, "{context}: resume exit code; stderr:\n{stderr}");
    repo.assert_exactly_once(&context);
}

#[test]
fn sigkill_as_a_task_starts_then_resume_runs_every_task_exactly_once() {
    // The kill follows a task's success line by a few milliseconds: about when batchflow reaps
    // that task and starts the next one in its slot. Each round is one chance to hit the gap
    // between a task's start and its `running` line in the journal: a resumed run must still
    // know the task started (from what its process left behind) and not start it again.
    for round in 0..6 {
        let repo = Sweep::with(Tasks::Timed, SHORT);
        let mut child = repo.start();
        wait_until(&repo, &mut child, &format!("{} tasks succeeded", round + 1), || {
            repo.succeeded() > round
        });
        signal(&child, "KILL");
        let status = finish(&mut child, "the killed run");
        assert_eq!(status.signal(), Some(9), "{status:?}");
        let running = repo.orphans();
        let (code, stderr) = repo.resume();
        let context = format!("round {round}: killed with {running:?} running");
        assert_eq!(code, 0, "{context}: resume exit code; stderr:\n{stderr}");
        repo.assert_exactly_once(&context);
    }
}

/// SIGINT or SIGTERM while 8 tasks have succeeded and 4 wait at the gate: exit 130, every
/// process of the run ends, state.json says `interrupted` with the stopped tasks waiting, and
/// `--resume` (gate open) finishes with every task succeeding exactly once.
fn interrupt_then_resume(sig: &str) {
    let repo = Sweep::new(Tasks::Gated);
    let mut child = repo.start();
    let gated = GATED_FROM..GATED_FROM + 4;
    wait_until(&repo, &mut child, "8 tasks succeeded and 4 wait at the gate", || {
        repo.succeeded() >= GATED_FROM && gated.clone().all(|i| repo.started(i))
    });
    signal(&child, sig);
    let status = finish(&mut child, &format!("the run after SIG{sig}"));
    assert_eq!(
        status.code(),
        Some(130),
        "exit status after SIG{sig}: {status:?}; stderr:\n{}",
        repo.stderr("first")
    );
    // batchflow stopped the process groups of its tasks before it exited; give the last
    // processes a moment to go.
    let pids = repo.pids();
    assert!(pids.len() >= 2 * (GATED_FROM + 4), "pids: {pids:?}");
    let left = Instant::now() + Duration::from_secs(3);
    while pids.iter().any(|(_, p)| alive(*p)) && Instant::now() < left {
        std::thread::sleep(Duration::from_millis(20));
    }
    let living: Vec<&(usize, i32)> = pids.iter().filter(|(_, p)| alive(*p)).collect();
    assert!(
        living.is_empty(),
        "processes of the run still alive after SIG{sig}: {living:?}"
    );
    let state = repo.state();
    assert_eq!(state["status"], "interrupted", "state.json after SIG{sig}");
    let tasks = state["tasks"].as_array().expect("tasks");
    for (i, t) in tasks.iter().enumerate().take(TASKS) {
        let want = if i < GATED_FROM { "succeeded" } else { "waiting" };
        assert_eq!(t["state"], want, "t-{i} after SIG{sig}: {t}");
    }
    assert_eq!(repo.succeeded(), GATED_FROM, "no gated task got past the gate");
    File::create(repo.out().join("go")).expect("open the gate");
    let (code, stderr) = repo.resume();
    assert_eq!(code, 0, "resume exit code; stderr:\n{stderr}");
    repo.assert_exactly_once(&format!("after SIG{sig}"));
}

#[test]
fn ctrl_c_stops_the_tasks_and_resume_runs_every_task_exactly_once() {
    interrupt_then_resume("INT");
}

#[test]
fn sigterm_behaves_like_ctrl_c() {
    interrupt_then_resume("TERM");
}

#[test]
fn a_task_finishing_as_ctrl_c_arrives_is_not_run_again() {
    // Tasks of 0.2 s in waves of 4; the signal comes just as a wave ends and the next starts,
    // so tasks end, with exit status 0, while batchflow is stopping: those must count as
    // succeeded, not go back to waiting. (The commands' shell traps SIGTERM to exit with its
    // last command's status: one killed outright between its last act and its exit would
    // rightly run again.)
    for (sig, wave) in [("INT", 1), ("TERM", 2), ("INT", 3), ("TERM", 4)] {
        let repo = Sweep::with(Tasks::BareWaves, SHORT);
        let mut child = repo.start();
        let first = wave * 4;
        wait_until(&repo, &mut child, &format!("wave {wave} started"), || {
            repo.started(first)
        });
        signal(&child, sig);
        let status = finish(&mut child, "the interrupted run");
        assert_eq!(status.code(), Some(130), "SIG{sig}: {status:?}");
        let (code, stderr) = repo.resume();
        assert_eq!(code, 0, "resume exit code; stderr:\n{stderr}");
        repo.assert_exactly_once(&format!("SIG{sig} as wave {wave} (t-{first}..) started"));
    }
}

#[test]
fn ctrl_c_stops_a_task_process_that_ignores_sigterm() {
    let repo = Sweep::new(Tasks::Stubborn);
    let mut child = repo.start();
    let gated = GATED_FROM..GATED_FROM + 4;
    wait_until(&repo, &mut child, "8 tasks succeeded and 4 wait at the gate", || {
        repo.succeeded() >= GATED_FROM && gated.clone().all(|i| repo.started(i))
    });
    signal(&child, "INT");
    let status = finish(&mut child, "the run after SIGINT");
    assert_eq!(status.code(), Some(130), "exit status after SIGINT: {status:?}");
    // Stopping may take the grace period (SIGTERM, then SIGKILL 5 s later), but by the time
    // batchflow exits, the processes of its tasks are gone.
    std::thread::sleep(Duration::from_millis(300));
    let living: Vec<(usize, i32)> = repo.pids().into_iter().filter(|(_, p)| alive(*p)).collect();
    File::create(repo.out().join("go")).expect("open the gate");
    assert!(
        living.is_empty(),
        "processes of the run still alive after batchflow exited: {living:?}"
    );
    let (code, stderr) = repo.resume();
    assert_eq!(code, 0, "resume exit code; stderr:\n{stderr}");
    repo.assert_exactly_once("after SIGINT");
}
