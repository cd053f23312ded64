//! Diagnostics as text for people (miette), as GitHub workflow annotations, and as JSON.

use super::excerpt::Excerpt;
use super::{Diagnostic, Problem, Severity};
use crate::source::{SourceMap, Span};
use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};
use serde::Serialize;
use std::fmt;

/// The human form: a miette report per diagnostic, source excerpt and all.
pub fn human(diags: &[Diagnostic], sources: &SourceMap, color: bool, width: usize) -> String {
    render_all(diags.iter().map(|d| MietteReport::new(d, sources)), color, width, true)
}

/// Run-time problems: one pointing into the workflow is shown like a diagnostic, with its
/// lines (not wrapped, so a long error stays one line to search for); one that points nowhere
/// is an `error:` line, as usage errors are, with its help and notes below.
pub fn problems(problems: &[Problem], sources: &SourceMap, color: bool, width: usize) -> String {
    let mut out = String::new();
    for p in problems {
        let located = p.span.is_some_and(|s| sources.get(s.src).is_some());
        if located {
            out.push_str(&render_all(
                std::iter::once(MietteReport::problem(p, sources)),
                color,
                width,
                false,
            ));
            continue;
        }
        out.push_str(&format!("{}: {}\n", p.severity.as_str(), p.message));
        if let Some(h) = &p.help {
            out.push_str(&format!("  help: {h}\n"));
        }
        for note in &p.notes {
            out.push_str(&format!("  {note}\n"));
        }
    }
    out
}

fn render_all(reports: impl Iterator<Item = MietteReport>, color: bool, width: usize, wrap: bool) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(width)
        .with_wrap_lines(wrap)
        .with_links(false);
    let mut out = String::new();
    for report in reports {
        if handler.render_report(&mut out, &report).is_err() {
            out.push_str(&format!(
                "{}: {}\n",
                report.code.as_deref().unwrap_or("error"),
                report.message
            ));
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

struct MietteReport {
    message: String,
    code: Option<String>,
    severity: miette::Severity,
    help: Option<String>,
    source: NamedSource<Excerpt>,
    labels: Vec<LabeledSpan>,
}

impl MietteReport {
    fn new(diag: &Diagnostic, sources: &SourceMap) -> MietteReport {
        let file = sources.get(diag.span.src);
        let len = file.map_or(0, |f| f.text.len());
        let name = sources.name(diag.span.src).to_string();
        let primary_text = match diag.severity {
            Severity::Error => "here",
            Severity::Warning | Severity::Info => "this",
        };
        let mut labels = vec![LabeledSpan::new_primary_with_span(
            Some(primary_text.to_string()),
            clamp(diag.span, len),
        )];
        let mut notes = Vec::new();
        for label in &diag.labels {
            if label.span.src == diag.span.src {
                labels.push(LabeledSpan::new_with_span(
                    Some(label.text.clone()),
                    clamp(label.span, len),
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
        MietteReport {
            message: diag.message.clone(),
            code: Some(format!("{}({})", diag.code.as_str(), diag.code.name())),
            severity: match diag.severity {
                Severity::Error => miette::Severity::Error,
                Severity::Warning => miette::Severity::Warning,
                Severity::Info => miette::Severity::Advice,
            },
            help,
            source: NamedSource::new(name, excerpt(file, &labels)),
            labels,
        }
    }
}

fn excerpt(file: Option<&crate::source::SourceFile>, labels: &[LabeledSpan]) -> Excerpt {
    let spans: Vec<(usize, usize)> = labels.iter().map(|l| (l.offset(), l.len())).collect();
    Excerpt::new(file, &spans)
}

impl MietteReport {
    fn problem(p: &Problem, sources: &SourceMap) -> MietteReport {
        let file = p.span.and_then(|s| sources.get(s.src));
        let len = file.map_or(0, |f| f.text.len());
        let name = p.span.map_or_else(String::new, |s| sources.name(s.src).to_string());
        let labels = match (p.span, file) {
            (Some(span), Some(_)) => vec![LabeledSpan::new_primary_with_span(
                Some("declared here".to_string()),
                clamp(span, len),
            )],
            _ => Vec::new(),
        };
        let mut help: Vec<String> = p.help.iter().cloned().collect();
        help.extend(p.notes.iter().cloned());
        MietteReport {
            message: p.message.clone(),
            code: None,
            severity: match p.severity {
                Severity::Error => miette::Severity::Error,
                Severity::Warning => miette::Severity::Warning,
                Severity::Info => miette::Severity::Advice,
            },
            help: (!help.is_empty()).then(|| help.join("\n")),
            source: NamedSource::new(name, excerpt(file, &labels)),
            labels,
        }
    }
}

fn clamp(span: Span, len: usize) -> (usize, usize) {
    let start = (span.start as usize).min(len);
    let end = (span.end as usize).clamp(start, len);
    (start, end - start)
}

impl fmt::Debug for MietteReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for MietteReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for MietteReport {}

impl miette::Diagnostic for MietteReport {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.code.as_ref().map(|c| Box::new(c) as Box<dyn fmt::Display>)
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
