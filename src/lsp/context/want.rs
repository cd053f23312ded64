//! What goes at the cursor, from the scanner's state there: the block it is in and the
//! statement typed so far.

use super::{scan, Cursor, Kind, Scanner, Want};
use crate::lsp::scan::{Tok, Token};

impl Scanner<'_> {
    /// The context inside an interpolation that starts at `from`: an expression there.
    pub(super) fn inside(&self, from: usize, at: usize) -> Cursor {
        let part = self.text.get(from..).unwrap_or("");
        let sub = scan(part, Some(at - from)).cursor;
        let vars = self.stack.last().map(|f| f.vars.clone()).unwrap_or_default();
        let mut c = sub.unwrap_or(Cursor {
            want: Want::Nothing,
            word_start: at - from,
            loop_vars: Vec::new(),
        });
        c.word_start += from;
        c.loop_vars = vars;
        c.want = match c.want {
            Want::Str { call, start, end, .. } => Want::Str {
                path: Vec::new(),
                key: None,
                call,
                start: start + from,
                end: end + from,
            },
            Want::Item | Want::Nothing | Want::Value { .. } => Want::Value {
                path: Vec::new(),
                key: None,
            },
            other => other,
        };
        c
    }

    /// The context at `at`; `word` is the word or string the cursor is in.
    pub(super) fn context(&self, at: usize, word: Option<Token>) -> Cursor {
        let vars = self.stack.last().map(|f| f.vars.clone()).unwrap_or_default();
        let word_start = match word {
            Some(t) if t.tok == Tok::Word => t.start,
            _ => at,
        };
        let want = self.want(word).unwrap_or(Want::Nothing);
        Cursor {
            want,
            word_start,
            loop_vars: vars,
        }
    }

    fn want(&self, word: Option<Token>) -> Option<Want> {
        let f = self.stack.last()?;
        let mut s = f.statement();
        if let (Some(w), Some((last, before))) = (word, s.split_last()) {
            if last.start == w.start {
                s = before;
            }
        }
        let words: Vec<&str> = s.iter().map(|t| self.word(t)).collect();
        let eq = s.iter().position(|t| t.tok == Tok::Punct(b'='));
        let key = eq
            .filter(|i| *i == 1)
            .and_then(|_| words.first())
            .map(|k| k.to_string());
        let (path, job) = match &f.kind {
            Kind::Block(p, j) => (p.clone(), j.clone()),
            _ => (Vec::new(), None),
        };
        if let Some(t) = word.filter(|t| t.tok == Tok::Str) {
            let (path, key) = match f.kind {
                Kind::List | Kind::Call => self.outer_key(),
                _ => (path, key),
            };
            let raw = raw_prefix(self.text, t.start);
            let end = if self.text.as_bytes().get(t.end - 1) == Some(&b'"') && t.end - t.start > raw + 1 {
                t.end - 1 - raw
            } else {
                t.end
            };
            return Some(Want::Str {
                path,
                key,
                call: f.call.clone(),
                start: t.start + raw + 1,
                end: end.max(t.start + raw + 1),
            });
        }
        Some(match &f.kind {
            Kind::Top => match words.as_slice() {
                [] => Want::Item,
                ["job", _, "on"] => Want::Pool,
                ["param", _, ..] if eq.is_none() && s.get(2).is_some_and(|t| t.tok == Tok::Punct(b':')) => Want::Type,
                _ if eq.is_some() => Want::Value { path, key: None },
                _ => Want::Nothing,
            },
            Kind::Block(..) => match words.as_slice() {
                [] => Want::Key(path),
                ["task", ..] if words.contains(&"after") && eq.is_none() => Want::Task(job),
                [k, ..] if eq == Some(1) => match (path.as_slice(), *k) {
                    ([j], "after") if j == "job" => Want::Job,
                    (_, "registries") => Want::Registry,
                    _ => Want::Value { path, key },
                },
                _ => Want::Nothing,
            },
            Kind::Map => match eq {
                Some(_) => Want::Value { path, key: None },
                None => Want::Nothing,
            },
            Kind::List | Kind::Call => {
                let (path, key) = self.outer_key();
                match (path.as_slice(), key.as_deref()) {
                    ([j], Some("after")) if j == "job" => Want::Job,
                    (_, Some("registries")) => Want::Registry,
                    _ => Want::Value { path, key },
                }
            }
        })
    }

    /// For a list or call: the block path and attribute key of the statement it is part of.
    fn outer_key(&self) -> (Vec<String>, Option<String>) {
        let outer = self
            .stack
            .iter()
            .rev()
            .find(|f| !matches!(f.kind, Kind::List | Kind::Call));
        let Some(f) = outer else { return (Vec::new(), None) };
        let s = f.statement();
        let key = match s {
            [k, eq, ..] if eq.tok == Tok::Punct(b'=') => Some(self.word(k).to_string()),
            _ => None,
        };
        let path = match &f.kind {
            Kind::Block(p, _) => p.clone(),
            _ => Vec::new(),
        };
        (path, key)
    }
}
/// The length of a raw string's `r#…` before its quote.
fn raw_prefix(text: &str, start: usize) -> usize {
    let b = text.as_bytes();
    if b.get(start) == Some(&b'r') {
        1 + b
            .get(start + 1..)
            .map_or(0, |rest| rest.iter().take_while(|c| **c == b'#').count())
    } else {
        0
    }
}
