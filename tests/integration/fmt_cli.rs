//! `batchflow fmt` through the binary: writing, `--check`, `--diff`, the repository's
//! `pipelines/` by default, and files it must leave alone.

use crate::support::Bf;
use std::path::Path;

const MESSY: &str = "workflow \"w\"\npool cpu{\nvm_size=\"Standard_D2s_v5\"   # size\n  dedicated   = 1\n\n\n}\n";
const TIDY: &str = "workflow \"w\"\npool cpu {\n  vm_size   = \"Standard_D2s_v5\"  # size\n  dedicated = 1\n}\n";

fn repo(files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("pipelines/sub")).expect("pipelines/");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    dir
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).expect("read")
}

#[test]
fn fmt_rewrites_the_repositorys_pipelines_and_then_has_nothing_to_do() {
    let dir = repo(&[
        ("pipelines/a.batchflow", MESSY.as_bytes()),
        ("pipelines/sub/b.batchflow", TIDY.as_bytes()),
    ]);
    let out = Bf::new().args(["fmt"]).current_dir(dir.path()).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.contains("1 file reformatted, 1 file already formatted"),
        "{}",
        out.stderr
    );
    assert_eq!(read(dir.path(), "pipelines/a.batchflow"), TIDY.as_bytes());
    let again = Bf::new().args(["fmt", "--check"]).current_dir(dir.path()).run();
    assert_eq!((again.code, again.stdout.as_str()), (0, ""), "{}", again.stderr);
}

#[test]
fn check_names_the_files_it_would_change_and_writes_nothing() {
    let dir = repo(&[
        ("pipelines/a.batchflow", MESSY.as_bytes()),
        ("pipelines/sub/b.batchflow", TIDY.as_bytes()),
    ]);
    let out = Bf::new()
        .args(["fmt", "--check", "pipelines"])
        .current_dir(dir.path())
        .run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(out.stdout, "pipelines/a.batchflow\n");
    assert!(out.stderr.contains("1 file would be reformatted"), "{}", out.stderr);
    assert_eq!(read(dir.path(), "pipelines/a.batchflow"), MESSY.as_bytes());
}

#[test]
fn diff_shows_the_change_as_a_unified_diff_and_writes_nothing() {
    let dir = repo(&[("pipelines/a.batchflow", MESSY.as_bytes())]);
    let out = Bf::new()
        .args(["fmt", "--diff", "pipelines/a.batchflow"])
        .current_dir(dir.path())
        .run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stdout
            .starts_with("--- pipelines/a.batchflow\n+++ pipelines/a.batchflow\n@@ -1,7 +1,5 @@\n"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("\n-pool cpu{\n"), "{}", out.stdout);
    assert!(out.stdout.contains("\n+pool cpu {\n"), "{}", out.stdout);
    assert!(out.stdout.contains("\n-  dedicated   = 1\n"), "{}", out.stdout);
    assert_eq!(read(dir.path(), "pipelines/a.batchflow"), MESSY.as_bytes());
    let tidy = repo(&[("pipelines/a.batchflow", TIDY.as_bytes())]);
    let out = Bf::new()
        .args(["fmt", "--diff", "--check"])
        .current_dir(tidy.path())
        .run();
    assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{}", out.stderr);
}

#[test]
fn a_file_with_a_syntax_error_is_shown_and_left_untouched() {
    let broken = b"pool cpu {\n  vm_size   \"Standard_D2s_v5\"\n}\n";
    let dir = repo(&[
        ("pipelines/a.batchflow", broken),
        ("pipelines/b.batchflow", MESSY.as_bytes()),
    ]);
    let out = Bf::new().args(["fmt"]).current_dir(dir.path()).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("BF001(syntax-error)"), "{}", out.stderr);
    assert!(out.stderr.contains("pipelines/a.batchflow:2:"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("pipelines/a.batchflow: not formatted: fix the syntax error first"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("1 file not formatted"), "{}", out.stderr);
    assert_eq!(read(dir.path(), "pipelines/a.batchflow"), broken);
    // The other file is formatted all the same.
    assert_eq!(read(dir.path(), "pipelines/b.batchflow"), TIDY.as_bytes());
}

#[test]
fn binary_and_unterminated_files_are_refused_untouched() {
    let unterminated = b"let a = \"never closed\n";
    let binary = b"pool p {\0}\n";
    let dir = repo(&[
        ("pipelines/a.batchflow", unterminated),
        ("pipelines/b.batchflow", binary),
    ]);
    let out = Bf::new().args(["fmt", "--check"]).current_dir(dir.path()).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("a string is not closed before the end of the file"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("this is a binary file"), "{}", out.stderr);
    assert!(out.stderr.contains("2 files not formatted"), "{}", out.stderr);
    let out = Bf::new().args(["fmt"]).current_dir(dir.path()).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(read(dir.path(), "pipelines/a.batchflow"), unterminated);
    assert_eq!(read(dir.path(), "pipelines/b.batchflow"), binary);
}

#[test]
fn a_missing_path_is_a_usage_error() {
    let dir = repo(&[]);
    let out = Bf::new()
        .args(["fmt", "nowhere.batchflow"])
        .current_dir(dir.path())
        .run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("`nowhere.batchflow` does not exist"),
        "{}",
        out.stderr
    );
}
