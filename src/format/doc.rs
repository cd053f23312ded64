//! A small document algebra in the manner of Wadler's "prettier printer": text, line breaks a
//! group may keep flat, indentation. The formatter builds one from the syntax tree and
//! `print` lays it out for a line width.

/// One piece of a document.
#[derive(Clone, Debug)]
pub enum Doc {
    Nil,
    /// Written as is; a verbatim token (a multi-line string) may hold newlines.
    Text(String),
    /// A space when its group is flat, a newline when it is broken.
    Line,
    /// Nothing when its group is flat, a newline when it is broken.
    SoftLine,
    /// Always a newline; two in a row leave an empty line.
    HardLine,
    /// Newlines inside start one level (two spaces) deeper.
    Indent(Box<Doc>),
    /// Flat when it fits on the line and holds no hard break (`hard`, worked out once here).
    Group {
        doc: Box<Doc>,
        hard: bool,
    },
    /// `broken` inside a broken group, `flat` inside a flat one.
    IfBreak {
        broken: Box<Doc>,
        flat: Box<Doc>,
    },
    Concat(Vec<Doc>),
    /// A `#` comment. An `own_line` one starts a line of its own; another follows the code on
    /// its line after `pad` spaces. Whatever comes next starts on a new line.
    Comment {
        text: String,
        own_line: bool,
        pad: usize,
    },
}

pub fn text(s: impl Into<String>) -> Doc {
    Doc::Text(s.into())
}

/// `docs` in a row; [`Doc::Nil`]s dropped and a single one unwrapped, which keeps a large
/// file's document small.
pub fn concat(mut docs: Vec<Doc>) -> Doc {
    docs.retain(|d| !matches!(d, Doc::Nil));
    match docs.len() {
        0 => Doc::Nil,
        1 => docs.pop().unwrap_or(Doc::Nil),
        _ => Doc::Concat(docs),
    }
}

pub fn indent(doc: Doc) -> Doc {
    Doc::Indent(Box::new(doc))
}

pub fn group(doc: Doc) -> Doc {
    let hard = doc.has_hard_break();
    Doc::Group {
        doc: Box::new(doc),
        hard,
    }
}

pub fn if_break(broken: Doc, flat: Doc) -> Doc {
    Doc::IfBreak {
        broken: Box::new(broken),
        flat: Box::new(flat),
    }
}

impl Doc {
    /// Whether laying this out flat is impossible: a hard line, a comment or a multi-line
    /// token, outside the broken side of an [`Doc::IfBreak`].
    pub fn has_hard_break(&self) -> bool {
        let mut stack = vec![self];
        while let Some(doc) = stack.pop() {
            match doc {
                Doc::Text(s) if s.contains('\n') => return true,
                Doc::HardLine | Doc::Comment { .. } => return true,
                Doc::Group { hard, .. } if *hard => return true,
                Doc::Indent(d) => stack.push(d),
                Doc::IfBreak { flat, .. } => stack.push(flat),
                Doc::Concat(ds) => stack.extend(ds),
                _ => {}
            }
        }
        false
    }

    /// Whether a group's choice could lay this out on more lines than one.
    pub fn can_break(&self) -> bool {
        let mut stack = vec![self];
        while let Some(doc) = stack.pop() {
            match doc {
                Doc::Line | Doc::SoftLine | Doc::HardLine | Doc::Group { .. } | Doc::Comment { .. } => return true,
                Doc::Indent(d) => stack.push(d),
                Doc::IfBreak { broken, flat } => stack.extend([broken.as_ref(), flat.as_ref()]),
                Doc::Concat(ds) => stack.extend(ds),
                Doc::Nil | Doc::Text(_) => {}
            }
        }
        false
    }

    /// Columns this takes laid out flat; `None` when it cannot be flat.
    pub fn flat_width(&self) -> Option<usize> {
        let mut width = 0;
        let mut stack = vec![self];
        while let Some(doc) = stack.pop() {
            match doc {
                Doc::Nil | Doc::SoftLine => {}
                Doc::Text(s) if s.contains('\n') => return None,
                Doc::Text(s) => width += s.chars().count(),
                Doc::Line => width += 1,
                Doc::HardLine | Doc::Comment { .. } => return None,
                Doc::Group { hard: true, .. } => return None,
                Doc::Group { doc, .. } | Doc::Indent(doc) => stack.push(doc),
                Doc::IfBreak { flat, .. } => stack.push(flat),
                Doc::Concat(ds) => stack.extend(ds),
            }
        }
        Some(width)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hard_breaks_and_flat_widths() {
        let list = group(concat(vec![
            text("["),
            Doc::SoftLine,
            text("a,"),
            Doc::Line,
            text("b"),
            text("]"),
        ]));
        assert!(!list.has_hard_break());
        assert_eq!(list.flat_width(), Some(6));
        let commented = group(concat(vec![
            text("a"),
            Doc::Comment {
                text: "# c".into(),
                own_line: false,
                pad: 2,
            },
        ]));
        assert!(commented.has_hard_break());
        assert_eq!(commented.flat_width(), None);
        assert!(text("\"a\nb\"").has_hard_break());
        assert!(!if_break(Doc::HardLine, text(",")).has_hard_break());
    }
}
