//! Byte offsets to LSP positions and back. The protocol counts a line's characters in UTF-16
//! code units unless client and server agree on UTF-8; batchflow's spans are byte offsets.
//! A position past the end of a line or of the file is "outside the file": `None`, so that a
//! request for it gets an empty answer rather than one about some other place.

use lsp_types::{Position, Range};

/// How the client counts characters in a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16,
}

/// Where each line of a text starts.
#[derive(Clone, Debug)]
pub struct Lines {
    starts: Vec<usize>,
    len: usize,
    encoding: Encoding,
}

impl Lines {
    pub fn new(text: &str, encoding: Encoding) -> Lines {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Lines {
            starts,
            len: text.len(),
            encoding,
        }
    }

    /// The byte offset of `pos`, or `None` when it lies outside the text.
    pub fn offset(&self, text: &str, pos: Position) -> Option<usize> {
        let line = usize::try_from(pos.line).ok()?;
        let start = *self.starts.get(line)?;
        let mut end = self.starts.get(line + 1).map_or(self.len, |next| next - 1);
        if text.as_bytes().get(end.wrapping_sub(1)) == Some(&b'\r') && end > start {
            end -= 1;
        }
        let line_text = text.get(start..end)?;
        let want = usize::try_from(pos.character).ok()?;
        let mut units = 0;
        for (i, c) in line_text.char_indices() {
            if units >= want {
                return (units == want).then_some(start + i);
            }
            units += self.width(c);
        }
        // The end of the line (before `\r\n` or `\n`) is a position too.
        (units == want).then_some(end)
    }

    /// The position of byte `offset` (clamped to the text, and back to a character boundary).
    pub fn position(&self, text: &str, offset: usize) -> Position {
        let mut offset = offset.min(self.len);
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset).saturating_sub(1);
        let start = self.starts.get(line).copied().unwrap_or(0);
        let character: usize = text
            .get(start..offset)
            .map_or(0, |s| s.chars().map(|c| self.width(c)).sum());
        Position::new(to_u32(line), to_u32(character))
    }

    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    pub fn range(&self, text: &str, start: usize, end: usize) -> Range {
        Range::new(self.position(text, start), self.position(text, end))
    }

    fn width(&self, c: char) -> usize {
        match self.encoding {
            Encoding::Utf8 => c.len_utf8(),
            Encoding::Utf16 => c.len_utf16(),
        }
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_counts_code_units() {
        let text = "a\n😀b\r\nc";
        let lines = Lines::new(text, Encoding::Utf16);
        assert_eq!(lines.offset(text, Position::new(1, 2)), Some(6));
        assert_eq!(lines.position(text, 6), Position::new(1, 2));
        // Inside the surrogate pair is no position.
        assert_eq!(lines.offset(text, Position::new(1, 1)), None);
        assert_eq!(lines.offset(text, Position::new(1, 3)), Some(7));
        assert_eq!(lines.offset(text, Position::new(1, 4)), None);
        assert_eq!(lines.offset(text, Position::new(2, 1)), Some(10));
    }

    #[test]
    fn positions_outside_the_text_are_none() {
        let text = "ab\ncd";
        let lines = Lines::new(text, Encoding::Utf8);
        assert_eq!(lines.offset(text, Position::new(0, 3)), None);
        assert_eq!(lines.offset(text, Position::new(2, 0)), None);
        assert_eq!(lines.offset(text, Position::new(u32::MAX, u32::MAX)), None);
        assert_eq!(lines.offset(text, Position::new(1, 2)), Some(5));
        assert_eq!(lines.position(text, 99), Position::new(1, 2));
    }
}
