//! `batchflow fmt [PATHS] [--check] [--diff]`: rewrites workflows in the canonical layout of
//! `batchflow::format`. A file that does not parse is left untouched and reported.

use super::{eprint_human, eprint_line, print_out, usage_error, FOUND_ERRORS, OK};
use batchflow::diagnostics::{Code, Diagnostic};
use batchflow::format::{self, FormatError};
use batchflow::source::{SourceMap, Span};
use std::path::{Path, PathBuf};

/// What to do with a file whose layout is not canonical.
#[derive(Clone, Copy)]
pub struct Mode {
    /// Write nothing; name the files (exit 1 if any).
    pub check: bool,
    /// Write nothing; print a unified diff of each (exit 1 if any).
    pub diff: bool,
}

pub fn run(paths: &[PathBuf], mode: Mode) -> u8 {
    let files = match super::check::files(paths) {
        Ok(f) => f,
        Err(e) => return usage_error(&e),
    };
    let mut sources = SourceMap::new();
    let (mut changed, mut refused) = (0, 0);
    for file in &files {
        let name = file.display().to_string();
        let text = match read(file, &mut sources) {
            Ok(Ok(text)) => text,
            Ok(Err(diag)) => {
                eprint_human(&[diag], &sources);
                refused += 1;
                continue;
            }
            Err(e) => return usage_error(&format!("cannot read `{name}`: {e}")),
        };
        let src = sources.add(name.clone(), text.as_str());
        let out = match format::format_text(src, &text) {
            Ok(out) => out,
            Err(FormatError::Syntax(diag)) => {
                eprint_human(&[*diag], &sources);
                eprint_line(&format!("{name}: not formatted: fix the syntax error first"));
                refused += 1;
                continue;
            }
            Err(FormatError::Unstable) => {
                eprint_line(&format!(
                    "error: {name}: left as it is: formatting would change what it means or lose a comment; this is a bug in batchflow, please report it with the file"
                ));
                refused += 1;
                continue;
            }
        };
        if out == text {
            continue;
        }
        changed += 1;
        let shown = if mode.diff {
            print_out(&format::unified_diff(&text, &out, &name))
        } else if mode.check {
            print_out(&format!("{name}\n"))
        } else {
            std::fs::write(file, &out).map_err(|e| usage_error(&format!("cannot write `{name}`: {e}")))
        };
        if let Err(code) = shown {
            return code;
        }
    }
    eprint_line(&summary(files.len(), changed, refused, mode.check || mode.diff));
    if refused > 0 || ((mode.check || mode.diff) && changed > 0) {
        FOUND_ERRORS
    } else {
        OK
    }
}

fn summary(total: usize, changed: usize, refused: usize, dry: bool) -> String {
    let files = |n: usize| format!("{n} file{}", if n == 1 { "" } else { "s" });
    let mut parts = vec![if dry {
        format!("{} would be reformatted", files(changed))
    } else {
        format!("{} reformatted", files(changed))
    }];
    parts.push(format!("{} already formatted", files(total - changed - refused)));
    if refused > 0 {
        parts.push(format!("{} not formatted (errors above)", files(refused)));
    }
    parts.join(", ")
}

/// The file's text, or the BF001 error that it is too large, binary or not UTF-8.
fn read(path: &Path, sources: &mut SourceMap) -> std::io::Result<Result<String, Diagnostic>> {
    let name = path.display().to_string();
    let meta = std::fs::metadata(path)?;
    if meta.len() > batchflow::compile::MAX_FILE_BYTES {
        let src = sources.add(name, "");
        let why = format!(
            "the file is {} bytes; workflows may be at most {}",
            meta.len(),
            batchflow::compile::MAX_FILE_BYTES
        );
        return Ok(Err(Diagnostic::new(Code::BF001, Span::new(src, 0, 0), why)));
    }
    let bytes = std::fs::read(path)?;
    Ok(batchflow::compile::decode(&bytes).map_err(|(offset, why)| {
        let src = sources.add(name, String::from_utf8_lossy(&bytes).into_owned());
        Diagnostic::new(Code::BF001, Span::new(src, offset, offset), why)
            .with_help("workflows are UTF-8 text files; check that this is the file you meant")
    }))
}
