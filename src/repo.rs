//! What the compiler knows of the repository a workflow lives in: for each repository path an
//! input names, the files it stands for. The front half is pure: `compile` scans the disk and
//! hands these facts to the checker and the planner.

use std::collections::HashMap;

/// One file a repository input stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoFile {
    /// Relative to the repository root, `/`-separated.
    pub path: String,
    /// Where it goes under the input's key: the path below the folder, or below the glob's
    /// fixed part (`data/**/*.fq` matching `data/a/b.fq` gives `a/b.fq`); the file name for
    /// a single file.
    pub rel: String,
    pub size: u64,
}

/// How an input's value names files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    File,
    Folder,
    Glob,
}

/// The repository inputs of a workflow, as found on disk.
#[derive(Clone, Debug, Default)]
pub struct RepoFacts {
    /// Where the repository is (for messages); `None` when the facts were not gathered.
    pub root: Option<String>,
    /// By the value as written: its shape and the files it stands for (none: nothing matched,
    /// or the path does not exist).
    pub inputs: HashMap<String, (Shape, Vec<RepoFile>)>,
}

impl RepoFacts {
    /// The files an input value stands for, if the facts were gathered.
    pub fn files(&self, value: &str) -> Option<&(Shape, Vec<RepoFile>)> {
        self.inputs.get(value)
    }
}

/// Whether a repository path has glob characters.
/// `file` below `base` as a repository path: relative, `/`-separated; `None` when it is not
/// below `base`.
pub fn below(base: &std::path::Path, file: &std::path::Path) -> Option<String> {
    let rel = file.strip_prefix(base).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(parts.join("/"))
}

pub fn is_glob(path: &str) -> bool {
    path.contains(['*', '?', '['])
}

/// The path relative to the repository root without `.` segments or doubled slashes; `None`
/// when it is absolute or climbs above the root with `..`.
pub fn normalize(path: &str) -> Option<String> {
    if path.starts_with('/') || path.starts_with('\\') || path.as_bytes().get(1) == Some(&b':') {
        return None;
    }
    let mut out: Vec<&str> = Vec::new();
    for seg in path.split(['/', '\\']) {
        match seg {
            "" | "." => {}
            ".." => {
                out.pop()?;
            }
            s => out.push(s),
        }
    }
    Some(out.join("/"))
}

/// The part of a glob before its first segment with a glob character: the folder it searches.
pub fn glob_base(glob: &str) -> String {
    let mut base = Vec::new();
    for seg in glob.split('/') {
        if is_glob(seg) {
            break;
        }
        base.push(seg);
    }
    // A glob with no wildcard segment before the last one names files in the folder above.
    base.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_in_the_repository() {
        assert_eq!(normalize("data/./s1.fq").as_deref(), Some("data/s1.fq"));
        assert_eq!(normalize("data/x/../s1.fq").as_deref(), Some("data/s1.fq"));
        assert_eq!(normalize("../outside"), None);
        assert_eq!(normalize("/etc/passwd"), None);
        assert_eq!(normalize("C:\\data"), None);
        assert!(is_glob("data/*.fq") && !is_glob("data/s1.fq"));
        assert_eq!(glob_base("data/reads/**/*.fq"), "data/reads");
        assert_eq!(glob_base("*.fq"), "");
    }
}
