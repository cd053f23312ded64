//! The crate's shape, read from its `use` lines (and inline `crate::…` paths): no import
//! cycles between the top-level modules, none between the files of one folder, and the
//! direction of `shared/design/style.md`: the pure half (`syntax`, `lower`, `check`, `plan`,
//! `hooks`, `format`, `init`) never reaches the world, `plan` stands below `check` and
//! `lower`, `exec` below the compiler, and nothing but `main` imports `cli`.

use crate::support::root;
use petgraph::algo::tarjan_scc;
use petgraph::graphmap::DiGraphMap;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One source file as a module path (`check::pools`; `check` for `check/mod.rs`; `main` for
/// the binary's root; `cli::run` for the binary's `src/cli/run.rs`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Module(Vec<String>);

impl Module {
    fn of(file: &Path, src: &Path) -> Module {
        let rel = file.strip_prefix(src).unwrap_or(file);
        let mut parts: Vec<String> = rel
            .iter()
            .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
            .collect();
        if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
            parts.pop();
        }
        Module(parts)
    }

    fn name(&self) -> String {
        if self.0.is_empty() {
            "crate".into()
        } else {
            self.0.join("::")
        }
    }

    fn top(&self) -> &str {
        self.0.first().map_or("crate", String::as_str)
    }
}

/// What one file names: module paths inside the crate, and outside crates/std paths.
struct Uses {
    internal: BTreeSet<Vec<String>>,
    external: BTreeSet<String>,
}

/// Drops `//` comments and everything from the first `#[cfg(test)]` on (unit tests sit at
/// the bottom of each file and may import what the module itself must not).
fn code_of(text: &str) -> String {
    let body = text.split("#[cfg(test)]").next().unwrap_or("");
    body.lines()
        .map(|l| {
            let mut in_str = false;
            let bytes = l.as_bytes();
            for i in 0..bytes.len() {
                match bytes[i] {
                    b'"' if i == 0 || bytes[i - 1] != b'\\' => in_str = !in_str,
                    b'/' if !in_str && bytes.get(i + 1) == Some(&b'/') => return &l[..i],
                    _ => {}
                }
            }
            l
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Expands one `use` tree (`a::{b, c::{d}}`) into its paths.
fn expand(tree: &str, prefix: &[String], out: &mut Vec<Vec<String>>) {
    let tree = tree.trim();
    let group = tree
        .find('{')
        .and_then(|open| tree.rfind('}').filter(|close| *close > open).map(|close| (open, close)));
    if let Some((open, close)) = group {
        let head: Vec<String> = tree[..open]
            .split("::")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        let mut base = prefix.to_vec();
        base.extend(head);
        let inner = &tree[open + 1..close];
        let mut depth = 0;
        let mut start = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(&inner[start..i], &base, out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        expand(&inner[start..], &base, out);
    } else {
        let mut path = prefix.to_vec();
        let tree = tree.split(" as ").next().unwrap_or(tree);
        path.extend(
            tree.split("::")
                .map(str::trim)
                .filter(|s| !s.is_empty() && *s != "*" && *s != "self")
                .map(str::to_string),
        );
        if !path.is_empty() {
            out.push(path);
        }
    }
}

/// Every path the code names: `use` items, and inline `crate::a::b` / `super::x` paths.
fn paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("use ") {
        let before = rest[..at].chars().last();
        let after = &rest[at + 4..];
        if before.is_none_or(|c| !is_ident(c)) {
            if let Some(end) = after.find(';') {
                expand(&after[..end], &[], &mut out);
            }
        }
        rest = after;
    }
    for root in ["crate::", "super::", "batchflow::", "std::", "tokio::", "reqwest::"] {
        let mut rest = code;
        while let Some(at) = rest.find(root) {
            let before = rest[..at].chars().last();
            let tail = &rest[at..];
            let end = tail.find(|c: char| !(is_ident(c) || c == ':')).unwrap_or(tail.len());
            if before.is_none_or(|c| !is_ident(c) && c != ':') {
                out.push(
                    tail[..end]
                        .split("::")
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect(),
                );
            }
            rest = &rest[at + root.len()..];
        }
    }
    out
}

/// Resolves a path named in `from` to the module file it lands in, if it is in this crate.
fn resolve(
    path: &[String],
    from: &Module,
    lib_modules: &BTreeSet<Vec<String>>,
    bin_modules: &BTreeSet<Vec<String>>,
    in_bin: bool,
) -> Option<(bool, Vec<String>)> {
    let (mut base, rest, bin): (Vec<String>, &[String], bool) = match path.first().map(String::as_str) {
        Some("crate") => (Vec::new(), &path[1..], in_bin),
        Some("batchflow") => (Vec::new(), &path[1..], false),
        Some("super") => {
            // `super` is the module above this file's own (`check` from `check/pools.rs`, the
            // root from `check/mod.rs`).
            let mut base = from.0.clone();
            let mut rest = path;
            while rest.first().is_some_and(|s| s == "super") {
                base.pop();
                rest = &rest[1..];
            }
            (base, rest, in_bin)
        }
        Some("self") => (from.0.clone(), &path[1..], in_bin),
        _ => return None,
    };
    let known = if bin { bin_modules } else { lib_modules };
    let mut best = None;
    for seg in rest {
        base.push(seg.clone());
        if known.contains(&base) {
            best = Some(base.clone());
        }
    }
    best.map(|m| (bin, m))
}

/// The crate's source files, without its unit-test modules (`tests/` folders and `*_tests.rs`
/// files, which their parents declare under `#[cfg(test)]`): tests may drive the compiler
/// from anywhere.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src").flatten() {
        let p = entry.path();
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name == "tests" || name.ends_with("_tests.rs") {
            continue;
        }
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The crate as (file module, is in the binary, uses).
struct Crate {
    files: Vec<(Module, bool, Uses)>,
}

fn read_crate() -> Crate {
    let src = root().join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    // The binary is `main.rs` and `cli/`; everything else is the library.
    let in_bin = |f: &Path| f.starts_with(src.join("cli")) || f == src.join("main.rs");
    let mut lib_modules = BTreeSet::new();
    let mut bin_modules = BTreeSet::new();
    for f in &files {
        let m = Module::of(f, &src);
        if in_bin(f) {
            if m.0 != ["main"] {
                bin_modules.insert(m.0);
            }
        } else {
            lib_modules.insert(m.0);
        }
    }
    let mut out = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read source");
        let mut module = Module::of(f, &src);
        let bin = in_bin(f);
        if bin && module.0 == ["main"] {
            module = Module(Vec::new());
        }
        let mut uses = Uses {
            internal: BTreeSet::new(),
            external: BTreeSet::new(),
        };
        for path in paths(&code_of(&text)) {
            match resolve(&path, &module, &lib_modules, &bin_modules, bin) {
                Some((target_bin, target)) => {
                    let mut name = target;
                    if target_bin {
                        name.insert(0, "<bin>".into());
                    }
                    uses.internal.insert(name);
                }
                None => {
                    if let Some(first) = path.first() {
                        let ext = if first == "std" {
                            path.iter().take(2).cloned().collect::<Vec<_>>().join("::")
                        } else {
                            first.clone()
                        };
                        uses.external.insert(ext);
                    }
                }
            }
        }
        let mut name = module.0.clone();
        if bin {
            name.insert(0, "<bin>".into());
        }
        out.push((Module(name), bin, uses));
    }
    Crate { files: out }
}

/// Strongly connected groups of more than one node.
fn cycles(edges: &BTreeSet<(String, String)>) -> Vec<Vec<String>> {
    let mut g: DiGraphMap<&str, (), std::hash::RandomState> = DiGraphMap::default();
    for (a, b) in edges {
        if a != b {
            g.add_edge(a.as_str(), b.as_str(), ());
        }
    }
    let mut out: Vec<Vec<String>> = tarjan_scc(&g)
        .into_iter()
        .filter(|c| c.len() > 1)
        .map(|c| {
            let mut c: Vec<String> = c.into_iter().map(str::to_string).collect();
            c.sort();
            c
        })
        .collect();
    out.sort();
    out
}

/// Import cycles between the entries of each folder (a file, or a subfolder with everything
/// below it; the folder's own `mod.rs` is left out): at the top, between top-level modules.
fn import_cycles(krate: &Crate) -> Vec<String> {
    let mut folders: BTreeMap<Vec<String>, BTreeSet<(String, String)>> = BTreeMap::new();
    for (from, _, uses) in &krate.files {
        for to in &uses.internal {
            // The deepest folder holding both, and the entry of each below it.
            let common = from.0.iter().zip(to).take_while(|(x, y)| x == y).count();
            if common < from.0.len() && common < to.len() {
                folders
                    .entry(from.0[..common].to_vec())
                    .or_default()
                    .insert((from.0[common].clone(), to[common].clone()));
            }
        }
    }
    let mut out = Vec::new();
    for (folder, edges) in &folders {
        let place = if folder.is_empty() {
            "top-level modules".to_string()
        } else {
            format!("in {}/", folder.join("/"))
        };
        for c in cycles(edges) {
            out.push(format!("{place}: {}", c.join(" <-> ")));
        }
    }
    out
}

/// Edges the direction forbids, as "from -> to".
fn forbidden(krate: &Crate) -> Vec<String> {
    const PURE: &[&str] = &["syntax", "lower", "check", "plan", "hooks", "format", "init"];
    const WORLD_CRATES: &[&str] = &["tokio", "reqwest", "std::fs", "std::env"];
    let mut out = Vec::new();
    for (from, bin, uses) in &krate.files {
        let top = from.top().to_string();
        let name = from.name();
        for ext in &uses.external {
            if !bin && PURE.contains(&top.as_str()) && WORLD_CRATES.contains(&ext.as_str()) {
                out.push(format!("{name} -> {ext} (the pure half does no I/O)"));
            }
        }
        for to in &uses.internal {
            let target = Module(to.clone());
            let to_top = target.top();
            let why = match (top.as_str(), to_top) {
                (from_top, "<bin>") if from_top != "<bin>" => Some("nothing in the library imports the CLI"),
                ("<bin>", _) if to.get(1).is_some_and(|s| s == "cli") && from.0.len() == 1 => None,
                (p, "exec") if PURE.contains(&p) => Some("the pure half never imports exec"),
                ("plan", "check" | "lower") => Some("plan stands below check and lower"),
                ("exec", "syntax" | "lower" | "check" | "compile") => Some("exec runs plans, never the compiler"),
                ("lsp", "exec") => Some("the language server never runs a workflow"),
                _ => None,
            };
            if let Some(why) = why {
                out.push(format!("{name} -> {} ({why})", target.name()));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[test]
fn the_crate_has_no_import_cycles() {
    let found = import_cycles(&read_crate());
    assert!(found.is_empty(), "import cycles:\n  {}", found.join("\n  "));
}

#[test]
fn imports_follow_the_direction() {
    let found = forbidden(&read_crate());
    assert!(found.is_empty(), "forbidden imports:\n  {}", found.join("\n  "));
}

#[test]
fn the_reader_sees_use_lines_and_inline_paths() {
    let code = code_of(
        "use crate::a::{b, c::{d, e as f}};\nuse super::g;\nfn x() { crate::h::i(); } // crate::j\n#[cfg(test)]\nmod tests { use crate::k; }",
    );
    let p = paths(&code);
    for want in [
        vec!["crate", "a", "b"],
        vec!["crate", "a", "c", "d"],
        vec!["crate", "a", "c", "e"],
        vec!["super", "g"],
        vec!["crate", "h", "i"],
    ] {
        assert!(p.iter().any(|q| q == &want), "{want:?} not in {p:?}");
    }
    assert!(!p.iter().any(|q| q.iter().any(|s| s == "j" || s == "k")), "{p:?}");
    // A cycle is found, and a chain is not one.
    let edges: BTreeSet<(String, String)> = [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]
        .iter()
        .map(|(x, y)| (x.to_string(), y.to_string()))
        .collect();
    assert_eq!(cycles(&edges), vec![vec!["a".to_string(), "b".into(), "c".into()]]);
}
