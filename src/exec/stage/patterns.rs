//! Which files an output's `filePattern` takes from a task folder, and the blob each becomes,
//! as a Batch node decides (`OutputFile` and `OutputFileBlobContainerDestination.path` in
//! BatchService.json):
//!
//! - "Relative paths are relative to the Task working directory", so `../stdout.txt` reaches
//!   the task folder; `*` and `?` stay within a folder, `**` crosses folders.
//! - "If a file name starts with "." it is ignored by default but may be matched by
//!   specifying it explicitly".
//! - Environment variables (`$NAME`, `${NAME}`) "are expanded prior to the pattern being
//!   applied".
//! - Without wildcards "path is the name of the blob to which to upload that file"; with
//!   them "path is the name of the blob virtual directory (which is prepended to each blob
//!   name)": each match is named by its path below the pattern's leading folders that hold no
//!   wildcard.

use globset::GlobBuilder;
use std::path::{Path, PathBuf};

/// A file an output takes, and its blob name.
#[derive(Debug, PartialEq, Eq)]
pub struct Match {
    pub file: PathBuf,
    pub blob: String,
}

/// The files under `wd` that `pattern` (variables already expanded) matches, with their blob
/// names under `path`, sorted by blob name. A pattern that is not a valid glob is an error.
pub fn matches(wd: &Path, pattern: &str, path: Option<&str>) -> Result<Vec<Match>, String> {
    let (fixed, wild) = split(pattern);
    let base = fixed.iter().fold(wd.to_path_buf(), |p, s| p.join(s));
    let path = path.filter(|p| !p.is_empty()).map(|p| p.trim_end_matches('/'));
    if wild.is_empty() {
        let name = fixed.last().copied().unwrap_or_default();
        let blob = path.map_or_else(|| name.to_string(), str::to_string);
        return Ok(if base.is_file() {
            vec![Match { file: base, blob }]
        } else {
            Vec::new()
        });
    }
    let glob = GlobBuilder::new(&wild.join("/"))
        .literal_separator(true)
        .build()
        .map_err(|e| format!("the output pattern `{pattern}` is not a valid pattern: {e}"))?
        .compile_matcher();
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(&base).min_depth(1).sort_by_file_name() {
        let Ok(entry) = entry else { continue };
        if !entry.file_type().is_file() {
            continue;
        }
        let Some(rel) = crate::repo::below(&base, entry.path()) else {
            continue;
        };
        if glob.is_match(&rel) && dots_allowed(&rel, &wild) {
            let blob = path.map_or_else(|| rel.clone(), |p| format!("{p}/{rel}"));
            out.push(Match {
                file: entry.into_path(),
                blob,
            });
        }
    }
    out.sort_by(|a, b| a.blob.cmp(&b.blob));
    Ok(out)
}

/// The pattern's leading segments without wildcards, and the rest.
fn split(pattern: &str) -> (Vec<&str>, Vec<&str>) {
    let segments: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty() && *s != ".").collect();
    let at = segments
        .iter()
        .position(|s| s.contains(['*', '?', '[']))
        .unwrap_or(segments.len());
    (segments[..at].to_vec(), segments[at..].to_vec())
}

/// A name starting with `.` matches only where the pattern spells a `.` at that place: the
/// file's own name needs a last segment starting with `.`, a folder needs some earlier segment
/// that does.
fn dots_allowed(rel: &str, wild: &[&str]) -> bool {
    let names: Vec<&str> = rel.split('/').collect();
    let (Some((file, folders)), Some((last, earlier))) = (names.split_last(), wild.split_last()) else {
        return false;
    };
    let folder_dot = earlier.iter().any(|s| s.starts_with('.'));
    (!file.starts_with('.') || last.starts_with('.')) && folders.iter().all(|f| !f.starts_with('.') || folder_dot)
}

/// `$NAME` and `${NAME}` replaced by the task's variables; unknown names stay as written.
pub fn expand(pattern: &str, env: &[(String, String)]) -> String {
    let value = |name: &str| env.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        let rest = &pattern[at + 1..];
        let (name, used) = match rest.strip_prefix('{') {
            Some(braced) => match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            },
            None => {
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                (&rest[..end], end)
            }
        };
        match value(name).filter(|_| !name.is_empty()) {
            Some(v) => {
                out.push_str(v);
                for _ in 0..rest[..used].chars().count() {
                    chars.next();
                }
            }
            None => out.push('$'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for f in files {
            let p = dir.path().join("wd").join(f);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("folders");
            std::fs::write(&p, f).expect("file");
        }
        std::fs::write(dir.path().join("stdout.txt"), "out").expect("stdout");
        dir
    }

    fn blobs(dir: &tempfile::TempDir, pattern: &str, path: Option<&str>) -> Vec<String> {
        matches(&dir.path().join("wd"), pattern, path)
            .expect("a valid pattern")
            .into_iter()
            .map(|m| m.blob)
            .collect()
    }

    #[test]
    fn names_follow_the_leading_folders_without_wildcards() {
        let d = tree(&["out/a/b.csv", "out/c.csv", "out/.hidden.csv", "out/d.txt", "top.csv"]);
        assert_eq!(
            blobs(&d, "out/**/*.csv", Some("runs/1/")),
            ["runs/1/a/b.csv", "runs/1/c.csv"]
        );
        assert_eq!(blobs(&d, "*.csv", None), ["top.csv"], "`*` stays in its folder");
        assert_eq!(blobs(&d, "out/.*.csv", None), [".hidden.csv"], "a dot-file when named");
        assert_eq!(blobs(&d, "out/d.txt", Some("x/report.txt")), ["x/report.txt"]);
        assert_eq!(blobs(&d, "out/d.txt", None), ["d.txt"]);
        assert_eq!(blobs(&d, "../stdout.txt", Some("logs/stdout.txt")), ["logs/stdout.txt"]);
        assert!(blobs(&d, "missing.txt", None).is_empty());
        assert!(blobs(&d, "nothing/*", None).is_empty());
    }

    #[test]
    fn dot_folders_need_a_dot_in_the_pattern() {
        let d = tree(&[".cache/x.bin", "data/x.bin"]);
        assert_eq!(blobs(&d, "**/*.bin", None), ["data/x.bin"]);
        assert_eq!(blobs(&d, ".*/*.bin", None), [".cache/x.bin"]);
    }

    #[test]
    fn variables_are_expanded_first() {
        let env = vec![("S".to_string(), "s1".to_string()), ("N".to_string(), "7".to_string())];
        assert_eq!(expand("out/${S}.csv", &env), "out/s1.csv");
        assert_eq!(expand("$S-$N/*.txt", &env), "s1-7/*.txt");
        assert_eq!(expand("$UNKNOWN/${S", &env), "$UNKNOWN/${S");
    }

    #[test]
    fn a_bad_glob_is_an_error() {
        let d = tree(&["a.txt"]);
        assert!(matches(&d.path().join("wd"), "[a-", None).is_err());
    }
}
