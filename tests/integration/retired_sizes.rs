//! No doc, example, `init` template, clean fixture or help text recommends a VM size that is
//! retired on the test date. Only the pages about the retirement itself (BF120's page and the
//! rules' firing fixtures, which are not read here) may name one.

use crate::support::{root, Test, TODAY};
use batchflow::stdlib::{vm_sizes, Date};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Lowercase names of the sizes retired on or before the test date.
fn retired() -> BTreeSet<String> {
    let today = Date::parse(TODAY).expect("TODAY is a date");
    vm_sizes()
        .iter()
        .filter(|s| s.is_retired(today))
        .map(|s| s.name.to_ascii_lowercase())
        .collect()
}

/// Every retired size named in `text`, with its 1-based line. Names are whole words made of
/// letters, digits, `_` and `-`, so `Standard_NC6` does not match inside `Standard_NC64as_T4_v3`.
fn mentions(text: &str, retired: &BTreeSet<String>) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        for word in line.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')) {
            if retired.contains(&word.to_ascii_lowercase()) {
                out.push((n + 1, word.to_string()));
            }
        }
    }
    out
}

/// The string literals of Rust source before its `#[cfg(test)]` module, each on its own
/// line so a hit can be found again (a literal spanning lines is joined).
fn string_literals(source: &str) -> String {
    let code = source.split("#[cfg(test)]").next().unwrap_or_default();
    let chars: Vec<char> = code.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let next = chars.get(i + 1).copied();
        match (c, next) {
            ('/', Some('/')) => {
                while chars.get(i).is_some_and(|&c| c != '\n') {
                    i += 1;
                }
            }
            ('/', Some('*')) => {
                while i < chars.len() && !(chars.get(i) == Some(&'*') && chars.get(i + 1) == Some(&'/')) {
                    i += 1;
                }
                i += 2;
            }
            ('\'', _) => {
                // A char literal ('x', '\n', '"'); a lifetime has no closing quote.
                let close = if next == Some('\\') { i + 3 } else { i + 2 };
                i = if chars.get(close) == Some(&'\'') {
                    close + 1
                } else {
                    i + 1
                };
            }
            ('"', _) => {
                i += 1;
                while let Some(&c) = chars.get(i) {
                    match c {
                        '\\' => i += 2,
                        '"' => break,
                        c => {
                            out.push(if c == '\n' { ' ' } else { c });
                            i += 1;
                        }
                    }
                }
                out.push('\n');
                i += 1;
            }
            _ => i += 1,
        }
    }
    out
}

fn files_under(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable folder").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, ext, out);
        } else if path.extension().is_some_and(|x| x == ext) {
            out.push(path);
        }
    }
}

/// (file, text to search) for everything that must not recommend a retired size.
fn texts() -> Vec<(PathBuf, String)> {
    let root = root();
    let read = |p: &Path| std::fs::read_to_string(p).expect("readable file");
    let mut files = vec![root.join("README.md")];
    files_under(&root.join("docs"), "md", &mut files);
    for dir in ["examples", "src/init/templates"] {
        for entry in std::fs::read_dir(root.join(dir))
            .expect("examples/ and init's templates")
            .flatten()
        {
            // Files only: `examples/data/` holds the examples' data, not workflows.
            if entry.path().is_file() {
                files.push(entry.path());
            }
        }
    }
    for entry in std::fs::read_dir(root.join("tests/fixtures/rules"))
        .expect("rule fixtures")
        .flatten()
    {
        files.push(entry.path().join("passes.batchflow"));
    }
    // The retirement rule's own page is about retired sizes.
    files.retain(|f| !f.ends_with("docs/rules/BF120.md"));
    let mut out: Vec<(PathBuf, String)> = files
        .into_iter()
        .map(|f| {
            let text = read(&f);
            (f, text)
        })
        .collect();
    let mut sources = Vec::new();
    files_under(&root.join("src"), "rs", &mut sources);
    for f in sources {
        let text = string_literals(&read(&f));
        out.push((f, text));
    }
    out
}

#[test]
fn nothing_recommends_a_retired_vm_size() {
    let retired = retired();
    assert!(retired.contains("standard_nc6s_v3"), "the table lost its retired sizes");
    let mut hits = Vec::new();
    let texts = texts();
    assert!(texts.len() > 100, "{} files", texts.len());
    for (file, text) in &texts {
        let rel = file.strip_prefix(root()).unwrap_or(file).display().to_string();
        for (line, name) in mentions(text, &retired) {
            hits.push(format!("{rel}:{line}: `{name}`"));
        }
    }
    assert!(
        hits.is_empty(),
        "retired VM sizes (retired on or before {TODAY}):\n{}",
        hits.join("\n")
    );
}

#[test]
fn the_scan_sees_whole_names_and_string_literals_only() {
    let retired = retired();
    let text = "use `Standard_NC6s_v3`\nor standard_nc6 (retired)\nnot Standard_NC64as_T4_v3";
    let found: Vec<String> = mentions(text, &retired).into_iter().map(|(_, n)| n).collect();
    assert_eq!(found, ["Standard_NC6s_v3", "standard_nc6"]);
    let rust = "// Standard_NC6 in a comment\nfn f<'a>(x: &'a str) -> char { let _ = \"a \\\"q\\\" Standard_NC12\"; '\"' }\n#[cfg(test)]\nmod t { const X: &str = \"Standard_NV6\"; }";
    let literals = string_literals(rust);
    let found: Vec<String> = mentions(&literals, &retired).into_iter().map(|(_, n)| n).collect();
    assert_eq!(found, ["Standard_NC12"]);
}

#[test]
fn unknown_size_suggestions_skip_retired_sizes() {
    let pool = |name: &str, size: &str| {
        format!("pool {name} {{\n  vm_size = \"{size}\"\n  image = marketplace(\"Canonical\", \"ubuntu-24_04-lts\", \"server\")\n  dedicated = 1\n}}\n")
    };
    // Each typo is one edit away from a retired size (NC6s_v3, H16r, NV6).
    let text = ["Standard_NC6s_v4", "Standard_H16rs", "Standard_NV6x"]
        .iter()
        .enumerate()
        .map(|(i, s)| pool(&format!("p{i}"), s))
        .collect::<String>();
    let out = Test::new()
        .write("typos.batchflow", text)
        .args(["check", "--format", "json", "typos.batchflow"])
        .run();
    let helps: Vec<String> = out
        .diagnostics()
        .iter()
        .filter(|d| d["code"] == "BF107")
        .map(|d| d["help"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(helps.len(), 3, "{:?}", out.diagnostics());
    let retired = retired();
    for help in &helps {
        assert!(help.starts_with("closest known sizes: `Standard_"), "{help}");
        assert!(mentions(help, &retired).is_empty(), "{help}");
    }
}
