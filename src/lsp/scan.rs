//! A forgiving scan of a file's text, for what must work while the file does not parse
//! (completion mid-edit): tokens, the blocks they sit in, and the names declared. It never
//! fails: an unterminated string or block just runs to the end of the text.

/// A token: an identifier or keyword, a string, or one punctuation character. Numbers and
/// durations are words too; comments are skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tok {
    Word,
    Str,
    Punct(u8),
}

#[derive(Clone, Copy, Debug)]
pub struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
    /// The first token on its line.
    pub line_first: bool,
}

pub struct Tokens<'a> {
    text: &'a str,
    at: usize,
    line_first: bool,
}

pub fn tokens(text: &str) -> Tokens<'_> {
    Tokens {
        text,
        at: 0,
        line_first: true,
    }
}

impl Iterator for Tokens<'_> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        let bytes = self.text.as_bytes();
        loop {
            let b = *bytes.get(self.at)?;
            match b {
                b'\n' => {
                    self.line_first = true;
                    self.at += 1;
                }
                b' ' | b'\t' | b'\r' => self.at += 1,
                b'#' => {
                    self.at = memchr(b'\n', bytes, self.at).unwrap_or(bytes.len());
                }
                _ => break,
            }
        }
        let start = self.at;
        let b = *bytes.get(start)?;
        let raw_hashes = raw_start(bytes, start);
        let (tok, end) = if let Some(hashes) = raw_hashes {
            (Tok::Str, raw_end(bytes, start + 2 + hashes, hashes))
        } else if b == b'"' {
            (Tok::Str, string_end(bytes, start + 1))
        } else if is_word(b) {
            let mut end = start;
            while bytes.get(end).is_some_and(|c| is_word(*c) || *c == b'-') {
                end += 1;
            }
            (Tok::Word, end)
        } else {
            // One character, whole (a stray non-ASCII character is one token).
            let len = self
                .text
                .get(start..)
                .and_then(|s| s.chars().next())
                .map_or(1, char::len_utf8);
            (Tok::Punct(b), start + len)
        };
        let line_first = std::mem::replace(&mut self.line_first, false);
        self.at = end;
        Some(Token {
            tok,
            start,
            end,
            line_first,
        })
    }
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn memchr(needle: u8, bytes: &[u8], from: usize) -> Option<usize> {
    bytes.get(from..)?.iter().position(|b| *b == needle).map(|i| from + i)
}

/// `r"` or `r#…"` at `at`: the number of `#`.
fn raw_start(bytes: &[u8], at: usize) -> Option<usize> {
    if bytes.get(at) != Some(&b'r') || at > 0 && bytes.get(at - 1).is_some_and(|b| is_word(*b)) {
        return None;
    }
    let hashes = bytes.get(at + 1..)?.iter().take_while(|b| **b == b'#').count();
    (bytes.get(at + 1 + hashes) == Some(&b'"')).then_some(hashes)
}

fn raw_end(bytes: &[u8], mut at: usize, hashes: usize) -> usize {
    while at < bytes.len() {
        if bytes.get(at) == Some(&b'"')
            && bytes
                .get(at + 1..at + 1 + hashes)
                .is_some_and(|h| h.iter().all(|b| *b == b'#'))
        {
            return at + 1 + hashes;
        }
        at += 1;
    }
    bytes.len()
}

/// The end of a `"…"` string whose text starts at `at`, past nested `${ … "…" … }`.
fn string_end(bytes: &[u8], mut at: usize) -> usize {
    // Braces open inside the current interpolations; a string inside one starts a new level.
    let mut stack: Vec<u32> = Vec::new();
    let mut in_text = true;
    while let Some(&b) = bytes.get(at) {
        if in_text {
            match b {
                b'\\' => at += 1,
                b'"' if stack.is_empty() => return at + 1,
                b'"' => in_text = false,
                b'$' if bytes.get(at + 1) == Some(&b'{') => {
                    stack.push(0);
                    in_text = false;
                    at += 1;
                }
                _ => {}
            }
        } else {
            match b {
                b'"' => in_text = true,
                b'{' => {
                    if let Some(n) = stack.last_mut() {
                        *n += 1;
                    }
                }
                b'}' => match stack.last_mut() {
                    Some(0) => {
                        stack.pop();
                        in_text = true;
                    }
                    Some(n) => *n -= 1,
                    None => in_text = true,
                },
                _ => {}
            }
        }
        at += 1;
    }
    bytes.len()
}

/// The start of the innermost `${ … }` of string token `t` that holds `at`.
pub fn interpolation(text: &str, t: Token, at: usize) -> Option<usize> {
    let b = text.as_bytes();
    // Open interpolations (the byte after each `${`) and whether we are in text or code.
    let mut open: Vec<(usize, u32)> = Vec::new();
    let mut in_text = true;
    let mut i = t.start + 1;
    while i < at.min(t.end) {
        let c = b.get(i).copied().unwrap_or(0);
        if in_text {
            match c {
                b'\\' => i += 1,
                b'"' => in_text = false,
                b'$' if b.get(i + 1) == Some(&b'{') => {
                    open.push((i + 2, 0));
                    in_text = false;
                    i += 1;
                }
                _ => {}
            }
        } else {
            match c {
                b'"' => in_text = true,
                b'{' => {
                    if let Some(o) = open.last_mut() {
                        o.1 += 1;
                    }
                }
                b'}' => match open.last_mut() {
                    Some((_, 0)) => {
                        open.pop();
                        in_text = true;
                    }
                    Some((_, n)) => *n -= 1,
                    None => {}
                },
                _ => {}
            }
        }
        i += 1;
    }
    // In code (not in a nested string's text) inside an interpolation.
    open.last().map(|o| o.0)
}

/// Whether `at` is inside string token `t` (not just after its closing quote).
pub fn open_at(text: &str, t: Token, at: usize) -> bool {
    let closed = t.end - t.start >= 2 && text.as_bytes().get(t.end - 1) == Some(&b'"') && t.end <= text.len();
    at < t.end || !closed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(Tok, &str)> {
        tokens(text).map(|t| (t.tok, &text[t.start..t.end])).collect()
    }

    #[test]
    fn strings_comments_and_words() {
        let text = "pool a-1 { # x\n  k = \"v ${f(\"}\")} w\" r#\"q\"# }";
        assert_eq!(
            kinds(text),
            vec![
                (Tok::Word, "pool"),
                (Tok::Word, "a-1"),
                (Tok::Punct(b'{'), "{"),
                (Tok::Word, "k"),
                (Tok::Punct(b'='), "="),
                (Tok::Str, "\"v ${f(\"}\")} w\""),
                (Tok::Str, "r#\"q\"#"),
                (Tok::Punct(b'}'), "}"),
            ]
        );
    }

    #[test]
    fn unterminated_strings_run_to_the_end() {
        let text = "a = \"open\nb = 1";
        let last = tokens(text).last().expect("a token");
        assert_eq!((last.tok, last.end), (Tok::Str, text.len()));
        assert_eq!(tokens("x = r#\"open").last().map(|t| t.tok), Some(Tok::Str));
        assert_eq!(tokens("\u{0}é\"").count(), 3);
    }
}
