//! `files("data/*.fq")`: the repository files a glob matches, sorted. The compiler scans the
//! repository for every glob the file names before evaluating anything (`globs.rs`,
//! `crate::repo_scan`), so this only looks the answer up. A sweep over `files()` names its
//! instances after the files (`align-s1`, `align-s2`) rather than by index.

use super::eval_error::{wrong_type, EvalError, EvalResult};
use super::globs::FILES;
use super::Lowerer;
use crate::ast::{Arg, Expr, ExprKind};
use crate::diagnostics::{Code, Diagnostic};
use crate::repo::{normalize, RepoFacts};
use crate::source::Span;
use crate::value::Value;
use std::collections::HashSet;

/// Longest part of an instance id taken from a file name: ids stay within Batch's 64
/// characters with the task's name and other loop variables beside it.
const LABEL_CHARS: usize = 32;

/// How deep a `let` may stand for another `let` when deciding whether a sweep runs over files.
const LET_HOPS: usize = 16;

/// `files(glob)`: the paths, relative to the repository root, of the files `glob` matches.
pub fn files(glob: &str, span: Span, repo: &RepoFacts) -> EvalResult {
    if normalize(glob).is_none() {
        return Err(Diagnostic::new(Code::BF226, span, format!("`{glob}` is outside the repository"))
            .with_help("`files()` globs are relative to the repository root and stay inside it: no leading `/` and no `..` above the root")
            .into());
    }
    match repo.files(glob) {
        Some((_, found)) if !found.is_empty() => Ok(Value::List(
            found
                .iter()
                .map(|f| Value::str(f.path.as_str()))
                .collect::<Vec<_>>()
                .into(),
        )),
        _ => {
            let root = repo.root.as_deref().filter(|r| !r.is_empty()).unwrap_or(".");
            Err(Diagnostic::new(Code::BF225, span, format!("`{glob}` matches no file in the repository"))
                .with_help(format!(
                    "`files()` globs are relative to the repository root ({root}); `*` and `?` match within a folder, `**` across folders"
                ))
                .into())
        }
    }
}

/// BF006 unless every argument of a `files()` call is a plain string: the repository is read
/// before anything is evaluated, so the glob cannot depend on a value.
pub fn literal_globs(args: &[Arg]) -> Result<(), EvalError> {
    match args.iter().find(|a| a.value.as_plain_str().is_none()) {
        Some(arg) => Err(wrong_type(
            arg.value.span,
            "`files` takes a glob written as a plain string",
            "the repository is read before the workflow is evaluated: write the pattern out, like files(\"data/*.fq\"), without `${...}`, names or `+`",
        )),
        None => Ok(()),
    }
}

/// The file name of a `/`-separated path: `data/s1.fq` -> `s1.fq`.
pub fn basename(path: &str) -> String {
    path.trim_end_matches(['/', '\\'])
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .to_string()
}

/// The file name without its last extension: `data/s1.fq` -> `s1`, `a.tar.gz` -> `a.tar`,
/// `.profile` -> `.profile`.
pub fn stem(path: &str) -> String {
    let name = basename(path);
    match name.rfind('.') {
        Some(dot) if dot > 0 => name.get(..dot).unwrap_or(&name).to_string(),
        _ => name,
    }
}

/// The id part of each file of a sweep: its stem with characters Batch ids do not allow
/// turned into `-`, at most [`LABEL_CHARS`] long, made unique ignoring case (`s1`, `s1-2`).
pub fn labels(values: &[Value]) -> Vec<String> {
    let mut taken: HashSet<String> = HashSet::new();
    let mut out = Vec::with_capacity(values.len());
    for v in values {
        let text = v.to_text().unwrap_or_default();
        let mut label: String = stem(&text)
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .take(LABEL_CHARS)
            .collect();
        if label.is_empty() {
            label = "file".into();
        }
        let mut unique = label.clone();
        let mut n = 2u64;
        while !taken.insert(unique.to_ascii_lowercase()) {
            unique = format!("{label}-{n}");
            n += 1;
        }
        out.push(unique);
    }
    out
}

impl Lowerer<'_> {
    /// Whether a loop source is a list of repository files: a `files(...)` call, a `let` that
    /// holds one, or a `+` of such lists.
    pub(super) fn lists_files(&self, expr: &Expr) -> bool {
        self.lists_files_within(expr, LET_HOPS)
    }

    fn lists_files_within(&self, expr: &Expr, hops: usize) -> bool {
        match &expr.kind {
            ExprKind::Call { name, .. } => name.name == FILES,
            ExprKind::Sum(terms) => terms.iter().all(|t| self.lists_files_within(t, hops)),
            ExprKind::Path(parts) if parts.len() == 1 && hops > 0 => {
                let Some(name) = parts.first() else { return false };
                self.names
                    .scopes
                    .unit(self.unit)
                    .and_then(|u| u.let_def(&name.name))
                    .is_some_and(|(e, _)| self.lists_files_within(e, hops - 1))
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(items: &[&str]) -> Vec<Value> {
        items.iter().map(|s| Value::str(*s)).collect()
    }

    #[test]
    fn names_and_stems() {
        assert_eq!(basename("data/s1.fq"), "s1.fq");
        assert_eq!(basename("s1.fq"), "s1.fq");
        assert_eq!(stem("data/s1.fq"), "s1");
        assert_eq!(stem("reads/a.tar.gz"), "a.tar");
        assert_eq!(stem("conf/.profile"), ".profile");
        assert_eq!(stem("data/README"), "README");
    }

    #[test]
    fn labels_are_valid_batch_ids_and_unique_ignoring_case() {
        let got = labels(&strs(&[
            "data/s1.fq",
            "data/s1.fa",
            "data/S1.txt",
            "data/s1-2.fq",
            "data/sample 7 (new).fq",
            "data/résumé.fq",
            "data/.fq",
        ]));
        assert_eq!(
            got,
            vec!["s1", "s1-2", "S1-3", "s1-2-2", "sample-7--new-", "r-sum-", ".fq"]
                .into_iter()
                .map(|s| s.replace('.', "-"))
                .collect::<Vec<_>>()
        );
        let long = labels(&strs(&[&format!("data/{}.fq", "x".repeat(80))]));
        assert_eq!(long[0].len(), LABEL_CHARS);
        for l in &got {
            assert!(
                l.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
                "{l}"
            );
        }
    }
}
