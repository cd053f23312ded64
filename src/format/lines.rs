//! The lines of a `{ ... }` body or of the file: one entry a line, `=` aligned in each run of
//! attributes, comments on lines of their own or after the line they follow (aligned in a
//! run too), at most one empty line kept between lines.

use super::doc::{concat, group, if_break, indent, text, Doc};
use super::trivia::{Comment, Fmt};

pub enum LineKind {
    /// `key = value`: the keys of one run share a column for their `=`.
    Attr { key: String, value: Doc },
    /// A nested block, a task or an item: it ends a run unless it fits on one line.
    Other(Doc),
    /// A comment on a line of its own.
    Comment(String),
}

pub struct Line {
    pub kind: LineKind,
    /// The source leaves an empty line before it.
    pub blank_before: bool,
    /// The comment that follows it on its line.
    pub trailing: Option<String>,
}

/// What a body's walk found: a comment after its `{`, and its lines.
pub struct Body {
    pub after_open: Option<String>,
    pub lines: Vec<Line>,
}

impl Fmt<'_> {
    /// Walks `entries` in order, building each with `build` and placing the comments between
    /// them; `close` is where the body ends (its `}`, or the end of the file).
    pub fn body<T>(
        &mut self,
        entries: &[T],
        close: usize,
        span_of: impl Fn(&T) -> (usize, usize),
        mut build: impl FnMut(&mut Self, &T) -> LineKind,
    ) -> Body {
        let mut body = Body {
            after_open: None,
            lines: Vec::new(),
        };
        let mut prev_end = 0;
        for entry in entries {
            let (start, end) = span_of(entry);
            self.place_comments(start, &mut body, &mut prev_end);
            let blank_before = !body.lines.is_empty() && self.blank_between(prev_end, start);
            let kind = build(self, entry);
            body.lines.push(Line {
                kind,
                blank_before,
                trailing: None,
            });
            prev_end = end;
        }
        self.place_comments(close, &mut body, &mut prev_end);
        body
    }

    fn place_comments(&mut self, pos: usize, body: &mut Body, prev_end: &mut usize) {
        for Comment {
            text,
            own_line,
            start,
            end,
            ..
        } in self.take_before(pos)
        {
            if !own_line {
                match body.lines.last_mut() {
                    Some(last) if last.trailing.is_none() && !matches!(last.kind, LineKind::Comment(_)) => {
                        last.trailing = Some(text);
                        *prev_end = end;
                        continue;
                    }
                    None if body.after_open.is_none() => {
                        body.after_open = Some(text);
                        *prev_end = end;
                        continue;
                    }
                    _ => {}
                }
            }
            let blank_before = !body.lines.is_empty() && self.blank_between(*prev_end, start);
            body.lines.push(Line {
                kind: LineKind::Comment(text),
                blank_before,
                trailing: None,
            });
            *prev_end = end;
        }
    }
}

fn comment(text: &str, own_line: bool, pad: usize) -> Doc {
    Doc::Comment {
        text: text.to_string(),
        own_line,
        pad,
    }
}

/// The docs of `lines`, keys padded to their run's widest and trailing comments padded to a
/// shared column where the line's width is known. `column` is where the lines start; runs
/// end at an empty line (unless `ignore_blanks`) and around a line that takes several.
fn laid_out(
    lines: Vec<Line>,
    column: usize,
    width: usize,
    ignore_blanks: bool,
    pad_doc: fn(String) -> Doc,
) -> Vec<(Doc, bool)> {
    // A line's width laid out flat, if it stays on one line.
    let one_line = |doc: &Doc, extra: usize| doc.flat_width().map(|w| w + extra).filter(|w| column + w <= width);
    // A line that will take several (a broken list, a block) is a run of its own; a string,
    // long or over several lines, is not: the printer cannot break it.
    let multi_line = |line: &Line| match &line.kind {
        LineKind::Attr { key, value } => {
            value.can_break() && (value.has_hard_break() || one_line(value, key.chars().count() + 3).is_none())
        }
        LineKind::Other(doc) => one_line(doc, 0).is_none(),
        LineKind::Comment(_) => false,
    };
    let mut runs: Vec<Vec<usize>> = vec![Vec::new()];
    for (i, line) in lines.iter().enumerate() {
        let alone = multi_line(line);
        if (line.blank_before && !ignore_blanks) || alone {
            runs.push(Vec::new());
        }
        if let Some(run) = runs.last_mut() {
            run.push(i);
        }
        if alone {
            runs.push(Vec::new());
        }
    }
    let mut key_width = vec![0; lines.len()];
    let mut comment_pad = vec![2; lines.len()];
    for run in &runs {
        let widest = run.iter().filter_map(|&i| key_len(&lines[i])).max().unwrap_or(0);
        let mut spans = Vec::new();
        for &i in run {
            key_width[i] = widest;
            let w = match (&lines[i].trailing, &lines[i].kind) {
                (Some(_), LineKind::Attr { value, .. }) => one_line(value, widest + 3),
                (Some(_), LineKind::Other(doc)) => one_line(doc, 0),
                _ => None,
            };
            spans.extend(w.map(|w| (i, w)));
        }
        let target = spans.iter().map(|(_, w)| w + 2).max().unwrap_or(0);
        for (i, w) in spans {
            comment_pad[i] = target - w;
        }
    }
    lines
        .into_iter()
        .enumerate()
        .map(|(i, line)| {
            let doc = match line.kind {
                LineKind::Attr { key, value } => {
                    let pad = key_width[i].saturating_sub(key.chars().count());
                    concat(vec![text(key), pad_doc(" ".repeat(pad)), text(" = "), value])
                }
                LineKind::Other(doc) => doc,
                LineKind::Comment(c) => comment(&c, true, 0),
            };
            let doc = match line.trailing {
                Some(c) => concat(vec![doc, comment(&c, false, comment_pad[i])]),
                None => doc,
            };
            (doc, line.blank_before)
        })
        .collect()
}

fn key_len(line: &Line) -> Option<usize> {
    match &line.kind {
        LineKind::Attr { key, .. } => Some(key.chars().count()),
        _ => None,
    }
}

/// One line each, empty lines kept (one at most); `lead`: a newline before the first too.
fn stacked(lines: Vec<Line>, column: usize, width: usize, lead: bool) -> Doc {
    let mut out = Vec::new();
    for (i, (doc, blank)) in laid_out(lines, column, width, false, Doc::Text).into_iter().enumerate() {
        if blank && i > 0 {
            out.push(Doc::HardLine);
        }
        if lead || i > 0 {
            out.push(Doc::HardLine);
        }
        out.push(doc);
    }
    concat(out)
}

/// A body in braces. `flat_ok`: the source wrote it on one line, so it stays so if it fits
/// (`env { A = "1", B = "2" }`); else one line an entry.
pub fn braces(body: Body, flat_ok: bool, column: usize, width: usize) -> Doc {
    if body.lines.is_empty() && body.after_open.is_none() {
        return text("{}");
    }
    let plain = body.after_open.is_none()
        && body
            .lines
            .iter()
            .all(|l| l.trailing.is_none() && !matches!(l.kind, LineKind::Comment(_)));
    if flat_ok && plain {
        let count = body.lines.len();
        let mut inner = Vec::new();
        for (i, (doc, _)) in laid_out(body.lines, column, width, true, |s| if_break(text(s), Doc::Nil))
            .into_iter()
            .enumerate()
        {
            inner.push(Doc::Line);
            inner.push(doc);
            if i + 1 < count {
                inner.push(if_break(Doc::Nil, text(",")));
            }
        }
        return group(concat(vec![text("{"), indent(concat(inner)), Doc::Line, text("}")]));
    }
    let open = match body.after_open {
        Some(c) => concat(vec![text("{"), comment(&c, false, 2)]),
        None => text("{"),
    };
    concat(vec![
        open,
        indent(stacked(body.lines, column, width, true)),
        Doc::HardLine,
        text("}"),
    ])
}

/// The file's top level: its items and comments, and a final newline.
pub fn top(body: Body, width: usize) -> Doc {
    let mut lines = body.lines;
    if let Some(c) = body.after_open {
        lines.insert(
            0,
            Line {
                kind: LineKind::Comment(c),
                blank_before: false,
                trailing: None,
            },
        );
    }
    if lines.is_empty() {
        return Doc::Nil;
    }
    concat(vec![stacked(lines, 0, width, false), Doc::HardLine])
}
