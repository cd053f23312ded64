//! Which docker-compatible CLI runs container tasks: `--container-cli`, then
//! `BATCHFLOW_CONTAINER_CLI`, then `docker`, then `podman` on the `PATH`; whether its daemon
//! answers before a run starts; and the CLI's own line when a container task fails because of
//! the CLI rather than the program in the container.

use crate::exec::error::RunError;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long `CLI info` may take before the daemon counts as not answering.
const INFO_WAIT: Duration = Duration::from_secs(30);

/// Finds a program on the `PATH` (or takes a path as given).
/// The result is absolute: tasks run in their own working directories, where a relative
/// path would name something else.
pub fn which(program: &str, path_var: Option<&str>) -> Option<PathBuf> {
    let found = if program.contains('/') {
        let p = PathBuf::from(program);
        is_executable(&p).then_some(p)
    } else {
        path_var?
            .split(':')
            .filter(|d| !d.is_empty())
            .map(|d| Path::new(d).join(program))
            .find(|p| is_executable(p))
    }?;
    std::path::absolute(&found).ok()
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The CLI to use: an explicit choice must exist; otherwise the first of docker, podman.
pub fn resolve(
    explicit: Option<&str>,
    env_choice: Option<&str>,
    path_var: Option<&str>,
) -> Result<Option<PathBuf>, RunError> {
    if let Some(choice) = explicit.or(env_choice).filter(|c| !c.trim().is_empty()) {
        return which(choice, path_var)
            .map(Some)
            .ok_or_else(|| RunError::Refused(format!("container CLI `{choice}` was not found or is not executable")));
    }
    Ok(["docker", "podman"].iter().find_map(|p| which(p, path_var)))
}

/// Proves the CLI's daemon answers, with `CLI info` (docker and podman both have it, and both
/// exit non-zero when they cannot reach their daemon or service); refused with the CLI's own
/// message otherwise, before any run folder exists.
pub fn daemon_answers(cli: &Path) -> Result<(), RunError> {
    let shown = format!("{} info", cli.display());
    let refused = |why: String| {
        RunError::Refused(format!(
            "`{shown}` failed, so container tasks cannot run: {why}; start the container daemon (Docker Desktop, or `sudo systemctl start docker`), or name another CLI with `--container-cli`"
        ))
    };
    let mut child = Command::new(cli)
        .arg("info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| refused(e.to_string()))?;
    // Read on a thread: a CLI that writes more than a pipe holds must not stall the wait.
    let reader = child.stderr.take().map(|mut err| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut err, &mut text);
            text
        })
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < INFO_WAIT => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(refused(format!("no answer within {}s", INFO_WAIT.as_secs())));
            }
            Err(e) => return Err(refused(e.to_string())),
        }
    };
    if status.success() {
        return Ok(());
    }
    let stderr = reader.and_then(|r| r.join().ok()).unwrap_or_default();
    let code = status
        .code()
        .map_or("was killed".to_string(), |c| format!("exited with {c}"));
    Err(refused(own_error(&stderr).unwrap_or(code)))
}

/// Whether a container unit's exit status says the CLI itself failed rather than the program
/// in the container: `docker run` exits 125 when the error is with the daemon itself, 126 when
/// the contained command cannot be invoked, 127 when it cannot be found (docker's reference,
/// `docker container run`, "Exit status"; podman's `podman run` documents the same three).
pub fn failed_itself(code: i32) -> bool {
    (125..=127).contains(&code)
}

/// The CLI's own error line in what it wrote to stderr: the first line that names an error
/// (`docker: Error response from daemon: ...`, `Error: ...`, `Cannot connect to ...`), else the
/// first line; never the `See 'docker run --help'.` pointer that follows it.
pub fn own_error(stderr: &str) -> Option<String> {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !help_pointer(l))
        .collect();
    let named = lines.iter().find(|l| {
        let lower = l.to_ascii_lowercase();
        lower.contains("error") || lower.starts_with("cannot ")
    });
    named.or(lines.first()).map(|l| l.to_string())
}

fn help_pointer(line: &str) -> bool {
    (line.starts_with("See '") || line.starts_with("Run '")) && line.contains("--help")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_choices_must_exist() {
        assert!(resolve(Some("/no/such/cli"), None, Some("/usr/bin")).is_err());
        assert!(matches!(resolve(None, None, Some("/nonexistent")), Ok(None)));
        assert!(resolve(None, Some("sh"), Some("/bin:/usr/bin")).is_ok_and(|p| p.is_some()));
    }

    #[test]
    fn the_clis_own_line_is_the_one_naming_the_error() {
        let docker = "Unable to find image 'x:1' locally\ndocker: Error response from daemon: pull access denied for x.\nSee 'docker run --help'.\n";
        assert_eq!(
            own_error(docker).as_deref(),
            Some("docker: Error response from daemon: pull access denied for x.")
        );
        assert_eq!(own_error("Run 'docker run --help' for more information\n"), None);
        assert_eq!(own_error("something odd\n").as_deref(), Some("something odd"));
        assert!(failed_itself(125) && failed_itself(127) && !failed_itself(1) && !failed_itself(128));
    }
}
