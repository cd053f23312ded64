//! `batchflow init` through the binary: each template gives a workflow that checks without a
//! warning and is in `fmt`'s layout; the config and `.gitignore` are written once; nothing
//! that exists is overwritten.

use crate::support::Repo;
use batchflow::init::Template;

#[test]
fn every_template_checks_without_warnings_and_is_formatted() {
    for template in Template::ALL {
        let repo = Repo::empty();
        repo.test()
            .args(["init", "my-flow", "--template", template.name()])
            .stderr_contains("created pipelines/my-flow.batchflow")
            .success();
        assert!(repo
            .read("pipelines/my-flow.batchflow")
            .contains("workflow \"my-flow\""));
        repo.test()
            .args(["check", "--deny-warnings"])
            .stderr("checked 1 file: no problems\n")
            .success();
        repo.test().args(["fmt", "--check"]).stdout("").success();
    }
}

#[test]
fn init_writes_the_config_and_gitignore_once_and_never_overwrites() {
    let repo = Repo::new();
    repo.write(".gitignore", "target");
    repo.test().arg("init").success();
    assert_eq!(repo.read("pipelines/hello.batchflow"), Template::Hello.text());
    assert_eq!(repo.read("batchflow.toml"), batchflow::init::CONFIG);
    let ignore = repo.read(".gitignore");
    assert!(
        ignore.starts_with("target\n") && ignore.ends_with("\n.batchflow/\n"),
        "{ignore}"
    );

    // Again: refused, and nothing changes.
    repo.write("pipelines/hello.batchflow", "# mine\n");
    repo.test()
        .arg("init")
        .stderr_contains("`pipelines/hello.batchflow` exists; init never overwrites")
        .status(2);
    assert_eq!(repo.read("pipelines/hello.batchflow"), "# mine\n");

    // Another name: the config is kept and `.gitignore` gains nothing.
    repo.write("batchflow.toml", "[target]\n");
    repo.test()
        .args(["init", "two", "--template", "sweep"])
        .stderr_contains("kept batchflow.toml")
        .success();
    assert_eq!(repo.read("batchflow.toml"), "[target]\n");
    assert_eq!(repo.read(".gitignore"), ignore);
}

#[test]
fn init_goes_to_the_repository_root_and_refuses_bad_names() {
    let repo = Repo::new();
    repo.mkdir("src/deep");
    repo.test()
        .args(["init", "x"])
        .current_dir("src/deep")
        .stderr_contains("next: `batchflow check`")
        .success();
    assert!(repo.exists("pipelines/x.batchflow"));
    repo.test()
        .args(["init", "../escape"])
        .stderr_contains("cannot name a workflow")
        .status(2);
}

#[test]
fn the_commented_settings_are_the_ones_batchflow_reads() {
    let uncommented: String = batchflow::init::CONFIG
        .lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(rest) if rest.starts_with('[') || rest.split_once(" = ").is_some() => rest,
            _ => l,
        })
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(uncommented.contains("\n[target]\nendpoint = "), "{uncommented}");
    assert!(uncommented.contains("\n[storage]\naccount "), "{uncommented}");
    let repo = Repo::new();
    repo.write("batchflow.toml", &uncommented);
    let file = batchflow::settings::read(repo.path()).expect("batchflow.toml parses");
    assert!(file.target.endpoint.is_some_and(|e| e.starts_with("https://")));
    assert_eq!(file.target.auth.as_deref(), Some("entra"));
    assert_eq!(
        file.storage.container.as_deref(),
        Some(batchflow::settings::DEFAULT_CONTAINER)
    );
    assert!(file.storage.account.is_some());
    assert_eq!(file.mounts.get("refdata").map(String::as_str), Some("data/genomes"));
}
