//! `.pre-commit-hooks.yaml`: each hook's entry is a batchflow command that takes the staged
//! workflow files as pre-commit passes them (several paths at once) and passes on clean ones;
//! the hook ids `docs/ci.md` shows are the ones the file defines.

use crate::support::{root, Test};

/// (id, entry, files) of each hook; the file is a flat list of `key: value` maps.
fn hooks() -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(root().join(".pre-commit-hooks.yaml")).expect(".pre-commit-hooks.yaml");
    let mut out: Vec<(String, String, String)> = Vec::new();
    for line in text.lines().filter(|l| !l.trim_start().starts_with('#')) {
        let line = line.trim_start_matches("- ").trim();
        let Some((key, value)) = line.split_once(": ") else {
            continue;
        };
        match key {
            "id" => out.push((value.to_string(), String::new(), String::new())),
            "entry" => out.last_mut().expect("an id first").1 = value.to_string(),
            "files" => out.last_mut().expect("an id first").2 = value.to_string(),
            _ => {}
        }
    }
    out
}

#[test]
fn every_hook_runs_its_command_on_the_files_pre_commit_passes() {
    let hooks = hooks();
    let ids: Vec<&str> = hooks.iter().map(|h| h.0.as_str()).collect();
    assert_eq!(ids, ["batchflow-fmt", "batchflow-check"]);
    let docs = std::fs::read_to_string(root().join("docs/ci.md")).expect("docs/ci.md");
    // A repository of its own (`.git`) with the examples' data where they name it.
    let repo = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(repo.path().join(".git")).expect("a repository marker");
    let tmp = repo.path().join("examples");
    let data = tmp.join("data/gpu-sweep");
    std::fs::create_dir_all(&data).expect("a data folder");
    for name in ["hello.batchflow", "gpu-sweep.batchflow"] {
        std::fs::copy(root().join("examples").join(name), tmp.join(name)).expect("copy");
    }
    for entry in std::fs::read_dir(root().join("examples/data/gpu-sweep"))
        .expect("data")
        .flatten()
    {
        std::fs::copy(entry.path(), data.join(entry.file_name())).expect("copy");
    }
    for (id, entry, files) in &hooks {
        assert_eq!(files, r"\.batchflow$", "{id}");
        assert!(docs.contains(&format!("- id: {id}")), "docs/ci.md does not show {id}");
        let args: Vec<&str> = entry.split_whitespace().collect();
        assert_eq!(args.first(), Some(&"batchflow"), "{id}: {entry}");
        let out = Test::project()
            .args(&args[1..])
            .args(["hello.batchflow", "gpu-sweep.batchflow"])
            .current_dir(&tmp)
            .run();
        assert_eq!(out.code, 0, "{id}: {}", out.stderr);
    }
}
