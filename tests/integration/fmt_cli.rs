//! `batchflow fmt` through the binary: writing, `--check`, `--diff`, the repository's
//! `pipelines/` by default, and files it must leave alone.

use crate::support::Repo;

const MESSY: &str = "workflow \"w\"\npool cpu{\nvm_size=\"Standard_D2s_v5\"   # size\n  dedicated   = 1\n\n\n}\n";
const TIDY: &str = "workflow \"w\"\npool cpu {\n  vm_size   = \"Standard_D2s_v5\"  # size\n  dedicated = 1\n}\n";

fn bytes(repo: &Repo, rel: &str) -> Vec<u8> {
    std::fs::read(repo.path().join(rel)).expect("read")
}

#[test]
fn fmt_rewrites_the_repositorys_pipelines_and_then_has_nothing_to_do() {
    let repo = Repo::new();
    repo.write("pipelines/a.batchflow", MESSY);
    repo.write("pipelines/sub/b.batchflow", TIDY);
    repo.test()
        .arg("fmt")
        .stdout("")
        .stderr("1 file reformatted, 1 file already formatted\n")
        .success();
    assert_eq!(repo.read("pipelines/a.batchflow"), TIDY);
    repo.test().args(["fmt", "--check"]).stdout("").success();
}

#[test]
fn check_names_the_files_it_would_change_and_writes_nothing() {
    let repo = Repo::new();
    repo.write("pipelines/a.batchflow", MESSY);
    repo.write("pipelines/sub/b.batchflow", TIDY);
    repo.test()
        .args(["fmt", "--check", "pipelines"])
        .stdout("pipelines/a.batchflow\n")
        .stderr("1 file would be reformatted, 1 file already formatted\n")
        .failure();
    assert_eq!(repo.read("pipelines/a.batchflow"), MESSY);
}

#[test]
fn diff_shows_the_change_as_a_unified_diff_and_writes_nothing() {
    let repo = Repo::new();
    repo.write("pipelines/a.batchflow", MESSY);
    repo.test()
        .args(["fmt", "--diff", "pipelines/a.batchflow"])
        .stdout_contains("--- pipelines/a.batchflow\n+++ pipelines/a.batchflow\n@@ -1,7 +1,5 @@\n")
        .stdout_contains("\n-pool cpu{\n")
        .stdout_contains("\n+pool cpu {\n")
        .stdout_contains("\n-  dedicated   = 1\n")
        .failure();
    assert_eq!(repo.read("pipelines/a.batchflow"), MESSY);
    let tidy = Repo::new();
    tidy.write("pipelines/a.batchflow", TIDY);
    tidy.test().args(["fmt", "--diff", "--check"]).stdout("").success();
}

#[test]
fn a_file_with_a_syntax_error_is_shown_and_left_untouched() {
    let broken = "pool cpu {\n  vm_size   \"Standard_D2s_v5\"\n}\n";
    let repo = Repo::new();
    repo.write("pipelines/a.batchflow", broken);
    repo.write("pipelines/b.batchflow", MESSY);
    repo.test()
        .arg("fmt")
        .stderr_contains("BF001(syntax-error)")
        .stderr_contains("pipelines/a.batchflow:2:")
        .stderr_contains("pipelines/a.batchflow: not formatted: fix the syntax error first")
        .stderr_contains("1 file not formatted")
        .failure();
    assert_eq!(repo.read("pipelines/a.batchflow"), broken);
    // The other file is formatted all the same.
    assert_eq!(repo.read("pipelines/b.batchflow"), TIDY);
}

#[test]
fn binary_and_unterminated_files_are_refused_untouched() {
    let unterminated = "let a = \"never closed\n";
    let binary = b"pool p {\0}\n";
    let repo = Repo::new();
    repo.write("pipelines/a.batchflow", unterminated);
    repo.write("pipelines/b.batchflow", binary);
    repo.test()
        .args(["fmt", "--check"])
        .stderr_contains("a string is not closed before the end of the file")
        .stderr_contains("this is a binary file")
        .stderr_contains("2 files not formatted")
        .failure();
    repo.test().arg("fmt").failure();
    assert_eq!(repo.read("pipelines/a.batchflow"), unterminated);
    assert_eq!(bytes(&repo, "pipelines/b.batchflow"), binary);
}

#[test]
fn a_missing_path_is_a_usage_error() {
    Repo::new()
        .test()
        .args(["fmt", "nowhere.batchflow"])
        .stderr_contains("`nowhere.batchflow` does not exist")
        .status(2);
}
