//! BF224: a pool's autoscale formula parsed at `check` time. Batch evaluates the formula only
//! when the pool is created, and refuses the pool then; this reads it as Batch's article
//! describes the language (`language.rs`; the grammar is in `grammar/README.md`) and points
//! inside the string literal when the formula is written as one.
//!
//! [`analyze`] works on the formula alone and knows nothing of workflows, so the unit tests
//! can hold every formula of the article.

mod analyze;
mod language;
mod lexer;
mod parser;
#[cfg(test)]
mod tests;

use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::graph::Workflow;
use std::ops::Range;

pub use parser::MAX_DEPTH;

/// Batch's limit on a formula's length ("The formula string can't exceed 8 KB"); longer is
/// BF119, and is not parsed.
pub const MAX_CHARS: usize = 8192;

/// "[A formula] can include up to 100 statements that are separated by semicolons."
pub const MAX_STATEMENTS: usize = 100;

/// One problem in a formula, at a byte range of the formula.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub range: Range<usize>,
    pub severity: Severity,
    pub message: String,
    pub help: String,
}

impl Finding {
    fn error(range: Range<usize>, message: impl Into<String>, help: impl Into<String>) -> Finding {
        Finding {
            range,
            severity: Severity::Error,
            message: message.into(),
            help: help.into(),
        }
    }

    fn warning(range: Range<usize>, message: impl Into<String>, help: impl Into<String>) -> Finding {
        Finding {
            severity: Severity::Warning,
            ..Finding::error(range, message, help)
        }
    }
}

/// Everything wrong with one formula: a syntax error alone, or the problems with its names.
pub fn analyze(formula: &str) -> Vec<Finding> {
    let tokens = match lexer::tokens(formula) {
        Ok(tokens) => tokens,
        Err(f) => return vec![f],
    };
    match parser::statements(formula, &tokens) {
        Ok(statements) => analyze::statements(formula, &statements),
        Err(parser::Failure::Syntax(f)) => vec![f],
        Err(parser::Failure::TooDeep(at)) => {
            let end = formula
                .get(at..)
                .and_then(|r| r.chars().next())
                .map_or(at, |c| at + c.len_utf8());
            vec![Finding::warning(
                at..end,
                format!("the autoscale formula nests deeper than {MAX_DEPTH} levels, too deep to check"),
                "batchflow checks formulas nested up to 64 levels of `(`, `[` and `? :`; split it into statements with variables of your own",
            )]
        }
    }
}

pub fn check(wf: &Workflow, out: &mut Vec<Diagnostic>) {
    for pool in &wf.pools {
        let Some(formula) = pool.autoscale.as_deref() else {
            continue;
        };
        if formula.chars().count() > MAX_CHARS {
            continue;
        }
        let attr = pool.attrs.or("autoscale", pool.name.span);
        for f in analyze(formula) {
            let span = pool.autoscale_map.as_ref().map_or(attr, |m| m.span(f.range));
            out.push(
                Diagnostic::new(Code::BF224, span, f.message)
                    .with_severity(f.severity)
                    .with_help(f.help),
            );
        }
    }
}
