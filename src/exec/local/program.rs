//! The program of a command line, found as a Linux node finds it without a shell: a name with a
//! `/` is a path (a relative one starts in the working directory), any other name is looked up
//! on the `PATH` the task gets. What cannot run fails its task with a message saying why, as
//! Batch fails a task whose "specified command program is not found", never the run.

use super::container_cli::which;
use super::words::{self, is_shell_word, shell_syntax};
use std::path::Path;

/// The exit status of a program that was not found, as shells report it.
pub const NOT_FOUND: i32 = 127;
/// The exit status of a file that cannot be run (not executable, a directory).
pub const NOT_EXECUTABLE: i32 = 126;

/// Why a command line cannot start, and the exit status to record (none when it is not the
/// program's fault, such as an unclosed quote).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub message: String,
    pub exit_code: Option<i32>,
}

/// The words of `line`, its program found: a name found on the `PATH` becomes that file's
/// absolute path, so the shell that supervises the task runs that file and never a built-in of
/// its own with the same name (`echo`, `test`), nor a shell keyword.
pub fn resolve(line: &str, env: &[(String, String)], cwd: &Path) -> Result<Vec<String>, Refusal> {
    let mut argv = words::split(line).map_err(|e| Refusal {
        message: format!("cannot split the command line into words: {e}"),
        exit_code: None,
    })?;
    let Some(program) = argv.first_mut() else {
        return Err(Refusal {
            message: "the command line is empty: there is no program to run".into(),
            exit_code: None,
        });
    };
    if program.contains('/') {
        let path = cwd.join(&*program);
        return match path.metadata() {
            Err(_) => Err(refusal(line, program, NOT_FOUND, where_not_found(program))),
            Ok(m) if m.is_dir() => Err(refusal(line, program, NOT_EXECUTABLE, "is a directory")),
            Ok(m) if !executable(&m) => Err(refusal(
                line,
                program,
                NOT_EXECUTABLE,
                "is not executable: `chmod +x` it, or run it through its interpreter (`/bin/sh script.sh`)",
            )),
            Ok(_) => Ok(argv),
        };
    }
    let path_var = env
        .iter()
        .rev()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone())
        .or_else(|| std::env::var("PATH").ok());
    match which(program, path_var.as_deref()) {
        Some(found) => {
            *program = found.display().to_string();
            Ok(argv)
        }
        None => Err(refusal(line, program, NOT_FOUND, "was not found on the PATH")),
    }
}

fn where_not_found(program: &str) -> &'static str {
    if program.starts_with('/') {
        "does not exist"
    } else {
        "does not exist in the working directory"
    }
}

fn executable(m: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    m.permissions().mode() & 0o111 != 0
}

/// `program `X` was not found…`, with a hint when the line was written for a shell.
fn refusal(line: &str, program: &str, code: i32, why: &str) -> Refusal {
    let mut message = format!("program `{program}` {why}");
    if is_shell_word(program) {
        message.push_str(&format!(
            "; `{program}` is part of a shell, and Batch runs command lines without one: start a shell, as in `/bin/sh -c '…'`"
        ));
    } else if let Some(s) = shell_syntax(line) {
        message.push_str(&format!(
            "; Batch runs command lines without a shell, so `{s}` reaches the program as written: start one, as in `/bin/sh -c '…'`"
        ));
    }
    Refusal {
        message,
        exit_code: Some(code),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Vec<(String, String)> {
        vec![("PATH".to_string(), "/usr/bin:/bin".to_string())]
    }

    #[test]
    fn names_are_found_on_the_path_and_paths_are_kept() {
        let argv = resolve("sh -c 'echo $HOME'", &env(), Path::new("/")).expect("found");
        assert!(argv[0].ends_with("/sh") && argv[0].starts_with('/'), "{argv:?}");
        assert_eq!(argv[1..], ["-c", "echo $HOME"]);
        let argv = resolve("/bin/sh -c true", &env(), Path::new("/")).expect("found");
        assert_eq!(argv, ["/bin/sh", "-c", "true"]);
    }

    #[test]
    fn what_cannot_run_is_refused_with_a_reason() {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = resolve("no-such-program-bf $HOME", &env(), dir.path()).expect_err("missing");
        assert_eq!(r.exit_code, Some(NOT_FOUND));
        assert!(
            r.message.contains("`no-such-program-bf` was not found on the PATH"),
            "{}",
            r.message
        );
        assert!(
            r.message.contains("without a shell, so `$HOME` reaches"),
            "{}",
            r.message
        );
        let r = resolve("cd sub", &env(), dir.path()).expect_err("a shell word");
        assert!(r.message.contains("`cd` is part of a shell"), "{}", r.message);
        let r = resolve("./run.sh", &env(), dir.path()).expect_err("missing");
        assert!(
            r.message.contains("does not exist in the working directory"),
            "{}",
            r.message
        );
        std::fs::write(dir.path().join("run.sh"), "echo hi\n").expect("write");
        let r = resolve("./run.sh", &env(), dir.path()).expect_err("not executable");
        assert_eq!(r.exit_code, Some(NOT_EXECUTABLE));
        let r = resolve("echo 'a", &env(), dir.path()).expect_err("unclosed");
        assert_eq!(r.exit_code, None);
        assert!(resolve("  ", &env(), dir.path()).is_err());
    }
}
