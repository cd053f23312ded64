//! Lays a [`Doc`] out: each group flat when it fits in the width, else broken, as in
//! Wadler's algorithm (with prettier's look at the rest of the line). Indentation is written
//! lazily, so empty lines and line ends carry no spaces.

use super::doc::Doc;

/// Spaces per indentation level.
const INDENT: usize = 2;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Flat,
    Break,
}

type Cmd<'a> = (usize, Mode, &'a Doc);

struct Printer {
    out: String,
    /// Column of the next character.
    col: usize,
    /// Indentation owed to the current line, written with its first character.
    pending: Option<usize>,
    /// A comment ended the line: the next text starts a new one.
    need_newline: bool,
}

pub fn print(doc: &Doc, width: usize) -> String {
    let mut p = Printer {
        out: String::new(),
        col: 0,
        pending: Some(0),
        need_newline: false,
    };
    let mut stack: Vec<Cmd<'_>> = vec![(0, Mode::Break, doc)];
    while let Some((indent, mode, doc)) = stack.pop() {
        match doc {
            Doc::Nil => {}
            Doc::Text(s) => p.text(s, indent),
            Doc::Line if mode == Mode::Flat => p.text(" ", indent),
            Doc::SoftLine if mode == Mode::Flat => {}
            Doc::Line | Doc::SoftLine | Doc::HardLine => p.newline(indent),
            Doc::Indent(d) => stack.push((indent + INDENT, mode, d)),
            Doc::Concat(ds) => stack.extend(ds.iter().rev().map(|d| (indent, mode, d))),
            Doc::Group { doc, hard } => {
                let flat = mode == Mode::Flat
                    || (!hard && fits((indent, Mode::Flat, doc), &stack, width as isize - p.col as isize));
                stack.push((indent, if flat { Mode::Flat } else { Mode::Break }, doc));
            }
            Doc::IfBreak { broken, flat } => {
                stack.push((indent, mode, if mode == Mode::Break { broken } else { flat }))
            }
            Doc::Comment { text, own_line, pad } => p.comment(text, *own_line, *pad, indent),
        }
    }
    p.out.truncate(p.out.trim_end_matches(' ').len());
    p.out
}

/// Whether `next`, laid out flat, and what follows it up to the next line break fit in
/// `remaining` columns. A comment ends the line, so it always fits.
fn fits(next: Cmd<'_>, rest: &[Cmd<'_>], mut remaining: isize) -> bool {
    let mut cmds = vec![next];
    let mut rest = rest.iter().rev();
    loop {
        if remaining < 0 {
            return false;
        }
        let (indent, mode, doc) = match cmds.pop() {
            Some(cmd) => cmd,
            None => match rest.next() {
                Some(cmd) => *cmd,
                None => return true,
            },
        };
        match doc {
            Doc::Nil => {}
            Doc::Text(s) => match s.split_once('\n') {
                Some((first, _)) => return remaining >= first.chars().count() as isize,
                None => remaining -= s.chars().count() as isize,
            },
            Doc::Line if mode == Mode::Flat => remaining -= 1,
            Doc::SoftLine if mode == Mode::Flat => {}
            Doc::Line | Doc::SoftLine | Doc::HardLine | Doc::Comment { .. } => return true,
            Doc::Indent(d) => cmds.push((indent + INDENT, mode, d)),
            Doc::Concat(ds) => cmds.extend(ds.iter().rev().map(|d| (indent, mode, d))),
            Doc::Group { doc, hard } => cmds.push((indent, if *hard { Mode::Break } else { mode }, doc)),
            Doc::IfBreak { broken, flat } => cmds.push((indent, mode, if mode == Mode::Break { broken } else { flat })),
        }
    }
}

impl Printer {
    fn at_line_start(&self) -> bool {
        self.pending.is_some()
    }

    fn newline(&mut self, indent: usize) {
        self.out.truncate(self.out.trim_end_matches(' ').len());
        self.out.push('\n');
        self.pending = Some(indent);
        self.col = indent;
        self.need_newline = false;
    }

    fn text(&mut self, s: &str, indent: usize) {
        if self.need_newline {
            self.newline(indent);
        }
        // Spacing the builder put before a token means nothing at the start of a line.
        let s = if self.at_line_start() {
            s.trim_start_matches(' ')
        } else {
            s
        };
        if s.is_empty() {
            return;
        }
        if let Some(n) = self.pending.take() {
            self.out.extend(std::iter::repeat_n(' ', n));
        }
        self.out.push_str(s);
        self.col = match s.rsplit_once('\n') {
            Some((_, last)) => last.chars().count(),
            None => self.col + s.chars().count(),
        };
    }

    fn comment(&mut self, text: &str, own_line: bool, pad: usize, indent: usize) {
        if own_line || self.need_newline {
            if !self.at_line_start() {
                self.newline(indent);
            }
        } else if !self.at_line_start() {
            self.out.truncate(self.out.trim_end_matches(' ').len());
            self.out.extend(std::iter::repeat_n(' ', pad.max(1)));
        }
        self.text(text, indent);
        self.need_newline = true;
    }
}

#[cfg(test)]
mod tests {
    use super::super::doc::{concat, group, indent, text, Doc};
    use super::*;

    fn list(items: &[&str]) -> Doc {
        let mut inner = vec![Doc::SoftLine];
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                inner.push(text(","));
                inner.push(Doc::Line);
            }
            inner.push(text(*item));
        }
        group(concat(vec![text("["), indent(concat(inner)), Doc::SoftLine, text("]")]))
    }

    #[test]
    fn groups_break_only_when_too_wide() {
        assert_eq!(print(&list(&["a", "b"]), 10), "[a, b]");
        assert_eq!(print(&list(&["aaaa", "bbbb"]), 10), "[\n  aaaa,\n  bbbb\n]");
    }

    #[test]
    fn comments_end_their_line_and_lines_end_without_spaces() {
        let doc = concat(vec![
            text("a = "),
            Doc::Comment {
                text: "# c".into(),
                own_line: false,
                pad: 2,
            },
            text(" b"),
            Doc::HardLine,
            Doc::HardLine,
            Doc::Comment {
                text: "# own".into(),
                own_line: true,
                pad: 0,
            },
            text("x"),
        ]);
        assert_eq!(print(&doc, 80), "a =  # c\nb\n\n# own\nx");
    }
}
