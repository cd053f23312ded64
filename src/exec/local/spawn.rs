//! Starting one unit of work as Batch would: its command line's words exec'd as they are, with
//! no shell in between (see [`super::words`]), or `CLI run ... IMAGE WORDS` through a
//! docker-compatible CLI, in its working directory, with its output streamed to `stdout.txt`
//! and `stderr.txt` in the task directory and its own process group, so a timeout or Ctrl-C
//! stops it and every process it started.
//!
//! A small `/bin/sh` supervises each unit: it runs the words through `"$@"`, which hands every
//! argument to the program unchanged (nothing is split, expanded or globbed again), and records
//! the exit status when the program ends. The command line itself never meets that shell.

use crate::exec::error::RunError;
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The file in each node's root where every unit's supervising shell appends `STATUS TASK_DIR`
/// when it ends: it outlives a killed `batchflow`, so a resumed run knows what finished while
/// no one was watching. One file per node, not per task: a task costs a file system no more
/// inodes than Batch's own layout does. Lines under 4 KiB appended with O_APPEND do not
/// interleave.
pub const EXITS_FILE: &str = ".batchflow-exits";

/// The supervisor's first commands: record the exit status on the way out. SIGTERM makes the
/// shell exit once the program has ended, with the program's status, so a program that had
/// just succeeded when it was stopped is recorded as a success.
const RECORD_EXIT: &str = "trap 'printf \"%s %s\\n\" \"$?\" \"$AZ_BATCH_TASK_DIR\" >> \"$AZ_BATCH_NODE_ROOT_DIR/.batchflow-exits\"' EXIT; trap exit TERM;";

/// What to run for one unit of work.
#[derive(Clone, Debug, PartialEq)]
pub struct Launch {
    pub program: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: PathBuf,
    pub task_dir: PathBuf,
}

/// The supervised launch of `argv` (a program and its arguments) in the task's working
/// directory; `before`, when given, runs first and `argv` only if it succeeds (a multi-instance
/// task's coordination command).
pub fn supervised(
    before: Option<&[String]>,
    argv: Vec<String>,
    env: Vec<(String, String)>,
    task_dir: &Path,
) -> Result<Launch, RunError> {
    let first = match before {
        Some(words) => {
            let quoted =
                shlex::try_join(words.iter().map(String::as_str)).map_err(|e| RunError::Launch(e.to_string()))?;
            format!("{quoted} && ")
        }
        None => String::new(),
    };
    // `sh` is `$0`, what the supervisor calls itself in its own messages.
    let mut args = vec!["-c".to_string(), format!("{RECORD_EXIT} {first}\"$@\""), "sh".into()];
    args.extend(argv);
    Ok(Launch {
        program: "/bin/sh".into(),
        args,
        env,
        cwd: task_dir.join("wd"),
        task_dir: task_dir.to_path_buf(),
    })
}

/// The container settings of a task, as the plan has them.
pub struct ContainerTask<'a> {
    pub image: &'a str,
    pub run_options: Option<&'a str>,
    pub command_line: &'a str,
}

/// `CLI run` with what the container-workloads article says Batch maps: the node root
/// directory at the same path, every task environment variable, and the task working
/// directory as the container's working directory unless the run options set `--workdir`.
/// The command line's words follow the image as arguments, as Batch passes them to `docker
/// create` (no shell); an empty command line keeps the image's ENTRYPOINT. `folders` (the
/// pool's mounts here) are mapped at their own paths, where the node's mount links point.
pub fn container_argv(
    cli: &str,
    c: &ContainerTask<'_>,
    env: &[(String, String)],
    (node_root, folders): (&Path, &[PathBuf]),
    task_dir: &Path,
    name: &str,
) -> Result<Vec<String>, RunError> {
    let options = match c.run_options {
        Some(o) => super::words::split(o)
            .map_err(|e| RunError::Launch(format!("cannot split run_options `{o}` into arguments: {e}")))?,
        None => Vec::new(),
    };
    let command = super::words::split(c.command_line)
        .map_err(|e| RunError::Launch(format!("cannot split command `{}` into arguments: {e}", c.command_line)))?;
    let wd = task_dir.join("wd");
    let mut args = vec![
        cli.to_string(),
        "run".into(),
        "--rm".into(),
        "--name".into(),
        name.into(),
    ];
    let root = node_root.display().to_string();
    args.extend(["--volume".into(), format!("{root}:{root}")]);
    for folder in folders {
        let f = folder.display();
        args.extend(["--volume".into(), format!("{f}:{f}")]);
    }
    let sets_workdir = options
        .iter()
        .any(|o| o == "-w" || o.starts_with("--workdir") || (o.starts_with("-w") && o.len() > 2));
    if !sets_workdir {
        args.extend(["--workdir".into(), wd.display().to_string()]);
    }
    // Names only: the CLI takes the values from its own environment, so secrets never show
    // in a process listing.
    for (k, _) in env {
        args.extend(["--env".into(), k.clone()]);
    }
    args.extend(options);
    args.push(c.image.to_string());
    args.extend(command);
    Ok(args)
}

/// Leaves in the task directory what a unit that could not start has to say (as the shell's
/// own message would be), so `batchflow logs --stderr` shows it.
pub fn refused(task_dir: &Path, message: &str) -> std::io::Result<()> {
    make_dir(task_dir)?;
    std::fs::write(task_dir.join("stdout.txt"), "")?;
    std::fs::write(task_dir.join("stderr.txt"), format!("{message}\n"))
}

/// Prepares the task directory and starts the process in its own process group.
pub fn start(launch: &Launch) -> std::io::Result<Child> {
    make_dir(&launch.task_dir)?;
    make_dir(&launch.cwd)?;
    let stdout = File::create(launch.task_dir.join("stdout.txt"))?;
    let stderr = File::create(launch.task_dir.join("stderr.txt"))?;
    Command::new(&launch.program)
        .args(&launch.args)
        .envs(launch.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&launch.cwd)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .process_group(0)
        .spawn()
}

/// `mkdir`, creating parents only when needed: one system call for a task directory whose
/// job folder exists (thousands of tasks make this count).
fn make_dir(dir: &Path) -> std::io::Result<()> {
    match std::fs::create_dir(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::create_dir_all(dir),
        Err(e) => Err(e),
    }
}

/// The last exit status each task directory's supervisor recorded on a node.
pub fn recorded_exits(node_root: &Path) -> std::collections::HashMap<PathBuf, i32> {
    let text = std::fs::read_to_string(node_root.join(EXITS_FILE)).unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let (code, dir) = l.split_once(' ')?;
            Some((PathBuf::from(dir), code.parse().ok()?))
        })
        .collect()
}

/// The last `lines` lines of a task's `stderr.txt` (for failure reports).
pub fn stderr_tail(task_dir: &Path, lines: usize) -> String {
    tail(&task_dir.join("stderr.txt"), lines)
}

/// The last lines of a file, reading at most its final 64 KiB; control characters become
/// spaces and each line is cut at 300 characters, so a binary stderr cannot flood a report.
pub fn tail(path: &Path, lines: usize) -> String {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(64 * 1024);
    if f.seek(SeekFrom::Start(start)).is_err() {
        return String::new();
    }
    let mut buf = Vec::new();
    if f.read_to_end(&mut buf).is_err() {
        return String::new();
    }
    let text = String::from_utf8_lossy(&buf);
    let all: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    all[all.len().saturating_sub(lines)..]
        .iter()
        .map(|l| {
            l.chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .take(300)
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_argv_maps_root_env_and_workdir() {
        let c = ContainerTask {
            image: "ubuntu:24.04",
            run_options: Some("--rm --memory 2g"),
            command_line: "/bin/sh -c 'echo hi > out.txt'",
        };
        let env = vec![
            ("AZ_BATCH_TASK_ID".to_string(), "t".to_string()),
            ("SEED".to_string(), "3".to_string()),
        ];
        let task = Path::new("/n/workitems/j/job-1/t");
        let argv = container_argv("docker", &c, &env, (Path::new("/n"), &[]), task, "bf-t").expect("argv");
        assert_eq!(
            argv,
            [
                "docker",
                "run",
                "--rm",
                "--name",
                "bf-t",
                "--volume",
                "/n:/n",
                "--workdir",
                "/n/workitems/j/job-1/t/wd",
                "--env",
                "AZ_BATCH_TASK_ID",
                "--env",
                "SEED",
                "--rm",
                "--memory",
                "2g",
                "ubuntu:24.04",
                "/bin/sh",
                "-c",
                "echo hi > out.txt"
            ]
        );
        // The supervisor passes them on as they are, after its script and `$0`.
        let l = supervised(None, argv.clone(), env, task).expect("launch");
        assert_eq!(l.program, "/bin/sh");
        assert!(l.args[1].starts_with("trap "), "{}", l.args[1]);
        assert_eq!(l.args[3..], argv[..]);
    }

    #[test]
    fn run_options_workdir_wins_and_empty_command_keeps_entrypoint() {
        let c = ContainerTask {
            image: "app",
            run_options: Some("--workdir /app"),
            command_line: "",
        };
        let folders = [PathBuf::from("/data/genomes")];
        let argv =
            container_argv("podman", &c, &[], (Path::new("/n"), &folders), Path::new("/n/t"), "x").expect("argv");
        assert!(
            argv.windows(2)
                .any(|w| w == ["--volume", "/data/genomes:/data/genomes"]),
            "{argv:?}"
        );
        assert_eq!(argv.iter().filter(|a| a.as_str() == "--workdir").count(), 1);
        assert_eq!(argv.last().map(String::as_str), Some("app"));
    }

    /// Runs `argv` supervised in `dir/t` and returns its exit status and stdout.
    fn run(dir: &Path, before: Option<&[String]>, argv: &[&str]) -> (Option<i32>, String) {
        let task = dir.join("t");
        let env = vec![
            ("AZ_BATCH_TASK_DIR".to_string(), task.display().to_string()),
            ("AZ_BATCH_NODE_ROOT_DIR".to_string(), dir.display().to_string()),
        ];
        let argv = argv.iter().map(|a| a.to_string()).collect();
        let launch = supervised(before, argv, env, &task).expect("launch");
        let status = start(&launch).and_then(|mut c| c.wait()).expect("runs");
        let out = std::fs::read_to_string(task.join("stdout.txt")).expect("stdout.txt");
        (status.code(), out)
    }

    #[test]
    fn the_supervisor_records_the_exit_status_in_the_nodes_log() {
        let dir = tempfile::tempdir().expect("tempdir");
        let task = dir.path().join("t");
        for (script, want) in [("exit 3", 3), ("true", 0), ("exit 3", 3)] {
            let (code, _) = run(dir.path(), None, &["/bin/sh", "-c", script]);
            assert_eq!(code, Some(want));
            assert_eq!(recorded_exits(dir.path()).get(&task), Some(&want), "{script}");
        }
    }

    #[test]
    fn arguments_reach_the_program_as_they_are() {
        let dir = tempfile::tempdir().expect("tempdir");
        let args = ["/usr/bin/printf", "[%s]", "$HOME", "a b", ">", "*", "", "'q'"];
        let (code, out) = run(dir.path(), None, &args);
        assert_eq!(code, Some(0));
        assert_eq!(out, "[$HOME][a b][>][*][]['q']");
    }

    #[test]
    fn a_coordination_command_runs_first_and_must_succeed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let echo = |w: &str| vec!["/bin/sh".to_string(), "-c".into(), w.into()];
        let (code, out) = run(
            dir.path(),
            Some(&echo("echo 'co ord'")),
            &["/bin/sh", "-c", "echo main"],
        );
        assert_eq!((code, out.as_str()), (Some(0), "co ord\nmain\n"));
        let (code, out) = run(dir.path(), Some(&echo("exit 4")), &["/bin/sh", "-c", "echo main"]);
        assert_eq!((code, out.as_str()), (Some(4), ""));
    }

    #[test]
    fn tails_are_bounded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("f");
        std::fs::write(&p, (0..1000).map(|i| format!("line {i}\n")).collect::<String>()).expect("write");
        assert_eq!(tail(&p, 2), "line 998\nline 999");
    }
}
