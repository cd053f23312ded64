//! What evaluating an expression returns, shared by the evaluator and the built-in functions.

use crate::diagnostics::{Code, Diagnostic};
use crate::source::Span;
use crate::value::Value;

/// A failed evaluation. `Reported` means the cause was already reported elsewhere (a broken
/// `let` is reported once at its definition, not at every use).
#[derive(Debug)]
pub enum EvalError {
    Diag(Box<Diagnostic>),
    Reported,
}

impl From<Diagnostic> for EvalError {
    fn from(d: Diagnostic) -> Self {
        EvalError::Diag(Box::new(d))
    }
}

pub type EvalResult = Result<Value, EvalError>;

/// Loop variables bound while evaluating one sweep instance.
pub type Bindings<'a> = &'a [(String, Value)];

/// BF006; every type error says how to fix it.
pub fn wrong_type(span: Span, message: impl Into<String>, help: impl Into<String>) -> EvalError {
    EvalError::from(Diagnostic::new(Code::BF006, span, message).with_help(help))
}
