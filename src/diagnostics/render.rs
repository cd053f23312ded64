//! Diagnostics as text for people (miette), as GitHub workflow annotations, and as JSON.

use super::{Diagnostic, Severity};
use crate::source::{SourceMap, Span};
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};
use serde::Serialize;
use std::fmt;
use std::sync::Arc;

/// The human form: a miette report per diagnostic, source excerpt and all.
pub fn human(diags: &[Diagnostic], sources: &SourceMap, color: bool, width: usize) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(width)
        .with_links(false);
    let mut out = String::new();
    for diag in diags {
        let report = Report::new(diag, sources);
        if handler.render_report(&mut out, &report).is_err() {
            out.push_str(&format!("{}: {}\n", diag.code, diag.message));
        }
        out.push('\n');
    }
    out
}

/// `path:line:col` of a span.
pub fn location(sources: &SourceMap, span: Span) -> String {
    let (line, col) = sources.get(span.src).map_or((1, 1), |f| f.line_col(span.start));
    format!("{}:{line}:{col}", sources.name(span.src))
}

struct Report {
    message: String,
    code: String,
    severity: miette::Severity,
    help: Option<String>,
    source: NamedSource<Arc<str>>,
    labels: Vec<LabeledSpan>,
}

impl Report {
    fn new(diag: &Diagnostic, sources: &SourceMap) -> Report {
        let file = sources.get(diag.span.src);
        let text: Arc<str> = file.map_or_else(|| Arc::from(""), |f| Arc::clone(&f.text));
        let name = sources.name(diag.span.src).to_string();
        let primary_text = match diag.severity {
            Severity::Error => "here",
            Severity::Warning | Severity::Info => "this",
        };
        let mut labels = vec![LabeledSpan::new_primary_with_span(
            Some(primary_text.to_string()),
            clamp(diag.span, text.len()),
        )];
        let mut notes = Vec::new();
        for label in &diag.labels {
            if label.span.src == diag.span.src {
                labels.push(LabeledSpan::new_with_span(
                    Some(label.text.clone()),
                    clamp(label.span, text.len()),
                ));
            } else {
                notes.push(format!("{}: {}", label.text, location(sources, label.span)));
            }
        }
        let help = match (&diag.help, notes.is_empty()) {
            (Some(h), true) => Some(h.clone()),
            (Some(h), false) => Some(format!("{h}\n{}", notes.join("\n"))),
            (None, false) => Some(notes.join("\n")),
            (None, true) => None,
        };
        Report {
            message: diag.message.clone(),
            code: format!("{}({})", diag.code.as_str(), diag.code.name()),
            severity: match diag.severity {
                Severity::Error => miette::Severity::Error,
                Severity::Warning => miette::Severity::Warning,
                Severity::Info => miette::Severity::Advice,
            },
            help,
            source: NamedSource::new(name, text),
            labels,
        }
    }
}

fn clamp(span: Span, len: usize) -> (usize, usize) {
    let start = (span.start as usize).min(len);
    let end = (span.end as usize).clamp(start, len);
    (start, end - start)
}

impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(&self.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }
}

/// One line per diagnostic in GitHub Actions' workflow-command form.
pub fn github(diags: &[Diagnostic], sources: &SourceMap) -> String {
    let mut out = String::new();
    for d in diags {
        let file = sources.get(d.span.src);
        let (line, col) = file.map_or((1, 1), |f| f.line_col(d.span.start));
        let (end_line, end_col) = file.map_or((line, col), |f| f.line_col(d.span.end));
        let level = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        let mut message = d.message.clone();
        if let Some(h) = &d.help {
            message.push_str("\nhelp: ");
            message.push_str(h);
        }
        out.push_str(&format!(
            "::{level} file={},line={line},col={col},endLine={end_line},endColumn={end_col},title={}::{}\n",
            escape_property(sources.name(d.span.src)),
            escape_property(&format!("{} {}", d.code.as_str(), d.code.name())),
            escape_data(&message),
        ));
    }
    out
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// The JSON record of one diagnostic; the field set is a stable contract.
#[derive(Serialize)]
pub struct JsonDiagnostic<'a> {
    pub code: &'static str,
    pub severity: &'static str,
    pub message: &'a str,
    pub file: &'a str,
    pub line: usize,
    pub column: usize,
    pub span: JsonSpan,
    pub help: &'a str,
}

#[derive(Serialize)]
pub struct JsonSpan {
    pub start: u32,
    pub end: u32,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    diagnostics: Vec<JsonDiagnostic<'a>>,
}

/// `{"diagnostics":[{"code":...,"severity":...,"message":...,"file":...,"line":1,"column":1,
/// "span":{"start":0,"end":0},"help":...}]}`, lines and columns 1-based.
pub fn json(diags: &[Diagnostic], sources: &SourceMap) -> String {
    let records = diags
        .iter()
        .map(|d| {
            let (line, column) = sources.get(d.span.src).map_or((1, 1), |f| f.line_col(d.span.start));
            JsonDiagnostic {
                code: d.code.as_str(),
                severity: d.severity.as_str(),
                message: &d.message,
                file: sources.name(d.span.src),
                line,
                column,
                span: JsonSpan {
                    start: d.span.start,
                    end: d.span.end,
                },
                help: d.help.as_deref().unwrap_or(""),
            }
        })
        .collect();
    serde_json::to_string(&JsonReport { diagnostics: records }).unwrap_or_else(|_| "{\"diagnostics\":[]}".into())
}
