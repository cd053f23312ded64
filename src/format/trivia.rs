//! The formatter's view of the source beyond the tree: the comments, handed out in order as
//! the builder walks past them, and the blank lines between what it lays out.

use super::doc::Doc;
use crate::source::Span;

/// The builder's state: the text, its comments and how many of them are placed.
pub struct Fmt<'a> {
    pub text: &'a str,
    comments: &'a [Span],
    next: usize,
    /// Block nesting, to guess the column of a line when aligning its comment.
    pub depth: usize,
}

/// A comment about to be placed.
pub struct Comment {
    pub text: String,
    /// Only blanks before it on its line in the source; else it follows code there.
    pub own_line: bool,
    pub start: usize,
    pub end: usize,
}

impl Comment {
    pub fn doc(&self, pad: usize) -> Doc {
        Doc::Comment {
            text: self.text.clone(),
            own_line: self.own_line,
            pad,
        }
    }
}

impl<'a> Fmt<'a> {
    pub fn new(text: &'a str, comments: &'a [Span]) -> Fmt<'a> {
        Fmt {
            text,
            comments,
            next: 0,
            depth: 0,
        }
    }

    /// The source text of a span.
    pub fn src(&self, span: Span) -> &'a str {
        self.text.get(span.start as usize..span.end as usize).unwrap_or("")
    }

    /// The comments not yet placed that start before `pos`, in order.
    pub fn take_before(&mut self, pos: usize) -> Vec<Comment> {
        let mut out = Vec::new();
        while let Some(span) = self.comments.get(self.next).filter(|c| (c.start as usize) < pos) {
            let (start, end) = (span.start as usize, span.end as usize);
            let line_start = self.text[..start].rfind('\n').map_or(0, |i| i + 1);
            out.push(Comment {
                text: self.text[start..end].trim_end().to_string(),
                own_line: self.text[line_start..start].trim().is_empty(),
                start,
                end,
            });
            self.next += 1;
        }
        out
    }

    /// The comments before `pos` as docs that keep the line valid: each ends its line.
    pub fn comments_before(&mut self, pos: usize) -> Doc {
        let docs: Vec<Doc> = self.take_before(pos).iter().map(|c| c.doc(2)).collect();
        if docs.is_empty() {
            Doc::Nil
        } else {
            Doc::Concat(docs)
        }
    }

    /// Skips the comments inside a token written out as it is (an interpolation may hold some).
    pub fn skip_to(&mut self, end: usize) {
        while self.comments.get(self.next).is_some_and(|c| (c.start as usize) < end) {
            self.next += 1;
        }
    }

    /// Whether a comment not yet placed starts before `pos`.
    pub fn comment_pending(&self, pos: u32) -> bool {
        self.comments.get(self.next).is_some_and(|c| c.start < pos)
    }

    /// Whether the source leaves an empty line between `end` (of what came before) and the
    /// next thing, which starts at `start`: two newlines before any other character.
    pub fn blank_between(&self, end: usize, start: usize) -> bool {
        let gap = self.text.get(end..start).unwrap_or("");
        let lead = gap
            .find(|c: char| !(c.is_whitespace() || c == ',' || c == ';' || c == '\u{feff}'))
            .map_or(gap, |i| &gap[..i]);
        lead.matches('\n').count() >= 2
    }

    /// Whether the source has a line break between `from` and `to`.
    pub fn newline_between(&self, from: usize, to: usize) -> bool {
        self.text.get(from..to).is_some_and(|s| s.contains('\n'))
    }

    /// The span inside the parentheses around a token-like expression written `((x))`: past
    /// the opening ones (and blanks and comments) and back over as many closing ones.
    pub fn inside_parens(&self, span: Span) -> Span {
        let (mut start, mut end) = (span.start as usize, span.end as usize);
        let mut opened = 0;
        loop {
            match self.text.as_bytes().get(start) {
                Some(b'(') => {
                    opened += 1;
                    start += 1;
                }
                Some(b) if b.is_ascii_whitespace() => start += 1,
                Some(b'#') => start = self.comment_at(start).map_or(start + 1, |c| c.end as usize),
                _ if self.text[start..].starts_with('\u{feff}') => start += '\u{feff}'.len_utf8(),
                _ => break,
            }
        }
        while end > start {
            if let Some(c) = self.comment_at(end - 1) {
                end = c.start as usize;
                continue;
            }
            match self.text.as_bytes().get(end - 1) {
                Some(b')') if opened > 0 => {
                    opened -= 1;
                    end -= 1;
                }
                Some(b) if b.is_ascii_whitespace() => end -= 1,
                _ if self.text[..end].ends_with('\u{feff}') => end -= '\u{feff}'.len_utf8(),
                _ => break,
            }
        }
        Span::new(span.src, start, end)
    }

    /// The comment holding byte `pos`, if any.
    fn comment_at(&self, pos: usize) -> Option<Span> {
        let i = self.comments.partition_point(|c| (c.start as usize) <= pos);
        let c = *self.comments.get(i.checked_sub(1)?)?;
        (pos < c.end as usize).then_some(c)
    }
}
