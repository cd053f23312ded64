//! Finding the repository a workflow lives in, and what its repository inputs stand for on
//! disk (see [`crate::repo`]). The compiler's one look at the repository's files.

use crate::repo::{glob_base, is_glob, normalize, RepoFacts, RepoFile, Shape};
use std::path::{Path, PathBuf};

/// Folders never searched for inputs: version control, and batchflow's own runs.
const SKIPPED: &[&str] = &[".git", ".batchflow"];

/// The repository `start` is in: the nearest folder with `pipelines/`, `batchflow.toml` or
/// `.git`; `start` itself when there is none. A relative `start` stays relative: a root above
/// the current folder (`cd examples && batchflow check x.batchflow`) is named with `..`.
pub fn repo_root(start: &Path) -> PathBuf {
    find_root(start).unwrap_or_else(|| start.to_path_buf())
}

/// The nearest folder, going up from `start`, that marks a repository root; for a relative
/// `start`, also above the current folder.
pub fn find_root(start: &Path) -> Option<PathBuf> {
    if let Some(found) = start.ancestors().find(|d| is_root(d)) {
        return Some(found.to_path_buf());
    }
    if start.is_relative() {
        let cwd = std::env::current_dir().unwrap_or_default();
        if let Some(up) = cwd.ancestors().skip(1).position(is_root) {
            return Some((0..=up).fold(PathBuf::new(), |p, _| p.join("..")));
        }
    }
    None
}

/// Whether `dir` marks a repository root.
fn is_root(dir: &Path) -> bool {
    dir.join("pipelines").is_dir() || dir.join("batchflow.toml").is_file() || dir.join(".git").exists()
}

/// What each repository input value stands for under `root`.
pub fn scan<'a>(root: &Path, values: impl IntoIterator<Item = &'a str>) -> RepoFacts {
    let mut facts = RepoFacts {
        root: Some(root.display().to_string()),
        ..RepoFacts::default()
    };
    for value in values {
        if facts.inputs.contains_key(value) {
            continue;
        }
        let Some(path) = normalize(value) else { continue };
        let found = if is_glob(&path) {
            (Shape::Glob, glob(root, &path))
        } else {
            let full = root.join(&path);
            if full.is_dir() {
                (Shape::Folder, under(root, &path))
            } else if full.is_file() {
                let size = full.metadata().map_or(0, |m| m.len());
                let rel = path.rsplit('/').next().unwrap_or(&path).to_string();
                (Shape::File, vec![RepoFile { path, rel, size }])
            } else if value.ends_with('/') {
                (Shape::Folder, Vec::new())
            } else {
                (Shape::File, Vec::new())
            }
        };
        facts.inputs.insert(value.to_string(), found);
    }
    facts
}

/// Every file under `dir` (relative to `root`), sorted, with its path below `dir`.
fn under(root: &Path, dir: &str) -> Vec<RepoFile> {
    files(root, dir)
        .into_iter()
        .map(|(path, size)| {
            let rel = path
                .strip_prefix(dir)
                .unwrap_or(&path)
                .trim_start_matches('/')
                .to_string();
            RepoFile { path, rel, size }
        })
        .collect()
}

/// The files matching `pattern` (`*` and `?` within a segment, `**` across them).
fn glob(root: &Path, pattern: &str) -> Vec<RepoFile> {
    let Ok(matcher) = globset::GlobBuilder::new(pattern).literal_separator(true).build() else {
        return Vec::new();
    };
    let matcher = matcher.compile_matcher();
    let base = glob_base(pattern);
    files(root, &base)
        .into_iter()
        .filter(|(path, _)| matcher.is_match(path))
        .map(|(path, size)| {
            let rel = if base.is_empty() {
                path.clone()
            } else {
                path.strip_prefix(&base)
                    .unwrap_or(&path)
                    .trim_start_matches('/')
                    .to_string()
            };
            RepoFile { path, rel, size }
        })
        .collect()
}

/// Every file under `dir` (relative to `root`), as (path relative to `root`, size), sorted.
fn files(root: &Path, dir: &str) -> Vec<(String, u64)> {
    let start = root.join(dir);
    let mut out: Vec<(String, u64)> = walkdir::WalkDir::new(&start)
        .follow_links(true)
        .into_iter()
        .filter_entry(|e| !SKIPPED.iter().any(|s| e.file_name() == *s))
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| {
            let path = crate::repo::below(root, e.path())?;
            Some((path, e.metadata().map_or(0, |m| m.len())))
        })
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_folders_and_globs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for f in [
            "data/s1.fq",
            "data/s2.fq",
            "data/ref/genome.fa",
            "data/ref/idx/a.bin",
            ".git/x.fq",
        ] {
            let p = root.join(f);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(&p, "ACGT").expect("write");
        }
        let facts = scan(
            root,
            [
                "data/s1.fq",
                "data/ref",
                "data/*.fq",
                "data/**/*.bin",
                "nope.txt",
                "../x",
            ],
        );
        let get = |v: &str| {
            facts.files(v).map(|(s, f)| {
                (
                    *s,
                    f.iter().map(|x| (x.path.as_str(), x.rel.as_str())).collect::<Vec<_>>(),
                )
            })
        };
        assert_eq!(get("data/s1.fq"), Some((Shape::File, vec![("data/s1.fq", "s1.fq")])));
        assert_eq!(
            get("data/ref"),
            Some((
                Shape::Folder,
                vec![("data/ref/genome.fa", "genome.fa"), ("data/ref/idx/a.bin", "idx/a.bin")]
            ))
        );
        assert_eq!(
            get("data/*.fq"),
            Some((Shape::Glob, vec![("data/s1.fq", "s1.fq"), ("data/s2.fq", "s2.fq")]))
        );
        assert_eq!(
            get("data/**/*.bin"),
            Some((Shape::Glob, vec![("data/ref/idx/a.bin", "ref/idx/a.bin")]))
        );
        assert_eq!(get("nope.txt"), Some((Shape::File, vec![])));
        assert_eq!(get("../x"), None, "outside the repository: not scanned");
        assert_eq!(facts.files("data/s1.fq").map(|(_, f)| f[0].size), Some(4));
    }
}
