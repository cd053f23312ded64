//! Diagnostics in the protocol's form: the rule code linking to its page, the help after the
//! message, labels as related locations. A problem found in another file (the hook script)
//! is shown in the workflow where it is called, or at its first line, pointing there.

use super::analysis::Analysis;
use super::lines::Lines;
use super::uri;
use crate::diagnostics::{Diagnostic, Severity};
use crate::source::Span;
use lsp_types::{
    CodeDescription, DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, Range, Uri,
};
use std::collections::HashMap;
use std::str::FromStr;

/// Every diagnostic of the analysis, for the document `doc`.
pub fn diagnostics(a: &Analysis, doc: &Uri) -> Vec<lsp_types::Diagnostic> {
    let mut places = Places {
        a,
        doc,
        lines: HashMap::new(),
    };
    a.diagnostics.iter().map(|d| places.convert(d)).collect()
}

/// Converts the diagnostics of `a` that overlap `range` of the document.
pub fn diagnostic(a: &Analysis, doc: &Uri, d: &Diagnostic) -> lsp_types::Diagnostic {
    Places {
        a,
        doc,
        lines: HashMap::new(),
    }
    .convert(d)
}

struct Places<'a> {
    a: &'a Analysis,
    doc: &'a Uri,
    /// Line indexes of the other files diagnostics point into.
    lines: HashMap<u32, Lines>,
}

impl Places<'_> {
    fn convert(&mut self, d: &Diagnostic) -> lsp_types::Diagnostic {
        let mut related: Vec<DiagnosticRelatedInformation> = Vec::new();
        let range = if d.span.src == self.a.src {
            self.range(d.span)
        } else {
            // Shown where the workflow leads to it: its first label in this file.
            if let Some(location) = self.location(d.span) {
                related.push(DiagnosticRelatedInformation {
                    location,
                    message: "the problem is here".into(),
                });
            }
            d.labels
                .iter()
                .find(|l| l.span.src == self.a.src)
                .map_or_else(Range::default, |l| self.range(l.span))
        };
        for l in &d.labels {
            if let Some(location) = self.location(l.span) {
                related.push(DiagnosticRelatedInformation {
                    location,
                    message: l.text.clone(),
                });
            }
        }
        let mut message = d.message.clone();
        if let Some(h) = &d.help {
            message.push_str("\nhelp: ");
            message.push_str(h);
        }
        lsp_types::Diagnostic {
            range,
            severity: Some(match d.severity {
                Severity::Error => DiagnosticSeverity::ERROR,
                Severity::Warning => DiagnosticSeverity::WARNING,
                Severity::Info => DiagnosticSeverity::INFORMATION,
            }),
            code: Some(NumberOrString::String(d.code.as_str().into())),
            code_description: Uri::from_str(d.code.help_uri())
                .ok()
                .map(|href| CodeDescription { href }),
            source: Some("batchflow".into()),
            message,
            related_information: (!related.is_empty()).then_some(related),
            tags: None,
            data: None,
        }
    }

    fn range(&self, span: Span) -> Range {
        self.a.lines.range(&self.a.text, span.start as usize, span.end as usize)
    }

    /// A span as a location, when its file is one the editor can open.
    fn location(&mut self, span: Span) -> Option<Location> {
        if span.src == self.a.src {
            return Some(Location::new(self.doc.clone(), self.range(span)));
        }
        let file = self.a.sources.get(span.src)?;
        let uri = uri::from_path(std::path::Path::new(&file.name)).filter(|_| !file.name.starts_with('<'))?;
        let encoding = self.a.lines.encoding();
        let lines = self
            .lines
            .entry(span.src.0)
            .or_insert_with(|| Lines::new(&file.text, encoding));
        let range = lines.range(&file.text, span.start as usize, span.end as usize);
        Some(Location::new(uri, range))
    }
}
