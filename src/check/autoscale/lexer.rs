//! A formula's tokens: names (`$TargetDedicatedNodes`, `ratio`), numbers, strings and
//! operators, each with its byte range. Whitespace and `//` comments separate them ("can
//! include line breaks and comments"); any other character is a syntax error here.

use super::Finding;
use std::ops::Range;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `$name` or `name`.
    Name,
    Number,
    Str,
    /// An operator or punctuation, as written.
    Op(&'static str),
    /// After the last token.
    End,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub kind: Kind,
    pub range: Range<usize>,
}

/// Longest first, so that `<=` is not read as `<` then `=`.
const OPS: &[&str] = &[
    "||", "&&", "<=", ">=", "==", "!=", "<", ">", "+", "-", "*", "/", "!", "=", "?", ":", ";", ",", ".", "(", ")", "[",
    "]",
];

pub fn tokens(text: &str) -> Result<Vec<Token>, Finding> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(text.len() / 3);
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let start = i;
        let kind = match b {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i = memchr_newline(bytes, i);
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                return Err(Finding::error(
                    i..i + 2,
                    "unexpected `/*` in the autoscale formula",
                    "comments start with `//` and run to the end of the line",
                ));
            }
            b'"' => {
                let close = bytes.get(i + 1..).and_then(|rest| rest.iter().position(|&c| c == b'"'));
                let Some(n) = close else {
                    return Err(Finding::error(
                        i..i + 1,
                        "a string in the autoscale formula is not closed",
                        "close it with `\"`",
                    ));
                };
                i += n + 2;
                Kind::Str
            }
            b'0'..=b'9' => {
                i = digits(bytes, i);
                if bytes.get(i) == Some(&b'.') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
                    i = digits(bytes, i + 1);
                }
                Kind::Number
            }
            b'$' | b'_' | b'a'..=b'z' | b'A'..=b'Z' => {
                let word = i + usize::from(b == b'$');
                i = word
                    + bytes
                        .get(word..)
                        .map_or(0, |r| r.iter().take_while(|c| is_word(**c)).count());
                if i == word || bytes.get(word).is_some_and(u8::is_ascii_digit) {
                    return Err(Finding::error(
                        start..i.max(start + 1),
                        "`$` is not followed by a name in the autoscale formula",
                        "variables are written `$name`, a letter or `_` first",
                    ));
                }
                Kind::Name
            }
            _ => match OPS
                .iter()
                .find(|op| bytes.get(i..).is_some_and(|r| r.starts_with(op.as_bytes())))
            {
                Some(op) => {
                    i += op.len();
                    Kind::Op(op)
                }
                None => return Err(unknown_character(text, i)),
            },
        };
        out.push(Token { kind, range: start..i });
    }
    out.push(Token {
        kind: Kind::End,
        range: text.len()..text.len(),
    });
    Ok(out)
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

fn digits(bytes: &[u8], from: usize) -> usize {
    from + bytes
        .get(from..)
        .map_or(0, |r| r.iter().take_while(|c| c.is_ascii_digit()).count())
}

/// The offset of the next `\n` (or the end), where a `//` comment stops.
fn memchr_newline(bytes: &[u8], from: usize) -> usize {
    from + bytes
        .get(from..)
        .map_or(0, |r| r.iter().position(|&c| c == b'\n').unwrap_or(r.len()))
}

fn unknown_character(text: &str, at: usize) -> Finding {
    let c = text.get(at..).and_then(|r| r.chars().next()).unwrap_or('?');
    let help = match c {
        '%' => "the formula language has no `%`: its operators are `+ - * /`, `< <= == != >= >`, `&& ||`, `!` and `? :`",
        '#' => "comments start with `//` and run to the end of the line",
        '\'' => "write strings in double quotes: `time(\"2026-01-01T00:00:00Z\")`",
        '&' => "write `&&` for a logical and",
        '|' => "write `||` for a logical or",
        _ => "the formula language is made of names, numbers, `\"strings\"` and the operators `+ - * / < <= == != >= > && || ! ? :`",
    };
    Finding::error(
        at..at + c.len_utf8(),
        format!("unexpected `{c}` in the autoscale formula"),
        help,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(Kind, &str)> {
        tokens(text)
            .expect("tokens")
            .into_iter()
            .map(|t| (t.kind, text.get(t.range).unwrap_or("?")))
            .collect()
    }

    #[test]
    fn names_numbers_strings_and_operators() {
        assert_eq!(
            kinds("$x=max(1.5,\"a b\")<=y_2 // note\n!z"),
            vec![
                (Kind::Name, "$x"),
                (Kind::Op("="), "="),
                (Kind::Name, "max"),
                (Kind::Op("("), "("),
                (Kind::Number, "1.5"),
                (Kind::Op(","), ","),
                (Kind::Str, "\"a b\""),
                (Kind::Op(")"), ")"),
                (Kind::Op("<="), "<="),
                (Kind::Name, "y_2"),
                (Kind::Op("!"), "!"),
                (Kind::Name, "z"),
                (Kind::End, ""),
            ]
        );
        assert_eq!(kinds("time().hour")[3], (Kind::Op("."), "."));
    }

    #[test]
    fn characters_outside_the_language() {
        for (text, at) in [
            ("a % b", "%"),
            ("a = 'x'", "'"),
            ("a # b", "#"),
            ("a & b", "&"),
            ("é", "é"),
        ] {
            let f = tokens(text).expect_err(text);
            assert_eq!(text.get(f.range.clone()), Some(at), "{text}");
        }
        assert_eq!(tokens("a /* b */").expect_err("/*").range, 2..4);
        assert_eq!(tokens("x = \"abc").expect_err("string").range, 4..5);
        assert_eq!(tokens("$ = 1").expect_err("lone $").range, 0..1);
        assert_eq!(tokens("$1 = 1").expect_err("$digit").range, 0..2);
    }
}
