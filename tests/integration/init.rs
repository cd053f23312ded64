//! `batchflow init` through the binary: each template gives a workflow that checks without a
//! warning and is in `fmt`'s layout; the config and `.gitignore` are written once; nothing
//! that exists is overwritten.

use crate::support::Bf;
use batchflow::init::Template;
use std::path::Path;

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).expect("read")
}

#[test]
fn every_template_checks_without_warnings_and_is_formatted() {
    for template in Template::ALL {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = Bf::new()
            .args(["init", "my-flow", "--template", template.name()])
            .current_dir(dir.path())
            .run();
        assert_eq!(out.code, 0, "{template}: {}", out.stderr);
        assert!(
            out.stderr.contains("created pipelines/my-flow.batchflow"),
            "{}",
            out.stderr
        );
        assert!(read(dir.path(), "pipelines/my-flow.batchflow").contains("workflow \"my-flow\""));
        let check = Bf::new()
            .args(["check", "--deny-warnings"])
            .current_dir(dir.path())
            .run();
        assert_eq!(check.code, 0, "{template}: {}", check.stderr);
        assert!(
            check.stderr.contains("checked 1 file: no problems"),
            "{template}: {}",
            check.stderr
        );
        let fmt = Bf::new().args(["fmt", "--check"]).current_dir(dir.path()).run();
        assert_eq!(fmt.code, 0, "{template}: {}", fmt.stdout);
    }
}

#[test]
fn init_writes_the_config_and_gitignore_once_and_never_overwrites() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join(".gitignore"), "target").expect("write");
    let out = Bf::new().args(["init"]).current_dir(dir.path()).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(Template::Hello.text(), read(dir.path(), "pipelines/hello.batchflow"));
    assert_eq!(batchflow::init::CONFIG, read(dir.path(), "batchflow.toml"));
    let ignore = read(dir.path(), ".gitignore");
    assert!(
        ignore.starts_with("target\n") && ignore.ends_with("\n.batchflow/\n"),
        "{ignore}"
    );

    // Again: refused, and nothing changes.
    std::fs::write(dir.path().join("pipelines/hello.batchflow"), "# mine\n").expect("write");
    let again = Bf::new().args(["init"]).current_dir(dir.path()).run();
    assert_eq!(again.code, 2, "{}", again.stderr);
    assert!(
        again
            .stderr
            .contains("`pipelines/hello.batchflow` exists; init never overwrites"),
        "{}",
        again.stderr
    );
    assert_eq!(read(dir.path(), "pipelines/hello.batchflow"), "# mine\n");

    // Another name: the config is kept and `.gitignore` gains nothing.
    std::fs::write(dir.path().join("batchflow.toml"), "[target]\n").expect("write");
    let other = Bf::new()
        .args(["init", "two", "--template", "sweep"])
        .current_dir(dir.path())
        .run();
    assert_eq!(other.code, 0, "{}", other.stderr);
    assert!(other.stderr.contains("kept batchflow.toml"), "{}", other.stderr);
    assert_eq!(read(dir.path(), "batchflow.toml"), "[target]\n");
    assert_eq!(read(dir.path(), ".gitignore"), ignore);
}

#[test]
fn init_goes_to_the_repository_root_and_refuses_bad_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join(".git")).expect(".git");
    std::fs::create_dir_all(dir.path().join("src/deep")).expect("src/deep");
    let out = Bf::new()
        .args(["init", "x"])
        .current_dir(&dir.path().join("src/deep"))
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(dir.path().join("pipelines/x.batchflow").is_file());
    assert!(out.stderr.contains("next: `batchflow check`"), "{}", out.stderr);
    let bad = Bf::new().args(["init", "../escape"]).current_dir(dir.path()).run();
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("cannot name a workflow"), "{}", bad.stderr);
}

#[test]
fn the_commented_settings_are_the_ones_batchflow_reads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let uncommented: String = batchflow::init::CONFIG
        .lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(rest) if rest.starts_with('[') || rest.split_once(" = ").is_some() => rest,
            _ => l,
        })
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(uncommented.contains("\n[target]\nendpoint = "), "{uncommented}");
    std::fs::write(dir.path().join("batchflow.toml"), &uncommented).expect("write");
    let file = batchflow::exec::azure::config::read_file(dir.path()).expect("batchflow.toml parses");
    assert!(file.target.endpoint.is_some_and(|e| e.starts_with("https://")));
    assert_eq!(file.target.auth.as_deref(), Some("entra"));
}
