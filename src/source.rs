//! Source files and byte spans. Every AST and graph node keeps a [`Span`] so that a problem
//! found late (in the checker, the planner or a hook script) still points at its line.

use std::ops::Range;
use std::sync::Arc;

/// Index of a file in a [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SrcId(pub u32);

/// A byte range `start..end` in one source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Span {
    pub src: SrcId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(src: SrcId, start: usize, end: usize) -> Span {
        Span {
            src,
            start: clamp_u32(start),
            end: clamp_u32(end),
        }
    }

    /// The smallest span covering both (same file assumed; `self` wins otherwise).
    pub fn to(self, other: Span) -> Span {
        if self.src != other.src {
            return self;
        }
        Span {
            src: self.src,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn is_empty(self) -> bool {
        self.end == self.start
    }
}

fn clamp_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Where the bytes of a string literal's value sit in its source file, for a value that is
/// parsed again later (an autoscale formula): escapes such as `\n` make the two differ, so a
/// problem found at byte 40 of the value may sit at byte 43 of the literal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiteralMap {
    src: SrcId,
    /// (offset in the value, offset in the file) where each run copied verbatim starts, in
    /// increasing order; the first run starts at value offset 0.
    runs: Vec<(u32, u32)>,
}

impl LiteralMap {
    /// A map whose value starts at byte `at` of file `src`.
    pub fn new(src: SrcId, at: usize) -> LiteralMap {
        LiteralMap {
            src,
            runs: vec![(0, clamp_u32(at))],
        }
    }

    /// From value byte `value_at` on, the value is copied verbatim from file byte `file_at` on.
    pub fn run_from(&mut self, value_at: usize, file_at: usize) {
        self.runs.push((clamp_u32(value_at), clamp_u32(file_at)));
    }

    /// The span of the file that holds bytes `range` of the value.
    pub fn span(&self, range: Range<usize>) -> Span {
        Span::new(self.src, self.file_offset(range.start), self.file_offset(range.end))
    }

    fn file_offset(&self, value_at: usize) -> usize {
        let at = clamp_u32(value_at);
        let run = self.runs.partition_point(|&(v, _)| v <= at);
        match run.checked_sub(1).and_then(|i| self.runs.get(i)) {
            Some(&(v, f)) => (f + (at - v)) as usize,
            None => value_at,
        }
    }
}

/// A value together with the span it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Span) -> Self {
        Spanned { value, span }
    }
}

#[derive(Debug)]
pub struct SourceFile {
    /// The name shown in diagnostics: a path as the user gave it, or `<stdlib>/images.batchflow`.
    pub name: String,
    pub text: Arc<str>,
    line_starts: Vec<u32>,
}

impl SourceFile {
    fn new(name: String, text: Arc<str>) -> SourceFile {
        let mut line_starts = vec![0];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| clamp_u32(i + 1)),
        );
        SourceFile {
            name,
            text,
            line_starts,
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: u32) -> (usize, usize) {
        let line = match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.line_starts.get(line).copied().unwrap_or(0) as usize;
        let end = (offset as usize).min(self.text.len());
        let column = self.text.get(start..end).map_or(end - start, |s| s.chars().count());
        (line + 1, column + 1)
    }

    /// Byte offset of a 1-based line and column (characters); clamps to the text.
    pub fn offset_of(&self, line: usize, column: usize) -> usize {
        offset_of(&self.text, line, column)
    }

    /// The 0-based line a byte offset is on.
    pub fn line_of(&self, offset: usize) -> usize {
        let offset = clamp_u32(offset);
        self.line_starts.partition_point(|&s| s <= offset).saturating_sub(1)
    }

    /// Where 0-based line `line` starts; the end of the text past the last line.
    pub fn line_start(&self, line: usize) -> usize {
        self.line_starts.get(line).map_or(self.text.len(), |&s| s as usize)
    }
}

/// Byte offset of a 1-based line and column (characters) in `text`; clamps to the text.
pub fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let mut start = 0;
    for _ in 1..line {
        match text.get(start..).and_then(|rest| rest.find('\n')) {
            Some(i) => start += i + 1,
            None => return text.len(),
        }
    }
    let rest = text.get(start..).unwrap_or("");
    let in_line = rest
        .char_indices()
        .take_while(|&(_, c)| c != '\n')
        .nth(column.saturating_sub(1))
        .map_or_else(|| rest.find('\n').unwrap_or(rest.len()), |(i, _)| i);
    start + in_line
}

/// All files one compilation reads: the workflow, stdlib modules it imports, its hook script.
#[derive(Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn new() -> SourceMap {
        SourceMap::default()
    }

    pub fn add(&mut self, name: impl Into<String>, text: impl Into<Arc<str>>) -> SrcId {
        let id = SrcId(clamp_u32(self.files.len()));
        self.files.push(SourceFile::new(name.into(), text.into()));
        id
    }

    pub fn get(&self, id: SrcId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }

    pub fn name(&self, id: SrcId) -> &str {
        self.get(id).map_or("<unknown>", |f| f.name.as_str())
    }

    pub fn text(&self, id: SrcId) -> &str {
        self.get(id).map_or("", |f| &f.text)
    }

    /// The source text a span covers ("" when out of range).
    pub fn snippet(&self, span: Span) -> &str {
        self.text(span.src)
            .get(span.start as usize..span.end as usize)
            .unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_from_one() {
        let mut map = SourceMap::new();
        let id = map.add("a", "ab\nçd\n");
        let file = map.get(id).expect("file");
        assert_eq!(file.line_col(0), (1, 1));
        assert_eq!(file.line_col(3), (2, 1));
        // 'ç' is two bytes: the `d` after it is column 2.
        assert_eq!(file.line_col(5), (2, 2));
        assert_eq!(file.offset_of(2, 2), 5);
        assert_eq!(file.offset_of(9, 1), 7);
        assert_eq!((file.line_of(0), file.line_of(4), file.line_of(99)), (0, 1, 2));
        assert_eq!((file.line_start(1), file.line_start(2), file.line_start(3)), (3, 7, 7));
    }

    #[test]
    fn literal_maps_skip_escapes() {
        // `"a\nbc"` at byte 10: the value `a<newline>bc` has the escape as one byte.
        let mut map = LiteralMap::new(SrcId(0), 11);
        map.run_from(1, 12);
        map.run_from(2, 14);
        assert_eq!(map.span(0..1), Span::new(SrcId(0), 11, 12));
        assert_eq!(map.span(1..2), Span::new(SrcId(0), 12, 14));
        assert_eq!(map.span(2..4), Span::new(SrcId(0), 14, 16));
    }
}
