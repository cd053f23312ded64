//! What the subcommands share: options from the environment, printing diagnostics, exit codes.

pub mod check;
pub mod clean;
pub mod fetch;
pub mod fmt;
pub mod init;
pub mod lsp;
pub mod plan;
pub mod pools;
pub mod progress;
pub mod rerun;
pub mod run;
pub mod runs;
pub mod ssh;
pub mod status;

use batchflow::auth_mode::AuthMode;
use batchflow::diagnostics::{render, Code, Diagnostic, Problem, Severity};
use batchflow::source::SourceMap;
use batchflow::stdlib::Date;
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};

pub use batchflow::exit::{FOUND_ERRORS, OK, USAGE};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Human,
    Github,
    Json,
    Sarif,
}

/// Compile options from the command line and the environment.
pub fn options(params: &[String]) -> Result<batchflow::CompileOptions, String> {
    let mut parsed = Vec::new();
    for p in params {
        let (k, v) = p
            .split_once('=')
            .ok_or_else(|| format!("`--param {p}` needs the form NAME=VALUE"))?;
        parsed.push((k.trim().to_string(), v.to_string()));
    }
    let env: BTreeMap<String, String> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    // The Azure CLI's variable: a shared key means shared-key auth (BF112).
    let auth = env
        .get("AZURE_BATCH_ACCESS_KEY")
        .filter(|k| !k.trim().is_empty())
        .map(|_| AuthMode::SharedKey);
    let today = match env.get("BATCHFLOW_TODAY") {
        Some(text) => {
            Date::parse(text).ok_or_else(|| format!("BATCHFLOW_TODAY=`{text}` is not a date like 2026-11-23"))?
        }
        None => today(),
    };
    Ok(batchflow::CompileOptions {
        params: parsed,
        env,
        auth,
        today,
        ..batchflow::CompileOptions::default()
    })
}

fn today() -> Date {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Date::from_unix(secs)
}

/// Prints diagnostics for people on stderr: colour only on a terminal, never with NO_COLOR.
pub fn eprint_human(diags: &[Diagnostic], sources: &SourceMap) {
    if diags.is_empty() {
        return;
    }
    let stderr = std::io::stderr();
    // no-color.org: any non-empty NO_COLOR turns colour off.
    let color = stderr.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let text = render::human(diags, sources, color, width());
    let _ = stderr.lock().write_all(text.as_bytes());
}

/// Run-time problems on stderr, in the same form as diagnostics.
pub fn eprint_problems(problems: &[Problem], sources: &SourceMap) {
    if problems.is_empty() {
        return;
    }
    let stderr = std::io::stderr();
    let color = stderr.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let text = render::problems(problems, sources, color, width());
    let _ = stderr.lock().write_all(text.as_bytes());
}

/// The terminal width diagnostics are laid out for (`COLUMNS`, else 100).
fn width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(100)
}

/// What a hook script printed (`print`, `log`, `debug`), on stderr.
pub fn eprint_hook_log(compiled: &batchflow::Compiled) {
    if let Some(hooks) = &compiled.hooks {
        for line in hooks.take_log() {
            eprint_line(&format!("hook: {line}"));
        }
    }
}

pub fn summary(diags: &[Diagnostic]) -> String {
    let count = |s: Severity| diags.iter().filter(|d| d.severity == s).count();
    let part = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let (e, w, i) = (count(Severity::Error), count(Severity::Warning), count(Severity::Info));
    if e + w + i == 0 {
        return "no problems".into();
    }
    let mut parts = vec![part(e, "error"), part(w, "warning")];
    if i > 0 {
        parts.push(format!("{i} info"));
    }
    parts.join(", ")
}

pub fn usage_error(message: &str) -> u8 {
    eprint_line(&format!("error: {message}"));
    USAGE
}

/// Writes to stdout. A closed pipe (`batchflow check --format json | head`) is not an error:
/// the reader has what it wanted. Returns the exit code for other write errors.
pub fn print_out(text: &str) -> Result<(), u8> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => {
            eprint_line(&format!("error: cannot write to stdout: {e}"));
            Err(USAGE)
        }
    }
}

/// A line on stderr; if stderr is gone there is no one left to tell.
pub fn eprint_line(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

pub fn explain(code: Option<&str>) -> u8 {
    let Some(text) = code else {
        let index = format!("{}\n{}", batchflow::check::docs::index(), batchflow::guide::index());
        return print_out(&index).err().unwrap_or(OK);
    };
    if let Some(page) = batchflow::guide::page(text) {
        return print_out(page).err().unwrap_or(OK);
    }
    match Code::parse(text) {
        Some(c) => print_out(&batchflow::check::docs::page(c)).err().unwrap_or(OK),
        None => {
            let topics = batchflow::guide::TOPICS.iter().map(|(name, _, _)| *name);
            let names = Code::ALL.iter().flat_map(|c| [c.as_str(), c.name()]).chain(topics);
            let hint = batchflow::suggest::did_you_mean(text, names)
                .unwrap_or_else(|| "run `batchflow explain` to list the rules".into());
            usage_error(&format!("no rule `{text}`; {hint}"))
        }
    }
}

/// The process environment as text (variables that are not valid UTF-8 are left out).
pub fn environment() -> std::collections::HashMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}
