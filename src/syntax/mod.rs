//! Source text to [`ast::File`](crate::ast::File): the pest grammar in
//! `grammar/batchflow.pest`, a guard against pathological nesting, and friendly BF001 errors.

mod build;
mod depth;
mod errors;
mod parser;

use crate::ast::File;
use crate::diagnostics::Diagnostic;
use crate::source::SrcId;

pub use depth::MAX_DEPTH;

/// Parses one file. A syntax error is a single BF001 diagnostic pointing at the token.
pub fn parse(src: SrcId, text: &str) -> Result<File, Box<Diagnostic>> {
    depth::check(src, text)?;
    let pairs = parser::parse_file(text).map_err(|e| Box::new(errors::to_diagnostic(src, &e)))?;
    build::file(src, pairs).map_err(Box::new)
}

/// Parses a standalone expression (used for `--param name=[1, 2]`).
pub fn parse_expr(src: SrcId, text: &str) -> Result<crate::ast::Expr, Box<Diagnostic>> {
    depth::check(src, text)?;
    let pair =
        parser::parse_expr(text).map_err(|e| Box::new(errors::to_diagnostic(src, &e)))?;
    build::expr(src, pair).map_err(Box::new)
}
