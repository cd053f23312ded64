//! `batchflow fmt`'s formatter, pure: a file's syntax tree and comments in, its canonical
//! text out. Two spaces a level; one space around `=` and after `,`; `=` aligned in each run
//! of attributes of a block; at most one empty line kept; a block stays on one line when it
//! was written so and fits; lists, calls and sums wrap past [`WIDTH`] columns; comments stay
//! where they were; strings, numbers and durations are written exactly as in the source.
//!
//! [`format_text`] is what the CLI and the language server call; [`edits`] turns its result
//! into the changes an editor applies, and [`unified_diff`] into a diff for people.

mod diff;
mod doc;
mod expr;
mod items;
mod lines;
mod print;
mod same;
mod trivia;

pub use diff::{edits, unified_diff, Edit};
pub use same::same_file;

use crate::ast::File;
use crate::diagnostics::Diagnostic;
use crate::source::SrcId;
use crate::syntax;

/// The line width lists, calls and blocks wrap at.
pub const WIDTH: usize = 100;

#[derive(Debug)]
pub enum FormatError {
    /// The text does not parse: formatting would have to guess. Its BF001 diagnostic.
    Syntax(Box<Diagnostic>),
    /// The formatter's result does not parse back to the same tree and comments: a bug in
    /// batchflow, and the file is left as it is.
    Unstable,
}

/// The canonical text of a file, checked to mean what `text` means.
pub fn format_text(src: SrcId, text: &str) -> Result<String, FormatError> {
    let file = syntax::parse(src, text).map_err(FormatError::Syntax)?;
    let out = format_file(&file, text);
    match syntax::parse(src, &out) {
        Ok(again) if same_file(&file, text, &again, &out) => Ok(out),
        _ => Err(FormatError::Unstable),
    }
}

/// The canonical text of a parsed file; `text` is what it was parsed from.
pub fn format_file(file: &File, text: &str) -> String {
    let mut fmt = trivia::Fmt::new(text, &file.comments);
    let doc = fmt.file(file);
    print::print(&doc, WIDTH)
}

#[cfg(test)]
mod tests;
