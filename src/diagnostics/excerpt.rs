//! The part of a file a report shows. miette finds a span's line by counting lines from the
//! start of the source it is given, so handing it the whole file costs a pass over the file
//! per diagnostic: a thousand problems in a 1 MB file took seconds. An [`Excerpt`] holds only
//! the lines around the report's spans (found by the file's line index) and tells miette
//! their true line numbers.

use crate::source::SourceFile;
use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};
use std::sync::Arc;

/// Lines kept above and below the spans; miette shows one line of context.
const MARGIN: usize = 2;

pub struct Excerpt {
    text: Arc<str>,
    start: usize,
    end: usize,
    /// The 0-based line `start` is on.
    first_line: usize,
}

impl Excerpt {
    /// The lines of `file` around the byte ranges `spans` (offset, length).
    pub fn new(file: Option<&SourceFile>, spans: &[(usize, usize)]) -> Excerpt {
        let Some(file) = file else {
            return Excerpt {
                text: Arc::from(""),
                start: 0,
                end: 0,
                first_line: 0,
            };
        };
        let low = spans.iter().map(|s| s.0).min().unwrap_or(0);
        let high = spans.iter().map(|s| s.0 + s.1).max().unwrap_or(0);
        let first_line = file.line_of(low).saturating_sub(MARGIN);
        let last_line = file.line_of(high) + MARGIN;
        Excerpt {
            text: Arc::clone(&file.text),
            start: file.line_start(first_line),
            end: file.line_start(last_line + 1),
            first_line,
        }
    }
}

impl SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inside = span.offset() >= self.start && span.offset() + span.len() <= self.end;
        let (part, start, first_line) = match self.text.get(self.start..self.end) {
            Some(part) if inside => (part, self.start, self.first_line),
            _ => (&*self.text, 0, 0),
        };
        let local = SourceSpan::new((span.offset() - start).into(), span.len());
        let c = part.read_span(&local, before, after)?;
        Ok(Box::new(MietteSpanContents::new(
            c.data(),
            SourceSpan::new((c.span().offset() + start).into(), c.span().len()),
            c.line() + first_line,
            c.column(),
            // miette counts the newlines from the start of the source to the end of the
            // context, and merges a report's snippets by that count: keep it file-wide.
            c.line_count() + first_line,
        )))
    }
}
