//! Output files, uploaded as a Batch node uploads them (`OutputFile`, BatchService.json).
//!
//! - `uploadOptions.uploadCondition`: `tasksuccess` "only after the Task process exits with an
//!   exit code of 0", `taskfailure` "with a nonzero exit code", `taskcompletion` "no matter what
//!   the exit code was" (the default).
//! - `filePattern`: "Relative paths are relative to the Task working directory" (so
//!   `../stdout.txt` reaches the task folder); `*`, `**`, `?`, `[abc]`, `[a-c]`, `[!abc]`; "If
//!   a file name starts with "." it is ignored by default but may be matched by specifying it
//!   explicitly"; "Environment variables (… $var on Linux) are expanded prior to the pattern
//!   being applied". Matching is `globset`'s with `*` and `?` not crossing `/`.
//! - The blob name, from `OutputFileBlobContainerDestination.path`: "If filePattern refers to a
//!   specific file (i.e. contains no wildcards), then path is the name of the blob to which to
//!   upload that file. If filePattern contains one or more wildcards (and therefore may match
//!   multiple files), then path is the name of the blob virtual directory (which is prepended
//!   to each blob name) to which to upload the file(s). If omitted, file(s) are uploaded to the
//!   root of the container with a blob name matching their file name." So: no wildcard, the
//!   blob is `path` (or the file's name without `path`); with wildcards, each match is named by
//!   its path relative to the pattern's leading folders that have no wildcard (`out/**/*.csv`
//!   matching `out/a/b.csv` gives `a/b.csv`), under `path/` when `path` is set.
//! - Each blob is PUT (Put Blob, `x-ms-blob-type: BlockBlob`) to the `containerUrl` given,
//!   with its query (the SAS) and the `uploadHeaders`. "On every file uploads, Batch service
//!   writes two log files to the compute node, 'fileuploadout.txt' and 'fileuploaderr.txt'":
//!   the fake writes them in the task folder.
//!
//! Failure codes (`TaskFailureInformationCodes`): `FileUploadAccessDenied` ("Access to the
//! Azure Storage Container for uploading Output Files was denied") for a 403,
//! `FileUploadContainerNotFound` ("The Azure Storage Container for uploading Output Files was
//! not found") for a 404, `FileUploadMiscError` ("The compute node hit an unexpected error
//! when uploading Output Files") for anything else.

use super::layout::Dirs;
use super::resources::{storage_error, without_query};
use super::{blob_url, failure, split_query, TaskFailure, STORAGE_VERSION};
use globset::GlobBuilder;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};

pub async fn upload_all(
    http: &reqwest::Client,
    outputs: &Value,
    exit: i32,
    dirs: &Dirs,
    env: &[(String, String)],
) -> Result<(), TaskFailure> {
    let mut log = Log::new(&dirs.task);
    for o in outputs.as_array().into_iter().flatten() {
        if !condition_holds(o["uploadOptions"]["uploadCondition"].as_str(), exit) {
            continue;
        }
        let pattern = expand(o["filePattern"].as_str().unwrap_or(""), env);
        let dest = &o["destination"]["container"];
        let container = dest["containerUrl"].as_str().unwrap_or("");
        let headers = &dest["uploadHeaders"];
        let found = matches(&pattern, dest["path"].as_str(), &dirs.wd).inspect_err(|e| log.err(&e.message))?;
        for (file, blob) in found {
            put(http, container, &blob, &file, headers)
                .await
                .inspect(|()| log.out(&format!("uploaded {} to {blob}", file.display())))
                .inspect_err(|e| log.err(&e.message))?;
        }
    }
    Ok(())
}

fn condition_holds(condition: Option<&str>, exit: i32) -> bool {
    match condition.map(str::to_ascii_lowercase).as_deref() {
        Some("tasksuccess") => exit == 0,
        Some("taskfailure") => exit != 0,
        _ => true,
    }
}

/// `$NAME` and `${NAME}` replaced by the task's variables; unknown names stay as written.
fn expand(pattern: &str, env: &[(String, String)]) -> String {
    let lookup = |name: &str| env.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    let mut out = String::new();
    let mut rest = pattern;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, len) = match after.strip_prefix('{').and_then(|a| a.find('}').map(|e| &a[..e])) {
            Some(name) => (name, name.len() + 2),
            None => {
                let n = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..n], n)
            }
        };
        match lookup(name).filter(|_| !name.is_empty()) {
            Some(value) => out.push_str(value),
            None => out.push_str(&rest[at..at + 1 + len]),
        }
        rest = &rest[at + 1 + len..];
    }
    out.push_str(rest);
    out
}

fn is_wild(segment: &str) -> bool {
    segment.contains(['*', '?', '['])
}

/// The files `pattern` matches, each with its blob name (sorted by blob name).
fn matches(pattern: &str, path: Option<&str>, wd: &Path) -> Result<Vec<(PathBuf, String)>, TaskFailure> {
    let segments: Vec<&str> = pattern.split('/').collect();
    let fixed = segments.iter().take_while(|s| !is_wild(s)).count();
    let root = if pattern.starts_with('/') {
        PathBuf::from("/")
    } else {
        wd.to_path_buf()
    };
    let base = segments[..fixed]
        .iter()
        .filter(|s| !s.is_empty())
        .fold(root, |p, s| p.join(s));
    let path = path.filter(|p| !p.is_empty());
    if fixed == segments.len() {
        let name = base.file_name().map(|n| n.to_string_lossy().into_owned());
        return Ok(match (base.is_file(), path, name) {
            (true, Some(p), _) => vec![(base, p.to_string())],
            (true, None, Some(n)) => vec![(base, n)],
            _ => Vec::new(),
        });
    }
    let rest = &segments[fixed..];
    let glob = GlobBuilder::new(&rest.join("/"))
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|e| failure("FileUploadMiscError", format!("filePattern `{pattern}`: {e}")))?
        .compile_matcher();
    let mut found = Vec::new();
    for entry in walkdir::WalkDir::new(&base).min_depth(1).into_iter().flatten() {
        if !entry.file_type().is_file() {
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(&base) else {
            continue;
        };
        let rel = rel.to_string_lossy().replace('\\', "/");
        if glob.is_match(&rel) && dots_named(&rel, rest) {
            let blob = match path {
                Some(p) => format!("{}/{rel}", p.trim_end_matches('/')),
                None => rel,
            };
            found.push((entry.into_path(), blob));
        }
    }
    found.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(found)
}

/// Dot names match only when named: a file whose name starts with `.` needs a last pattern
/// segment that starts with `.`; a folder that does needs such a segment before the last.
fn dots_named(rel: &str, segments: &[&str]) -> bool {
    let parts: Vec<&str> = rel.split('/').collect();
    let (Some((file, folders)), Some((last, before))) = (parts.split_last(), segments.split_last()) else {
        return false;
    };
    let file_ok = !file.starts_with('.') || last.starts_with('.');
    let folders_ok = folders
        .iter()
        .all(|f| !f.starts_with('.') || before.iter().any(|s| s.starts_with('.')));
    file_ok && folders_ok
}

async fn put(
    http: &reqwest::Client,
    container: &str,
    blob: &str,
    file: &Path,
    headers: &Value,
) -> Result<(), TaskFailure> {
    let shown = format!("{}/{blob}", split_query(container).0.trim_end_matches('/'));
    let misc = |e: String| {
        failure(
            "FileUploadMiscError",
            format!("upload of {} to {shown}: {e}", file.display()),
        )
    };
    let bytes = std::fs::read(file).map_err(|e| misc(e.to_string()))?;
    let mut req = http
        .put(blob_url(container, blob))
        .header("x-ms-version", STORAGE_VERSION)
        .header("x-ms-blob-type", "BlockBlob")
        // An empty body goes out without a length unless told; Storage requires one.
        .header("content-length", bytes.len());
    for h in headers.as_array().into_iter().flatten() {
        if let (Some(name), Some(value)) = (h["name"].as_str(), h["value"].as_str()) {
            req = req.header(name, value);
        }
    }
    let resp = req.body(bytes).send().await.map_err(|e| misc(without_query(e)))?;
    let status = resp.status().as_u16();
    if (200..300).contains(&status) {
        return Ok(());
    }
    let code = match status {
        403 => "FileUploadAccessDenied",
        404 => "FileUploadContainerNotFound",
        _ => "FileUploadMiscError",
    };
    Err(failure(
        code,
        format!("upload of {} to {shown}: {}", file.display(), storage_error(&resp)),
    ))
}

/// `fileuploadout.txt` and `fileuploaderr.txt` in the task folder.
struct Log {
    task: PathBuf,
}

impl Log {
    fn new(task: &Path) -> Log {
        Log {
            task: task.to_path_buf(),
        }
    }

    fn write(&self, file: &str, line: &str) {
        let opened = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.task.join(file));
        if let Ok(mut f) = opened {
            let _ = writeln!(f, "{line}");
        }
    }

    fn out(&mut self, line: &str) {
        self.write("fileuploadout.txt", line);
    }

    fn err(&mut self, line: &str) {
        self.write("fileuploaderr.txt", line);
    }
}

#[cfg(test)]
mod tests {
    use super::{dots_named, expand, matches};

    #[test]
    fn variables_expand_before_matching() {
        let env = vec![("S".to_string(), "s1".to_string())];
        assert_eq!(expand("out/$S/*.txt", &env), "out/s1/*.txt");
        assert_eq!(expand("out/${S}x/$NOPE", &env), "out/s1x/$NOPE");
    }

    #[test]
    fn dot_names_only_when_named() {
        assert!(!dots_named(".a.gif", &["*.gif"]));
        assert!(dots_named(".a.gif", &[".*.gif"]));
        assert!(!dots_named(".git/x.txt", &["**", "*.txt"]));
        assert!(dots_named("a/b.txt", &["**", "*.txt"]));
    }

    #[test]
    fn blob_names_follow_path_rules() {
        let dir = tempfile::tempdir().expect("a folder");
        let wd = dir.path().join("wd");
        for f in [
            "wd/a.txt",
            "wd/out/x/b.csv",
            "wd/out/c.csv",
            "wd/.hidden.txt",
            "stdout.txt",
        ] {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().expect("a parent")).expect("folders");
            std::fs::write(p, f).expect("a file");
        }
        let names = |pattern: &str, path: Option<&str>| -> Vec<String> {
            matches(pattern, path, &wd)
                .expect("a pattern")
                .into_iter()
                .map(|(_, b)| b)
                .collect()
        };
        assert_eq!(names("*.txt", None), ["a.txt"]);
        assert_eq!(names("*.txt", Some("r/1/")), ["r/1/a.txt"]);
        assert_eq!(names("out/**/*.csv", Some("r")), ["r/c.csv", "r/x/b.csv"]);
        assert_eq!(names("out/c.csv", Some("r/final.csv")), ["r/final.csv"]);
        assert_eq!(names("out/c.csv", None), ["c.csv"]);
        assert_eq!(
            names("../stdout.txt", Some("logs/t1/stdout.txt")),
            ["logs/t1/stdout.txt"]
        );
        assert_eq!(names("../std*.txt", Some("logs")), ["logs/stdout.txt"]);
        assert_eq!(names(".*.txt", None), [".hidden.txt"]);
        assert_eq!(names("missing.txt", None), Vec::<String>::new());
        assert_eq!(names("o?t/[c]*", None), ["out/c.csv"]);
    }
}
