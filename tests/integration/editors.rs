//! The editor support in `editors/`: the VS Code extension's TextMate grammar against its
//! snapshot files (`vscode-tmgrammar-snap`, pinned in `editors/vscode/package.json` and
//! installed by `editors/vscode/install.sh` when missing), and its manifest.

use crate::support::root;
use std::process::Command;

#[test]
fn the_grammar_matches_its_snapshots() {
    let dir = root().join("editors/vscode");
    let install = Command::new("sh")
        .arg(dir.join("install.sh"))
        .output()
        .expect("sh runs editors/vscode/install.sh");
    assert!(
        install.status.success(),
        "editors/vscode/install.sh failed (it needs Node.js and npm):\n{}",
        String::from_utf8_lossy(&install.stderr)
    );
    let out = Command::new(dir.join("node_modules/.bin/vscode-tmgrammar-snap"))
        .arg("test/*.batchflow")
        .current_dir(&dir)
        .output()
        .expect("vscode-tmgrammar-snap runs");
    assert!(
        out.status.success(),
        "the grammar's tokens changed; if that is meant, run `node_modules/.bin/vscode-tmgrammar-snap --updateSnapshot \"test/*.batchflow\"` in editors/vscode and read the diff:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_extension_starts_batchflow_lsp_and_pins_its_packages() {
    let dir = root().join("editors/vscode");
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).expect("a file of the extension");
    let manifest: serde_json::Value = serde_json::from_str(&read("package.json")).expect("package.json");
    for deps in ["dependencies", "devDependencies"] {
        for (name, version) in manifest[deps].as_object().expect("dependencies") {
            let v = version.as_str().unwrap_or("");
            assert!(
                v.chars().all(|c| c.is_ascii_digit() || c == '.'),
                "{name} {v} is not pinned"
            );
        }
    }
    assert_eq!(manifest["contributes"]["languages"][0]["extensions"][0], ".batchflow");
    for json in ["language-configuration.json", "syntaxes/batchflow.tmLanguage.json"] {
        serde_json::from_str::<serde_json::Value>(&read(json)).unwrap_or_else(|e| panic!("{json}: {e}"));
    }
    assert!(read("extension.js").contains("args: [\"lsp\"]"));
    assert!(
        !read("package-lock.json").contains("\"resolved\""),
        "the lock file names a registry"
    );
}
