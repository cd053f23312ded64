//! Starting one unit of work as Batch would: `/bin/sh -c COMMAND` in its working directory,
//! or `CLI run ... IMAGE ARGS` through a docker-compatible CLI, with its output streamed to
//! `stdout.txt` and `stderr.txt` in the task directory and its own process group, so a
//! timeout or Ctrl-C stops it and every process it started.

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The file in each node's root where every task's shell appends `STATUS TASK_DIR` when it
/// ends: it outlives a killed `batchflow`, so a resumed run knows what finished while no one
/// was watching. One file per node, not per task: a task costs a file system no more inodes
/// than Batch's own layout does. Lines under 4 KiB appended with O_APPEND do not interleave.
pub const EXITS_FILE: &str = ".batchflow-exits";

/// The shell commands that record the exit status, put before the command on its first line
/// (so the shell's error messages keep the command's own line numbers). SIGTERM makes the
/// shell exit once its current command has ended, with that command's status, so a command
/// that had just succeeded when it was stopped is recorded as a success.
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

/// `/bin/sh -c COMMAND`, as Batch runs a Linux command line.
pub fn host(command_line: &str, env: Vec<(String, String)>, task_dir: &Path) -> Launch {
    Launch {
        program: "/bin/sh".into(),
        args: vec!["-c".into(), format!("{RECORD_EXIT} {command_line}")],
        env,
        cwd: task_dir.join("wd"),
        task_dir: task_dir.to_path_buf(),
    }
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
/// An empty command line keeps the image's ENTRYPOINT.
pub fn container(
    cli: &str,
    c: &ContainerTask<'_>,
    env: Vec<(String, String)>,
    node_root: &Path,
    task_dir: &Path,
    name: &str,
) -> Result<Launch, String> {
    let options = match c.run_options {
        Some(o) => shlex::split(o).ok_or_else(|| format!("cannot split run_options `{o}` into arguments"))?,
        None => Vec::new(),
    };
    let command = shlex::split(c.command_line)
        .ok_or_else(|| format!("cannot split command `{}` into arguments", c.command_line))?;
    let wd = task_dir.join("wd");
    let mut args = vec![
        "/bin/sh".to_string(),
        cli.to_string(),
        "run".into(),
        "--rm".into(),
        "--name".into(),
        name.into(),
    ];
    let root = node_root.display().to_string();
    args.extend(["--volume".into(), format!("{root}:{root}")]);
    let sets_workdir = options
        .iter()
        .any(|o| o == "-w" || o.starts_with("--workdir") || (o.starts_with("-w") && o.len() > 2));
    if !sets_workdir {
        args.extend(["--workdir".into(), wd.display().to_string()]);
    }
    // Names only: the CLI takes the values from its own environment, so secrets never show
    // in a process listing.
    for (k, _) in &env {
        args.extend(["--env".into(), k.clone()]);
    }
    args.extend(options);
    args.push(c.image.to_string());
    args.extend(command);
    // `"$@"` after the trap: the shell runs the CLI and records its exit status.
    let mut sh_args = vec!["-c".to_string(), format!("{RECORD_EXIT} \"$@\"")];
    sh_args.extend(args);
    Ok(Launch {
        program: "/bin/sh".into(),
        args: sh_args,
        env,
        cwd: wd,
        task_dir: task_dir.to_path_buf(),
    })
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

/// The last exit status each task directory's shell recorded on a node.
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
        let l = container(
            "docker",
            &c,
            env,
            Path::new("/n"),
            Path::new("/n/workitems/j/job-1/t"),
            "bf-t",
        )
        .expect("launch");
        let args: Vec<&str> = l.args.iter().map(String::as_str).collect();
        let after_shell = &args[3..];
        assert!(args[1].starts_with("trap "), "{}", args[1]);
        assert_eq!(
            after_shell,
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
    }

    #[test]
    fn run_options_workdir_wins_and_empty_command_keeps_entrypoint() {
        let c = ContainerTask {
            image: "app",
            run_options: Some("--workdir /app"),
            command_line: "",
        };
        let l = container("podman", &c, Vec::new(), Path::new("/n"), Path::new("/n/t"), "x").expect("launch");
        assert_eq!(l.args.iter().filter(|a| a.as_str() == "--workdir").count(), 1);
        assert_eq!(l.args.last().map(String::as_str), Some("app"));
    }

    #[test]
    fn the_shell_records_its_exit_status_in_the_nodes_log() {
        let dir = tempfile::tempdir().expect("tempdir");
        let task = dir.path().join("t");
        for (cmd, want) in [("exit 3", 3), ("true", 0), ("exit 3", 3)] {
            let env = vec![
                ("AZ_BATCH_TASK_DIR".to_string(), task.display().to_string()),
                ("AZ_BATCH_NODE_ROOT_DIR".to_string(), dir.path().display().to_string()),
            ];
            let status = start(&host(cmd, env, &task)).and_then(|mut c| c.wait()).expect("runs");
            assert_eq!(status.code(), Some(want));
            assert_eq!(recorded_exits(dir.path()).get(&task), Some(&want), "{cmd}");
        }
    }

    #[test]
    fn tails_are_bounded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("f");
        std::fs::write(&p, (0..1000).map(|i| format!("line {i}\n")).collect::<String>()).expect("write");
        assert_eq!(tail(&p, 2), "line 998\nline 999");
    }
}
