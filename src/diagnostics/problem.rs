//! A problem found while a workflow runs: a task that failed, a step Batch refused, a run
//! folder that cannot be written. Unlike a [`Diagnostic`](super::Diagnostic) it has no rule;
//! it is shown by the same renderer, at the workflow line that declares what failed when
//! there is one.

use super::Severity;
use crate::source::Span;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub severity: Severity,
    /// Lowercase, names in backticks, says what went wrong.
    pub message: String,
    /// The declaration of what failed, when the workflow has one.
    pub span: Option<Span>,
    /// What to do about it.
    pub help: Option<String>,
    /// Lines shown after the help, such as the end of a task's stderr.
    pub notes: Vec<String>,
}

impl Problem {
    pub fn error(message: impl Into<String>) -> Problem {
        Problem {
            severity: Severity::Error,
            message: message.into(),
            span: None,
            help: None,
            notes: Vec::new(),
        }
    }

    /// Points at `span`; a default span (nothing known) points nowhere.
    pub fn at(mut self, span: Option<Span>) -> Problem {
        self.span = span.filter(|s| *s != Span::default());
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Problem {
        self.help = Some(help.into());
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Problem {
        self.notes.push(note.into());
        self
    }

    pub fn with_severity(mut self, severity: Severity) -> Problem {
        self.severity = severity;
        self
    }
}
