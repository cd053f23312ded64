//! The fake Batch service as a program, for the benchmark:
//!
//! ```text
//! cargo run --release --example fake-batch -- --latency-ms 50 --task-duration-ms 1
//! ```
//!
//! prints `listening on http://127.0.0.1:PORT` (first line, flushed) and serves until killed.
//! `--run-tasks`: its nodes really run the tasks (`Config::run_tasks`).

// The tests use all of the fake; this program only part of it.
#[allow(dead_code)]
#[path = "mod.rs"]
mod fake_batch;
#[allow(dead_code)]
#[path = "../schema/mod.rs"]
mod schema;

use fake_batch::{Config, FakeBatch, Faults};
use std::io::Write;
use std::time::Duration;

const USAGE: &str = "usage: fake-batch [--account NAME] [--shared-key BASE64] [--port N] [--latency-ms N]
                  [--task-duration-ms N] [--allocation-delay-ms N] [--threads N] [--seed N]
                  [--throttle P] [--server-error P] [--drop-connection P] [--task-server-error P]
                  [--retry-after-secs N] [--run-tasks]";

fn main() {
    if let Err(e) = run() {
        eprintln!("fake-batch: {e}\n{USAGE}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let mut config = Config::default();
    let mut faults = Faults::default();
    let mut port = 0u16;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--help" || flag == "-h" {
            println!("{USAGE}");
            return Ok(());
        }
        if flag == "--run-tasks" {
            config.run_tasks = true;
            continue;
        }
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = |v: &str| v.parse::<u64>().map_err(|_| format!("{flag}: `{v}` is not a number"));
        let probability = |v: &str| {
            v.parse::<f64>()
                .ok()
                .filter(|p| (0.0..=1.0).contains(p))
                .ok_or_else(|| format!("{flag}: `{v}` is not a probability"))
        };
        match flag.as_str() {
            "--account" => config.account = value,
            "--shared-key" => {
                use base64::Engine;
                let key = base64::engine::general_purpose::STANDARD
                    .decode(value.trim())
                    .map_err(|_| "--shared-key: not base64".to_string())?;
                config.shared_key = Some(key);
            }
            "--port" => port = u16::try_from(number(&value)?).map_err(|_| "--port: too large".to_string())?,
            "--latency-ms" => config.latency = Duration::from_millis(number(&value)?),
            "--task-duration-ms" => config.task_duration = Duration::from_millis(number(&value)?),
            "--allocation-delay-ms" => config.allocation_delay = Duration::from_millis(number(&value)?),
            "--threads" => config.threads = usize::try_from(number(&value)?).unwrap_or(0),
            "--seed" => config.seed = number(&value)?,
            "--throttle" => faults.throttle = probability(&value)?,
            "--server-error" => faults.server_error = probability(&value)?,
            "--drop-connection" => faults.drop_connection = probability(&value)?,
            "--task-server-error" => faults.task_server_error = probability(&value)?,
            "--retry-after-secs" => faults.retry_after_secs = number(&value)?,
            other => return Err(format!("unknown flag `{other}`")),
        }
    }
    let fake = FakeBatch::start_on(config, port);
    fake.set_faults(faults);
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on {}", fake.url()).map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())?;
    drop(out);
    loop {
        std::thread::park();
    }
}
