//! Command lines: shell features without a shell (BF218) and a shell of the other OS (BF219).
//! Batch runs a command line without a shell (tasks, start tasks, job preparation and
//! release tasks, multi-instance coordination, in a container or not), so `$VAR`, pipes and
//! redirections reach the program as text unless the line starts one.

use super::command_line::{scan, Dialect, Effect, Scan, SPECIAL};
use super::runnables::{self, Runnable};
use crate::diagnostics::{Code, Diagnostic};
use crate::graph::{Pool, Workflow};
use crate::stdlib::facts::pool_os;
use crate::stdlib::Os;
use std::borrow::Cow;

/// POSIX shells by their program name.
const POSIX_SHELLS: &[&str] = &["sh", "bash", "dash", "zsh", "ksh", "ash", "mksh"];

/// Help texts quote the command itself when it is at most this long.
const QUOTE_LIMIT: usize = 100;

pub fn check(wf: &Workflow, out: &mut Vec<Diagnostic>) {
    for r in runnables::all(wf) {
        let Some(pool) = r.pool else { continue };
        let Some(os) = pool_os(pool) else { continue };
        // A sweep's instances differ: quote a command in the help only when there is one.
        let quote = r.each(|s| s.command.as_ref()).nth(1).is_none();
        check_lines(&r, pool, (os, quote), "command", r.each(|s| s.command.as_ref()), out);
        let quote = r
            .each(|s| s.multi_instance.as_ref().map(|m| &m.coordination))
            .nth(1)
            .is_none();
        let coordination = r.each(|s| s.multi_instance.as_ref().map(|m| &m.coordination));
        check_lines(&r, pool, (os, quote), "coordination", coordination, out);
    }
}

/// One diagnostic per rule and attribute: the first instance that shows the problem.
fn check_lines<'a>(
    r: &Runnable<'_>,
    pool: &Pool,
    (os, quote): (Os, bool),
    attr: &str,
    lines: impl Iterator<Item = &'a str>,
    out: &mut Vec<Diagnostic>,
) {
    let dialect = match os {
        Os::Linux => Dialect::Posix,
        Os::Windows => Dialect::Windows,
    };
    let (mut other_os, mut no_shell) = (false, false);
    for line in lines {
        // Most lines (every instance of a large sweep) have nothing to quote or report.
        if !line.contains(SPECIAL) {
            let words: Vec<&str> = line.split_whitespace().collect();
            let program = program(&words).map(|i| words[i]);
            if let (false, Some(program)) = (other_os, program) {
                if let Some(d) = shell_for_other_os(r, pool, os, attr, program) {
                    out.push(d);
                    other_os = true;
                }
            }
            continue;
        }
        let s = scan(&without_placeholders(line), dialect);
        let Some(i) = program(&s.words) else { continue };
        let program = s.words[i].as_str();
        if !other_os {
            if let Some(d) = shell_for_other_os(r, pool, os, attr, program) {
                out.push(d);
                other_os = true;
            }
        }
        if !no_shell && !starts_shell(&s.words[i..], dialect) {
            if let Some(d) = feature_without_shell(r, attr, quote.then_some(line), &s, dialect) {
                out.push(d);
                no_shell = true;
            }
        }
        if other_os && no_shell {
            break;
        }
    }
}

/// `<secret:NAME>` placeholders hold `<` and `>`; a secret's value is a plain word.
fn without_placeholders(line: &str) -> Cow<'_, str> {
    if !line.contains("<secret:") {
        return Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find("<secret:") {
        out.push_str(&rest[..i]);
        out.push_str("SECRET");
        rest = rest[i..].find('>').map_or("", |e| &rest[i + e + 1..]);
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Where the program of a command line is among its words: after `env` and the
/// `NAME=value` assignments and options `env` takes.
fn program<S: AsRef<str>>(words: &[S]) -> Option<usize> {
    let first = words.first()?.as_ref();
    if !basename(first).eq_ignore_ascii_case("env") {
        return Some(0);
    }
    (1..words.len()).find(|&i| {
        let w = words[i].as_ref();
        !w.starts_with('-') && !w.contains('=')
    })
}

/// The file name of a program path: `/bin/bash` and `C:\x\CMD.EXE` give `bash`, `CMD.EXE`.
fn basename(program: &str) -> &str {
    program.rsplit(['/', '\\']).next().unwrap_or(program)
}

fn ends_with_ignore_case(text: &str, suffix: &str) -> bool {
    text.len() >= suffix.len()
        && text
            .get(text.len() - suffix.len()..)
            .is_some_and(|end| end.eq_ignore_ascii_case(suffix))
}

fn is_posix_shell(program: &str) -> bool {
    let name = basename(program);
    POSIX_SHELLS.iter().any(|s| name.eq_ignore_ascii_case(s))
}

/// `cmd`, `powershell`, `pwsh`, with or without `.exe`.
fn windows_shell(program: &str) -> Option<&'static str> {
    let name = basename(program);
    let name = if ends_with_ignore_case(name, ".exe") {
        &name[..name.len() - 4]
    } else {
        name
    };
    ["cmd", "powershell", "pwsh"]
        .into_iter()
        .find(|s| name.eq_ignore_ascii_case(s))
}

/// Whether the line hands the rest of itself to a shell: `sh -c`, `bash -ec`, `cmd /c`,
/// PowerShell, or (on Windows) a `.bat`/`.cmd` script, which Windows runs through cmd.exe.
fn starts_shell(words: &[String], dialect: Dialect) -> bool {
    let Some((program, args)) = words.split_first() else {
        return false;
    };
    if is_posix_shell(program) {
        return args
            .iter()
            .take_while(|a| a.starts_with('-'))
            .any(|a| !a.starts_with("--") && a.contains('c'));
    }
    match windows_shell(program) {
        Some("cmd") => args.iter().any(|a| {
            let a = a.to_ascii_lowercase();
            a.starts_with("/c") || a.starts_with("/k")
        }),
        Some(_) => true,
        None => {
            dialect == Dialect::Windows
                && (ends_with_ignore_case(program, ".bat") || ends_with_ignore_case(program, ".cmd"))
        }
    }
}

/// BF219: a POSIX shell on Windows nodes, cmd.exe or Windows PowerShell on Linux ones.
fn shell_for_other_os(r: &Runnable<'_>, pool: &Pool, os: Os, attr: &str, program: &str) -> Option<Diagnostic> {
    let windows_program = program.contains('\\') || !program.contains('/');
    let (shell, help) = match os {
        Os::Windows if is_posix_shell(program) && !ends_with_ignore_case(program, ".exe") => (
            program.to_string(),
            "Windows nodes run `cmd /c ...` (or `powershell -Command ...`); run POSIX shell scripts on a Linux pool",
        ),
        Os::Linux if windows_program && windows_shell(program).is_some_and(|s| s != "pwsh") => (
            program.to_string(),
            "Linux nodes run `/bin/sh -c '...'` (or `bash -c '...'`); run cmd.exe and PowerShell scripts on a Windows pool",
        ),
        _ => return None,
    };
    let where_ = if r.specs.iter().any(|s| s.container.is_some()) {
        format!("in a {} container", os.as_str())
    } else {
        format!("on {} nodes", os.as_str())
    };
    Some(
        Diagnostic::new(
            Code::BF219,
            r.span_of(attr),
            format!(
                "this {} runs `{shell}` {where_}, where it does not exist (pool `{}`)",
                r.kind.what(),
                pool.name.value
            ),
        )
        .with_label(
            pool.attrs.or("image", pool.name.span),
            format!("a {} pool", os.as_str()),
        )
        .with_help(help),
    )
}

/// BF218: the first shell feature of a line that starts no shell.
fn feature_without_shell(
    r: &Runnable<'_>,
    attr: &str,
    line: Option<&str>,
    s: &Scan,
    dialect: Dialect,
) -> Option<Diagnostic> {
    let f = s.feature.as_ref()?;
    let effect = match f.effect {
        Effect::Expand => "is not expanded",
        Effect::Substitute => "runs nothing",
        Effect::Pipe => "does not pipe",
        Effect::Redirect => "does not redirect",
        Effect::Chain => "does not start another command",
    };
    let line = line.filter(|l| l.len() <= QUOTE_LIMIT && !l.contains('\''));
    let help = match (dialect, line) {
        (Dialect::Posix, Some(line)) => format!("start a shell to run it: `/bin/sh -c '{line}'`"),
        (Dialect::Posix, None) => {
            "start a shell to run it: `/bin/sh -c '...'` around the command line (a `'` inside becomes `'\\''`)"
                .to_string()
        }
        (Dialect::Windows, Some(line)) => format!("start a shell to run it: `cmd /c {line}`"),
        (Dialect::Windows, None) => "start a shell to run it: `cmd /c ...` before the command line".to_string(),
    };
    Some(
        Diagnostic::new(
            Code::BF218,
            r.span_of(attr),
            format!(
                "`{}` {effect}: Batch runs this {}'s `{attr}` without a shell",
                f.text,
                r.kind.what()
            ),
        )
        .with_help(help),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str, d: Dialect) -> Vec<String> {
        scan(line, d).words
    }

    #[test]
    fn shells_are_recognized() {
        let p = Dialect::Posix;
        assert!(starts_shell(&words("/bin/sh -c 'echo $X'", p), p));
        assert!(starts_shell(&words("bash -euc 'x'", p), p));
        assert!(starts_shell(&words("bash --login -c 'x'", p), p));
        assert!(!starts_shell(&words("bash run.sh $X", p), p));
        assert!(!starts_shell(&words("python3 -c 'x'", p), p));
        let w = Dialect::Windows;
        assert!(starts_shell(&words("cmd /c echo %X%", w), w));
        assert!(starts_shell(&words("CMD.EXE /S /C \"x\"", w), w));
        assert!(starts_shell(&words("powershell -Command $env:X", w), w));
        assert!(starts_shell(&words("setup.cmd %X%", w), w));
        assert!(!starts_shell(&words("setup.cmd %X%", p), p));
    }

    #[test]
    fn env_is_skipped() {
        let w = words("/usr/bin/env -i A=1 bash -c 'x'", Dialect::Posix);
        assert_eq!(program(&w), Some(3));
        assert_eq!(windows_shell(r"C:\Windows\System32\CMD.EXE"), Some("cmd"));
        assert!(is_posix_shell("/usr/bin/bash") && !is_posix_shell("./bashful"));
    }

    #[test]
    fn placeholders_are_words() {
        assert_eq!(
            without_placeholders("curl -o x \"https://a/b?<secret:SAS>\""),
            "curl -o x \"https://a/b?SECRET\""
        );
        assert_eq!(without_placeholders("a <secret:X"), "a SECRET");
    }
}
