//! The builder every test runs the real binary through (as just's `Test`): it owns a
//! temporary repository, writes files into it, runs `batchflow` with a controlled environment
//! and ends with `.success()`, `.failure()` or `.status(n)`, which assert the exit code and
//! any expected output, showing a line diff when the output differs.

use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

/// The date every test checks retirements against.
pub const TODAY: &str = "2026-11-23";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The folder a test's commands run in: a temporary one (removed when the last handle goes)
/// or the crate root, for tests of the checked-in fixtures. Handles share the folder, so a
/// test can run the binary several times in the same repository.
#[derive(Clone)]
pub struct Repo(Arc<Folder>);

struct Folder {
    path: PathBuf,
    temp: Option<tempfile::TempDir>,
}

impl Repo {
    /// A temporary repository: an empty `.git` marks its root, so runs land in its
    /// `.batchflow/runs/` and `check` without paths walks its `pipelines/`.
    pub fn new() -> Repo {
        let repo = Repo::empty();
        repo.mkdir(".git");
        repo
    }

    /// A temporary folder that is no repository.
    pub fn empty() -> Repo {
        let temp = tempfile::tempdir().expect("tempdir");
        // The binary sees its working directory with symlinks resolved; so must the asserts.
        let path = std::fs::canonicalize(temp.path()).expect("canonical tempdir");
        Repo(Arc::new(Folder { path, temp: Some(temp) }))
    }

    /// The crate root, where `examples/` and `tests/fixtures/` are; nothing is written there.
    pub fn project() -> Repo {
        Repo(Arc::new(Folder {
            path: root(),
            temp: None,
        }))
    }

    pub fn path(&self) -> &Path {
        &self.0.path
    }

    /// A command to run in this repository.
    pub fn test(&self) -> Test {
        Test {
            repo: self.clone(),
            current_dir: self.path().to_path_buf(),
            args: Vec::new(),
            env: Vec::new(),
            wrapper: Vec::new(),
            stdout: None,
            stderr: None,
            stdout_contains: Vec::new(),
            stderr_contains: Vec::new(),
            keep: Vec::new(),
        }
    }

    /// Writes a file below the repository (making its folders) and returns its path.
    pub fn write(&self, rel: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> PathBuf {
        assert!(self.0.temp.is_some(), "tests write into temporary repositories only");
        let path = self.path().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&path, contents).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        path
    }

    /// Writes an executable file (a script the workflow runs, a stand-in CLI).
    pub fn executable(&self, rel: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = self.write(rel, contents);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        path
    }

    pub fn mkdir(&self, rel: impl AsRef<Path>) -> PathBuf {
        assert!(self.0.temp.is_some(), "tests write into temporary repositories only");
        let path = self.path().join(rel);
        std::fs::create_dir_all(&path).expect("mkdir");
        path
    }

    pub fn read(&self, rel: impl AsRef<Path>) -> String {
        let path = self.path().join(rel);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    pub fn exists(&self, rel: impl AsRef<Path>) -> bool {
        self.path().join(rel).exists()
    }
}

/// One run of the binary: what to run it with and what to expect of it.
#[must_use]
pub struct Test {
    repo: Repo,
    current_dir: PathBuf,
    args: Vec<OsString>,
    env: Vec<(String, OsString)>,
    /// A program (and its arguments) that runs the binary, as `/usr/bin/time`.
    wrapper: Vec<OsString>,
    stdout: Option<String>,
    stderr: Option<String>,
    stdout_contains: Vec<String>,
    stderr_contains: Vec<String>,
    /// What must live while the binary runs (a fake service it talks to).
    keep: Vec<Box<dyn std::any::Any>>,
}

impl Test {
    /// A run in a fresh temporary repository (see [`Repo::new`]).
    pub fn new() -> Test {
        Repo::new().test()
    }

    /// A run in a fresh temporary folder that is no repository.
    pub fn empty() -> Test {
        Repo::empty().test()
    }

    /// A run in the crate root, on the checked-in examples and fixtures.
    pub fn project() -> Test {
        Repo::project().test()
    }

    /// The repository this run happens in, to inspect it or run again in it.
    pub fn repo(&self) -> Repo {
        self.repo.clone()
    }

    pub fn write(self, rel: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> Test {
        self.repo.write(rel, contents);
        self
    }

    pub fn mkdir(self, rel: impl AsRef<Path>) -> Test {
        self.repo.mkdir(rel);
        self
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Test {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Test
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args.extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Test {
        self.env.push((key.to_string(), value.as_ref().to_os_string()));
        self
    }

    /// Where the binary runs: a folder of the repository, or an absolute path.
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Test {
        self.current_dir = self.repo.path().join(dir);
        self
    }

    /// Runs the binary through `program ARGS... batchflow ...`.
    pub fn wrapper<I, S>(mut self, program: I) -> Test
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.wrapper = program.into_iter().map(|a| a.as_ref().to_os_string()).collect();
        self
    }

    /// The whole of stdout.
    pub fn stdout(mut self, expected: impl Into<String>) -> Test {
        self.stdout = Some(expected.into());
        self
    }

    /// The whole of stderr.
    pub fn stderr(mut self, expected: impl Into<String>) -> Test {
        self.stderr = Some(expected.into());
        self
    }

    pub fn stdout_contains(mut self, part: impl Into<String>) -> Test {
        self.stdout_contains.push(part.into());
        self
    }

    pub fn stderr_contains(mut self, part: impl Into<String>) -> Test {
        self.stderr_contains.push(part.into());
        self
    }

    /// Keeps `thing` (a fake service the run talks to) alive until the run has ended (with
    /// `success`, `failure`, `status` or `run`; not with `command`).
    pub fn keep(mut self, thing: impl std::any::Any) -> Test {
        self.keep.push(Box::new(thing));
        self
    }

    /// The command, to start it in the background.
    pub fn command(self) -> Command {
        let bin = env!("CARGO_BIN_EXE_batchflow");
        let mut cmd = match self.wrapper.split_first() {
            Some((program, rest)) => {
                let mut cmd = Command::new(program);
                cmd.args(rest).arg(bin);
                cmd
            }
            None => Command::new(bin),
        };
        cmd.current_dir(&self.current_dir)
            .env("BATCHFLOW_TODAY", TODAY)
            .env("NO_COLOR", "1")
            .env("COLUMNS", "100")
            // Prices and account regions cached by the tests stay in the target directory.
            .env("XDG_CACHE_HOME", concat!(env!("CARGO_TARGET_TMPDIR"), "/cache"))
            // The task cache asks container registries for digests: never the network's.
            .env("BATCHFLOW_REGISTRY_DIGESTS", "off")
            .env_remove("AZURE_BATCH_ACCESS_KEY")
            .env_remove("AZURE_SUBSCRIPTION_ID")
            .env_remove("BATCHFLOW_ARM_ENDPOINT")
            .env_remove("BATCHFLOW_PRICES_ENDPOINT")
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// Exit 0 and the expected output.
    #[track_caller]
    pub fn success(self) -> Output {
        self.status(0)
    }

    /// Exit 1 (problems found, a run that failed) and the expected output.
    #[track_caller]
    pub fn failure(self) -> Output {
        self.status(1)
    }

    /// Exit `code` and the expected output.
    #[track_caller]
    pub fn status(self, code: i32) -> Output {
        self.finish(Some(code))
    }

    /// The expected output, whatever the exit code: for tests that judge the code themselves.
    #[track_caller]
    pub fn run(self) -> Output {
        self.finish(None)
    }

    #[track_caller]
    fn finish(mut self, code: Option<i32>) -> Output {
        let keep = std::mem::take(&mut self.keep);
        let shown = format!("batchflow {}", shell_words(&self.args));
        let expected = Expected {
            code,
            stdout: self.stdout.clone(),
            stderr: self.stderr.clone(),
            stdout_contains: self.stdout_contains.clone(),
            stderr_contains: self.stderr_contains.clone(),
        };
        let repo = self.repo.clone();
        let out = self.command().output().expect("the batchflow binary runs");
        drop(keep);
        let out = Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            repo,
        };
        let problems = expected.problems(&out);
        if !problems.is_empty() {
            panic!(
                "`{shown}` in {}:\n{}\n--- stdout\n{}\n--- stderr\n{}",
                out.repo.path().display(),
                problems.join("\n"),
                out.stdout,
                out.stderr
            );
        }
        out
    }
}

struct Expected {
    code: Option<i32>,
    stdout: Option<String>,
    stderr: Option<String>,
    stdout_contains: Vec<String>,
    stderr_contains: Vec<String>,
}

impl Expected {
    fn problems(&self, out: &Output) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(code) = self.code.filter(|c| *c != out.code) {
            problems.push(format!("exit {}, expected {code}", out.code));
        }
        for (name, want, have) in [
            ("stdout", &self.stdout, &out.stdout),
            ("stderr", &self.stderr, &out.stderr),
        ] {
            if let Some(want) = want.as_ref().filter(|w| *w != have) {
                problems.push(format!("{name} differs (- expected, + actual):\n{}", diff(want, have)));
            }
        }
        for (name, parts, have) in [
            ("stdout", &self.stdout_contains, &out.stdout),
            ("stderr", &self.stderr_contains, &out.stderr),
        ] {
            for part in parts.iter().filter(|p| !have.contains(p.as_str())) {
                problems.push(format!("{name} lacks {part:?}"));
            }
        }
        problems
    }
}

/// A unified line diff of `want` against `have`.
pub fn diff(want: &str, have: &str) -> String {
    similar::TextDiff::from_lines(want, have)
        .unified_diff()
        .context_radius(3)
        .header("expected", "actual")
        .to_string()
}

fn shell_words(args: &[OsString]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        let a = a.to_string_lossy();
        let sep = if i == 0 { "" } else { " " };
        if a.is_empty() || a.contains(|c: char| c.is_whitespace() || c == '\'') {
            let _ = write!(out, "{sep}{a:?}");
        } else {
            let _ = write!(out, "{sep}{a}");
        }
    }
    out
}

/// What a run printed and how it ended, with the repository it ran in.
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub repo: Repo,
}

impl Output {
    /// The diagnostics of `--format json` output.
    pub fn diagnostics(&self) -> Vec<serde_json::Value> {
        let v: serde_json::Value = serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\nstderr:\n{}", self.stdout, self.stderr));
        v["diagnostics"].as_array().cloned().unwrap_or_default()
    }

    pub fn codes(&self) -> Vec<String> {
        self.diagnostics()
            .iter()
            .map(|d| d["code"].as_str().unwrap_or("").to_string())
            .collect()
    }
}

/// An output in full, for assert messages.
pub fn show(out: &Output) -> String {
    format!(
        "exit {}\n--- stdout\n{}\n--- stderr\n{}",
        out.code, out.stdout, out.stderr
    )
}

/// Every workflow in `examples/`, as `examples/NAME.batchflow`, sorted.
pub fn examples() -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(root().join("examples"))
        .expect("examples/")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".batchflow"))
        .map(|n| format!("examples/{n}"))
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_differing_output_shows_a_line_diff() {
        let d = diff("a\nb\nc\n", "a\nB\nc\n");
        assert!(d.contains("-b\n") && d.contains("+B\n"), "{d}");
    }

    #[test]
    fn the_builder_writes_into_its_repository_and_checks_the_output() {
        let out = Test::new()
            .write("pipelines/a.batchflow", "let x = 1\n")
            .args(["check", "pipelines/a.batchflow"])
            .stdout("")
            .stderr_contains("checked 1 file")
            .success();
        assert!(out.repo.exists(".git"));
        assert!(out.repo.exists("pipelines/a.batchflow"));
    }

    #[test]
    #[should_panic(expected = "exit 0, expected 1")]
    fn a_wrong_exit_code_fails() {
        let _ = Test::new()
            .write("a.batchflow", "let x = 1\n")
            .args(["check", "a.batchflow"])
            .failure();
    }
}
