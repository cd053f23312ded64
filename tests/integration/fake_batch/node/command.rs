//! The task's command line, run as a Batch node runs it: "The command lines executed by tasks
//! on compute nodes don't run under a shell. This means that these command lines can't
//! natively use shell features such as environment variable expansion" ("Azure Batch runtime
//! environment variables"). So the line is split into words by POSIX quoting rules and the
//! first word is executed directly (looked up on `PATH`; a relative path with a `/` is taken
//! from the working directory); `/bin/sh -c '…'` works because it starts a shell itself.
//!
//! It runs in `AZ_BATCH_TASK_WORKING_DIR` with the task's environment only, stdout and stderr
//! going to the task folder's `stdout.txt` and `stderr.txt`, in its own process group, which
//! is killed when the command exits (no stray children), when `maxWallClockTime` passes, or
//! when the simulation ends the task. "If the Batch service terminates the Task (due to
//! timeout, or user termination via the API) you may see an operating system-defined exit
//! code" (TaskExecutionInformation.exitCode): here 128 + the signal, as shells report it.
//!
//! Failure codes: `CommandProgramNotFound` ("The program specified in the task's command line
//! was not found"), `CommandLaunchFailed` ("An error occurred when launching the task's
//! command line").

use super::layout::Dirs;
use super::{failure, TaskFailure};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub enum Ran {
    Exited(i32),
    /// Killed at its `maxWallClockTime`, with the exit code it got.
    TimedOut(i32),
    /// Killed because the simulation ended the run.
    Cancelled,
}

pub async fn run(
    command_line: &str,
    dirs: &Dirs,
    env: &[(String, String)],
    deadline: Option<Instant>,
    cancel: Arc<AtomicBool>,
) -> Result<Ran, TaskFailure> {
    let words = shlex::split(command_line)
        .ok_or_else(|| failure("CommandLaunchFailed", "The command line's quotes are not balanced."))?;
    let (wd, task, env) = (dirs.wd.clone(), dirs.task.clone(), env.to_vec());
    tokio::task::spawn_blocking(move || run_blocking(&words, &wd, &task, &env, deadline, &cancel))
        .await
        .map_err(|e| failure("CommandLaunchFailed", e.to_string()))?
}

fn run_blocking(
    words: &[String],
    wd: &Path,
    task: &Path,
    env: &[(String, String)],
    deadline: Option<Instant>,
    cancel: &AtomicBool,
) -> Result<Ran, TaskFailure> {
    let launch = |e: std::io::Error| failure("CommandLaunchFailed", e.to_string());
    let (program, args) = words
        .split_first()
        .ok_or_else(|| failure("CommandLaunchFailed", "The command line is empty."))?;
    let path = if program.contains('/') && !Path::new(program).is_absolute() {
        wd.join(program)
    } else {
        PathBuf::from(program)
    };
    let stdout = std::fs::File::create(task.join("stdout.txt")).map_err(launch)?;
    let stderr = std::fs::File::create(task.join("stderr.txt")).map_err(launch)?;
    let mut child = Command::new(&path)
        .args(args)
        .current_dir(wd)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .process_group(0)
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => failure(
                "CommandProgramNotFound",
                format!("The program `{program}` of the command line was not found."),
            ),
            _ => launch(e),
        })?;
    let group = Pid::from_raw(i32::try_from(child.id()).unwrap_or(i32::MAX));
    let mut nap = Duration::from_millis(1);
    loop {
        if let Some(status) = child.try_wait().map_err(launch)? {
            let _ = killpg(group, Signal::SIGKILL);
            return Ok(Ran::Exited(exit_code(status)));
        }
        let timed_out = deadline.is_some_and(|d| Instant::now() >= d);
        if timed_out || cancel.load(Relaxed) {
            let _ = killpg(group, Signal::SIGKILL);
            let status = child.wait().map_err(launch)?;
            return Ok(if timed_out {
                Ran::TimedOut(exit_code(status))
            } else {
                Ran::Cancelled
            });
        }
        std::thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(20));
    }
}

fn exit_code(status: ExitStatus) -> i32 {
    status.code().or_else(|| status.signal().map(|s| 128 + s)).unwrap_or(-1)
}

/// An ISO 8601 duration as Batch writes them (`PT1H`, `P2DT3H4M5.5S`, `P1W`); None for no
/// limit: absent, unreadable, or beyond a century (Batch's "forever" is
/// `P10675199DT2H48M5.4775807S`).
pub fn parse_duration(s: &str) -> Option<Duration> {
    let rest = s.strip_prefix('P')?;
    let (date, time) = rest.split_once('T').unwrap_or((rest, ""));
    let secs =
        units(date, &[('W', 604_800.0), ('D', 86_400.0)])? + units(time, &[('H', 3_600.0), ('M', 60.0), ('S', 1.0)])?;
    (secs < 100.0 * 365.0 * 86_400.0).then(|| Duration::from_secs_f64(secs))
}

fn units(s: &str, table: &[(char, f64)]) -> Option<f64> {
    let mut total = 0.0;
    let mut number = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let (_, scale) = table.iter().find(|(unit, _)| *unit == c)?;
        total += number.parse::<f64>().ok()? * scale;
        number.clear();
    }
    number.is_empty().then_some(total)
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations_as_batch_writes_them() {
        assert_eq!(parse_duration("PT1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("P1DT2M"), Some(Duration::from_secs(86_520)));
        assert_eq!(parse_duration("PT0.5S"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("P10675199DT2H48M5.4775807S"), None);
        assert_eq!(parse_duration("1 hour"), None);
        assert_eq!(parse_duration("PT5"), None);
    }
}
