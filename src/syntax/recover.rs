//! Parsing past syntax errors: a BF001 stops only the top-level item it is in. The item is
//! blanked (its characters become spaces, its newlines stay, so every span of the rest keeps
//! its place) and the file parsed again, so independent errors elsewhere are still found. The
//! names the broken items declared are kept, so that what refers to them is not reported as
//! unknown on top of the syntax error.

use crate::ast::File;
use crate::diagnostics::{Code, Diagnostic};
use crate::source::SrcId;

/// Syntax errors reported at most per file; past them, the rest of the file is not checked.
const MAX_ERRORS: usize = 20;

/// The words that start a top-level item.
const KEYWORDS: [&str; 9] = [
    "workflow", "import", "hooks", "param", "let", "registry", "pool", "job", "storage",
];

/// A file parsed as far as it goes: the items that parse, the syntax errors of the others, and
/// the names those others declared.
#[derive(Debug)]
pub struct Recovered {
    /// `None` when nothing could be made of the file (a nesting error, an error outside any
    /// item the scan can tell apart).
    pub file: Option<File>,
    pub errors: Vec<Diagnostic>,
    /// Names declared by items that did not parse: pools, jobs, registries, lets, params, imports.
    pub broken: Vec<String>,
}

impl Recovered {
    /// Whether `d`, found in the rest of the file, only follows from a broken item: it names
    /// something a broken item declared (`unknown pool `cpu``, `--param n=...`).
    pub fn hides(&self, d: &Diagnostic) -> bool {
        d.code != Code::BF001
            && self
                .broken
                .iter()
                .any(|n| d.message.contains(&format!("`{n}`")) || d.message.contains(&format!("`--param {n}=")))
    }
}

/// Parses `text`, going past syntax errors item by item.
pub fn parse(src: SrcId, text: &str) -> Recovered {
    let mut errors = Vec::new();
    let mut broken = Vec::new();
    let mut current = text.to_string();
    loop {
        let error = match super::parse(src, &current) {
            Ok(file) => {
                return Recovered {
                    file: Some(file),
                    errors,
                    broken,
                }
            }
            Err(d) => *d,
        };
        // An error at the end of the file is in the last region.
        let at = (error.span.start as usize).min(current.len().saturating_sub(1));
        let nesting = error.message.contains("nest");
        let region = regions(&current)
            .into_iter()
            .find(|r| r.start <= at && at < r.end.max(r.start + 1));
        errors.push(error);
        match region {
            Some(r) if !nesting && errors.len() < MAX_ERRORS => {
                broken.extend(r.name);
                current = blank(&current, r.start, r.end);
            }
            _ => {
                return Recovered {
                    file: None,
                    errors,
                    broken,
                }
            }
        }
    }
}

/// A stretch of the file: a top-level item (with the name it declares), or what lies between
/// two items.
#[derive(Debug, PartialEq, Eq)]
struct Region {
    start: usize,
    end: usize,
    name: Option<String>,
}

/// `text` with `start..end` turned into spaces, newlines kept.
fn blank(text: &str, start: usize, end: usize) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, c) in text.char_indices() {
        if i >= start && i < end && c != '\n' {
            out.extend(std::iter::repeat_n(' ', c.len_utf8()));
        } else {
            out.push(c);
        }
    }
    out
}

/// The top-level items of `text` and the gaps between them, in order. An item starts at a
/// keyword at the start of a line outside any bracket, string or comment; a block item ends
/// at the brace that closes its block, any other at the next item.
fn regions(text: &str) -> Vec<Region> {
    let starts = item_starts(text);
    let mut out = Vec::new();
    let mut last_end = 0;
    for (i, (start, block_end)) in starts.iter().enumerate() {
        let gap = text.get(last_end..*start).unwrap_or("");
        if !gap.trim().is_empty() {
            out.push(Region {
                start: last_end,
                end: *start,
                name: None,
            });
        }
        let next = starts.get(i + 1).map_or(text.len(), |(s, _)| *s);
        let end = block_end.filter(|e| *e <= next).unwrap_or(next);
        out.push(Region {
            start: *start,
            end,
            name: declared(text.get(*start..end).unwrap_or("")),
        });
        last_end = end;
    }
    if last_end < text.len() || out.is_empty() {
        out.push(Region {
            start: last_end,
            end: text.len(),
            name: None,
        });
    }
    out
}

/// The name an item's text declares: `pool NAME`, `job NAME on ...`, `let NAME`, `param NAME:`,
/// `registry NAME`, `import "a/b" [as NAME]`.
fn declared(item: &str) -> Option<String> {
    let mut words = item.split(|c: char| c.is_whitespace() || c == ':' || c == '=' || c == '{');
    let mut words = std::iter::from_fn(move || words.by_ref().find(|w| !w.is_empty()));
    match words.next()? {
        "pool" | "job" | "let" | "param" | "registry" => words.next().map(str::to_string),
        "import" => {
            let path = words.next()?.trim_matches('"');
            match (words.next(), words.next()) {
                (Some("as"), Some(alias)) => Some(alias.to_string()),
                _ => path.rsplit('/').next().map(str::to_string),
            }
        }
        _ => None,
    }
}

/// Where each top-level item starts, and where its block closes (for items with a block).
fn item_starts(text: &str) -> Vec<(usize, Option<usize>)> {
    let bytes = text.as_bytes();
    let mut out: Vec<(usize, Option<usize>)> = Vec::new();
    // Open brackets outside strings; for each `${`, the depth it returns to.
    let mut depth = 0usize;
    let mut interps: Vec<usize> = Vec::new();
    let mut in_string = false;
    let mut line_start = true;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                b'$' if bytes.get(i + 1) == Some(&b'{') => {
                    interps.push(depth);
                    depth += 1;
                    in_string = false;
                    i += 1;
                }
                _ => {}
            }
            i += 1;
            continue;
        }
        match b {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'\n' => {
                line_start = true;
                i += 1;
                continue;
            }
            b'"' => in_string = true,
            b'\\' if bytes.get(i + 1) == Some(&b'"') => {
                // `\"...\"`, the escaped-quote string of interpolations.
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == b'\\' && bytes[i + 1] == b'"') {
                    i += 1;
                }
                i += 1;
            }
            b'r' if raw_start(bytes, i) => {
                i = raw_end(bytes, i);
                line_start = false;
                continue;
            }
            b'{' | b'[' | b'(' => depth += 1,
            b'}' | b']' | b')' => {
                depth = depth.saturating_sub(1);
                if interps.last() == Some(&depth) {
                    interps.pop();
                    in_string = true;
                } else if depth == 0 && b == b'}' {
                    if let Some(last) = out.last_mut().filter(|l| l.1.is_none()) {
                        last.1 = Some(i + 1);
                    }
                }
            }
            _ if b.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            _ if depth == 0 && line_start && b.is_ascii_alphabetic() => {
                let word: String = text[i..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                    .collect();
                if KEYWORDS.contains(&word.as_str()) {
                    out.push((i, None));
                }
            }
            _ => {}
        }
        line_start = false;
        i += 1;
    }
    out
}

/// Whether a raw string `r"` or `r#..."` starts at `i` (and `r` is not the end of a name).
fn raw_start(bytes: &[u8], i: usize) -> bool {
    let after_name = i > 0
        && bytes
            .get(i - 1)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_');
    let mut j = i + 1;
    while bytes.get(j) == Some(&b'#') {
        j += 1;
    }
    !after_name && bytes.get(j) == Some(&b'"')
}

/// Just past the raw string that starts at `i`, or the end of the text.
fn raw_end(bytes: &[u8], i: usize) -> usize {
    let mut j = i + 1;
    let mut hashes = 0;
    while bytes.get(j) == Some(&b'#') {
        hashes += 1;
        j += 1;
    }
    j += 1;
    while j < bytes.len() {
        if bytes[j] == b'"' && (1..=hashes).all(|k| bytes.get(j + k) == Some(&b'#')) {
            return j + 1 + hashes;
        }
        j += 1;
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_and_gaps_are_told_apart() {
        let text = "workflow \"w\"\npool a {\n  x = \"}\"\n}\noops\njob j on a {\n  task t { command = \"${b}\" }\n}\nlet n = 1\n";
        let r = regions(text);
        let names: Vec<(&str, Option<&str>)> = r
            .iter()
            .map(|r| (text[r.start..r.end].trim(), r.name.as_deref()))
            .collect();
        assert_eq!(
            names,
            [
                ("workflow \"w\"", None),
                ("pool a {\n  x = \"}\"\n}", Some("a")),
                ("oops", None),
                ("job j on a {\n  task t { command = \"${b}\" }\n}", Some("j")),
                ("let n = 1", Some("n")),
            ]
        );
    }

    #[test]
    fn raw_strings_and_comments_hide_keywords_and_braces() {
        let text = "let f = r#\"\npool x {\n\"#\n# job y on x {\npool p { }\n";
        let starts: Vec<usize> = item_starts(text).iter().map(|(s, _)| *s).collect();
        assert_eq!(starts, [0, text.find("pool p").expect("pool p")]);
    }

    #[test]
    fn imports_declare_their_alias_or_last_segment() {
        assert_eq!(declared("import \"std/images\"").as_deref(), Some("images"));
        assert_eq!(declared("import \"std/images\" as img").as_deref(), Some("img"));
        assert_eq!(declared("param seeds: int = 4").as_deref(), Some("seeds"));
        assert_eq!(declared("storage { }"), None);
    }

    #[test]
    fn every_broken_item_is_reported_and_the_rest_parses() {
        let text =
            "pool a {\n  dedicated = 1 +\n}\npool b {\n  vm_size = \"x\"\n}\njob j on b {\n  task t { command = }\n}\n";
        let r = parse(SrcId::default(), text);
        assert_eq!(r.errors.len(), 2, "{:?}", r.errors);
        assert_eq!(r.broken, ["a", "j"]);
        let file = r.file.expect("the rest parses");
        assert_eq!(file.items.len(), 1);
    }
}
