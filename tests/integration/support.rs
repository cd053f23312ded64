//! A small builder that runs the real binary with a controlled environment.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The date every test checks retirements against.
pub const TODAY: &str = "2026-11-23";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub struct Bf {
    cmd: Command,
}

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Bf {
    pub fn new() -> Bf {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_batchflow"));
        cmd.current_dir(root())
            .env("BATCHFLOW_TODAY", TODAY)
            .env("NO_COLOR", "1")
            .env("COLUMNS", "100")
            // Prices and account regions cached by the tests stay in the target directory.
            .env("XDG_CACHE_HOME", concat!(env!("CARGO_TARGET_TMPDIR"), "/cache"))
            .env_remove("AZURE_BATCH_ACCESS_KEY")
            .env_remove("AZURE_SUBSCRIPTION_ID")
            .env_remove("BATCHFLOW_ARM_ENDPOINT")
            .env_remove("BATCHFLOW_PRICES_ENDPOINT");
        Bf { cmd }
    }

    pub fn args<I, S>(mut self, args: I) -> Bf
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.cmd.args(args);
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Bf {
        self.cmd.env(key, value);
        self
    }

    pub fn current_dir(mut self, dir: &Path) -> Bf {
        self.cmd.current_dir(dir);
        self
    }

    /// The command, to start it in the background.
    pub fn command(self) -> Command {
        self.cmd
    }

    pub fn run(mut self) -> Output {
        let out = self.cmd.output().expect("the batchflow binary runs");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
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
