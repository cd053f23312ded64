//! Diagnostics as a SARIF 2.1.0 log (OASIS Static Analysis Results Interchange Format), the
//! form GitHub code scanning uploads: one run of the `batchflow` tool, each rule reported on
//! with its page (help text and URI), each result at its region with its related locations.

use super::{Code, Diagnostic, Severity};
use crate::source::{SourceMap, Span};
use serde_json::{json, Value};

/// The schema the log declares (the OASIS schema as JSON Schema Store serves it).
const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

pub fn sarif(diags: &[Diagnostic], sources: &SourceMap) -> String {
    let mut rules: Vec<Code> = diags.iter().map(|d| d.code).collect();
    rules.sort_unstable();
    rules.dedup();
    let results: Vec<Value> = diags
        .iter()
        .map(|d| {
            let index = rules.binary_search(&d.code).unwrap_or_default();
            let mut text = d.message.clone();
            if let Some(h) = &d.help {
                text.push_str("\nhelp: ");
                text.push_str(h);
            }
            let related: Vec<Value> = d
                .labels
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    let mut loc = location(l.span, sources);
                    loc["id"] = json!(i);
                    loc["message"] = json!({ "text": l.text });
                    loc
                })
                .collect();
            let mut result = json!({
                "ruleId": d.code.as_str(),
                "ruleIndex": index,
                "level": level(d.severity),
                "message": { "text": text },
                "locations": [location(d.span, sources)],
            });
            if !related.is_empty() {
                result["relatedLocations"] = Value::Array(related);
            }
            result
        })
        .collect();
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": "batchflow",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": env!("CARGO_PKG_REPOSITORY"),
                "rules": rules.iter().map(|c| rule(*c)).collect::<Vec<_>>(),
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    serde_json::to_string(&log).unwrap_or_else(|_| "{}".into())
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A rule's descriptor: its page is the help, its "What it does" the description.
fn rule(code: Code) -> Value {
    let page = code.doc();
    let what = section(page, "What it does");
    json!({
        "id": code.as_str(),
        "name": code.name(),
        "shortDescription": { "text": first_sentence(&what) },
        "fullDescription": { "text": what },
        "help": { "text": page, "markdown": page },
        "helpUri": code.help_uri(),
        "defaultConfiguration": { "level": level(code.default_severity()) },
    })
}

/// The text under `## title`, its lines joined.
fn section(page: &str, title: &str) -> String {
    let heading = format!("## {title}");
    page.lines()
        .skip_while(|l| l.trim() != heading)
        .skip(1)
        .take_while(|l| !l.starts_with("## ") && !l.starts_with("```"))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Up to the first `. ` that ends a sentence (a capital letter follows).
fn first_sentence(text: &str) -> String {
    let mut rest = text;
    let mut at = 0;
    while let Some(i) = rest.find(". ") {
        at += i + 1;
        if rest[i + 2..].starts_with(|c: char| c.is_uppercase()) {
            return text[..at].to_string();
        }
        rest = &rest[i + 2..];
        at += 1;
    }
    text.to_string()
}

/// Where a span is: its file as a URI (relative to the checked-out repository, SARIF's
/// `%SRCROOT%`, unless absolute) and its region, 1-based, columns in characters.
fn location(span: Span, sources: &SourceMap) -> Value {
    let name = sources.name(span.src).replace('\\', "/");
    let artifact = if name.starts_with('/') {
        json!({ "uri": format!("file://{}", encode(&name)) })
    } else {
        json!({ "uri": encode(name.trim_start_matches("./")), "uriBaseId": "%SRCROOT%" })
    };
    let file = sources.get(span.src);
    let (line, col) = file.map_or((1, 1), |f| f.line_col(span.start));
    let (end_line, end_col) = file.map_or((line, col), |f| f.line_col(span.end));
    json!({ "physicalLocation": {
        "artifactLocation": artifact,
        "region": { "startLine": line, "startColumn": col, "endLine": end_line, "endColumn": end_col },
    }})
}

/// Percent-encodes all but unreserved characters and `/`.
fn encode(path: &str) -> String {
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_come_from_the_rule_page() {
        let page = "# BF1 x\n\n## What it does\nFlags a pool, e.g. `p`. Not\nthat.\n\n## Why it matters\nWhy.\n";
        assert_eq!(section(page, "What it does"), "Flags a pool, e.g. `p`. Not that.");
        assert_eq!(
            first_sentence("Flags a pool, e.g. `p`. Not that."),
            "Flags a pool, e.g. `p`."
        );
        assert_eq!(first_sentence("One sentence only"), "One sentence only");
    }

    #[test]
    fn paths_become_uris() {
        assert_eq!(
            encode("pipelines/my flow#1.batchflow"),
            "pipelines/my%20flow%231.batchflow"
        );
        assert_eq!(
            Code::BF101.help_uri(),
            concat!(env!("CARGO_PKG_REPOSITORY"), "/blob/main/docs/rules/BF101.md")
        );
        assert!(Code::BF101.help_uri().starts_with("https://"));
    }
}
