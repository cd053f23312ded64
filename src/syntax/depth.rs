//! A cheap scan before the recursive-descent parser: it rejects pathological nesting, so
//! `[[[[...` ten thousand deep is a BF001 error and never a stack overflow, and on the way
//! notes where the comments are. The grammar skips comments; the formatter needs them back.

use crate::diagnostics::{Code, Diagnostic};
use crate::source::{Span, SrcId};

/// Deepest nesting of brackets, braces, parentheses and interpolations the parser accepts.
pub const MAX_DEPTH: usize = 64;

#[derive(Clone, Copy, PartialEq)]
enum Ctx {
    /// Inside `(`, `[`, `{` or `${`.
    Code,
    /// Inside a `"..."` string.
    Str,
}

/// The spans of the file's comments (`#` to the end of the line, without the newline), in
/// order, or the BF001 error for nesting deeper than [`MAX_DEPTH`].
pub fn check(src: SrcId, text: &str) -> Result<Vec<Span>, Box<Diagnostic>> {
    let bytes = text.as_bytes();
    let mut stack: Vec<Ctx> = Vec::new();
    let mut comments = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if stack.last() == Some(&Ctx::Str) {
            match b {
                b'\\' => i += 1,
                b'"' => {
                    stack.pop();
                }
                b'$' if bytes.get(i + 1) == Some(&b'{') => {
                    stack.push(Ctx::Code);
                    i += 1;
                }
                _ => {}
            }
        } else {
            match b {
                b'#' => {
                    let start = i;
                    while i < bytes.len() && bytes[i] != b'\n' {
                        i += 1;
                    }
                    comments.push(Span::new(src, start, i));
                }
                b'"' => stack.push(Ctx::Str),
                // `\"...\"`: a string written with escaped quotes inside an interpolation.
                b'\\' if bytes.get(i + 1) == Some(&b'"') => i = skip_escaped_string(bytes, i),
                b'r' if starts_raw(bytes, i) => i = skip_raw(bytes, i),
                b'(' | b'[' | b'{' => stack.push(Ctx::Code),
                b')' | b']' | b'}' => {
                    stack.pop();
                }
                _ => {}
            }
        }
        if stack.len() > MAX_DEPTH {
            return Err(Box::new(
                Diagnostic::new(
                    Code::BF001,
                    Span::new(src, i, i + 1),
                    format!("nesting is deeper than {MAX_DEPTH} levels"),
                )
                .with_help("flatten the expression: use `let` to name inner values"),
            ));
        }
        i += 1;
    }
    Ok(comments)
}

/// Index of the closing quote of a `\"...\"` string starting at `i` (or the end of input).
fn skip_escaped_string(bytes: &[u8], i: usize) -> usize {
    let mut j = i + 2;
    while j + 1 < bytes.len() {
        if bytes[j] == b'\\' && bytes[j + 1] == b'"' {
            return j + 1;
        }
        j += 1;
    }
    bytes.len()
}

/// `r"` or `r#...#"` not preceded by an identifier character.
fn starts_raw(bytes: &[u8], i: usize) -> bool {
    let ident_before = i > 0
        && bytes
            .get(i - 1)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-');
    if ident_before {
        return false;
    }
    let hashes = bytes[i + 1..].iter().take_while(|&&b| b == b'#').count();
    bytes.get(i + 1 + hashes) == Some(&b'"')
}

/// Index of the last byte of the raw string starting at `i` (or the end of input).
fn skip_raw(bytes: &[u8], i: usize) -> usize {
    let hashes = bytes[i + 1..].iter().take_while(|&&b| b == b'#').count();
    let body = i + 2 + hashes;
    let mut j = body;
    while j < bytes.len() {
        if bytes[j] == b'"' && bytes[j + 1..].iter().take(hashes).filter(|&&b| b == b'#').count() == hashes {
            return j + hashes;
        }
        j += 1;
    }
    bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_lists_are_rejected() {
        let text = format!("let x = {}{}", "[".repeat(10_000), "]".repeat(10_000));
        let err = check(SrcId(0), &text).expect_err("too deep");
        assert_eq!(err.code, Code::BF001);
    }

    #[test]
    fn brackets_in_strings_comments_and_raw_strings_do_not_count() {
        let text = format!(
            "# {}\nlet a = \"{}\"\nlet b = r#\"{}\"#",
            "(".repeat(100),
            "[".repeat(100),
            "{".repeat(100)
        );
        assert!(check(SrcId(0), &text).is_ok());
    }

    #[test]
    fn escaped_strings_in_interpolations_do_not_open_levels() {
        let one = "\"https://a/b?${secret(\\\"SAS\\\")}\" ";
        let text = format!("let a = [{}]", one.repeat(100));
        assert!(check(SrcId(0), &text).is_ok(), "{text}");
    }

    #[test]
    fn interpolations_count() {
        let mut text = String::from("let a = ");
        for _ in 0..40 {
            text.push_str("\"${");
        }
        assert!(check(SrcId(0), &text).is_err());
    }
}
