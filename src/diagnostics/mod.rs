//! Problems as data: every stage returns [`Diagnostic`]s; `render` turns them into text for
//! people (miette), GitHub workflow annotations, or JSON for machines; [`sarif`] into a SARIF
//! log for code scanning.

mod code;
mod excerpt;
mod problem;
pub mod render;
mod sarif;

pub use code::Code;
pub use problem::Problem;
pub use sarif::sarif;

use crate::source::Span;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// A secondary pointer: "the pool is declared here".
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Label {
    pub span: Span,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    /// Lowercase, names in backticks, says what is wrong.
    pub message: String,
    /// Where the problem is; the primary label.
    pub span: Span,
    pub labels: Vec<Label>,
    /// How to fix it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic with the rule's default severity.
    pub fn new(code: Code, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.default_severity(),
            message: message.into(),
            span,
            labels: Vec::new(),
            help: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn with_label(mut self, span: Span, text: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            text: text.into(),
        });
        self
    }

    pub fn with_severity(mut self, severity: Severity) -> Diagnostic {
        self.severity = severity;
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Sorts by file and position and drops exact repeats (a rule that fires for every instance
/// of a sweep reports the template's line once).
pub fn normalize(diags: &mut Vec<Diagnostic>) {
    diags.sort_by(|a, b| {
        (a.span.src, a.span.start, a.span.end, a.code).cmp(&(b.span.src, b.span.start, b.span.end, b.code))
    });
    diags.dedup();
}

/// Collects diagnostics; stages take `&mut Sink` rather than returning early.
#[derive(Debug, Default)]
pub struct Sink {
    diags: Vec<Diagnostic>,
}

impl Sink {
    pub fn push(&mut self, diag: Diagnostic) {
        self.diags.push(diag);
    }

    pub fn extend(&mut self, diags: impl IntoIterator<Item = Diagnostic>) {
        self.diags.extend(diags);
    }

    pub fn has_errors(&self) -> bool {
        self.diags.iter().any(Diagnostic::is_error)
    }

    pub fn as_slice(&self) -> &[Diagnostic] {
        &self.diags
    }

    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.diags
    }
}
