//! The value of a string literal together with where each of its bytes sits in the file, so
//! that a later stage parsing the value again (the autoscale formula check) can point inside
//! the literal. The escapes are those of `build.rs`; the grammar is `grammar/batchflow.pest`.

use crate::source::{LiteralMap, SrcId};

/// `literal` is the text of a string literal as written (`"..."`, `r#"..."#` or `\"...\"`)
/// starting at byte `at` of file `src`. `None` for anything else, such as a string with
/// `${...}` in it, whose value is computed rather than written.
pub fn literal_map(src: SrcId, literal: &str, at: usize) -> Option<(String, LiteralMap)> {
    if let Some(rest) = literal.strip_prefix('r') {
        let hashes = rest.get(..rest.len() - rest.trim_start_matches('#').len())?;
        let body = rest
            .strip_prefix(hashes)?
            .strip_prefix('"')?
            .strip_suffix(hashes)?
            .strip_suffix('"')?;
        return Some((body.to_string(), LiteralMap::new(src, at + 2 + hashes.len())));
    }
    if let Some(body) = literal.strip_prefix("\\\"").and_then(|r| r.strip_suffix("\\\"")) {
        return Some((body.to_string(), LiteralMap::new(src, at + 2)));
    }
    let body = literal.strip_prefix('"')?.strip_suffix('"')?;
    let start = at + 1;
    let mut value = String::with_capacity(body.len());
    let mut map = LiteralMap::new(src, start);
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                let escaped = match chars.next()?.1 {
                    '"' => '"',
                    '\\' => '\\',
                    'n' => '\n',
                    't' => '\t',
                    '$' => '$',
                    _ => return None,
                };
                map.run_from(value.len(), start + i);
                value.push(escaped);
                map.run_from(value.len(), start + i + 2);
            }
            '$' if body.get(i + 1..).is_some_and(|r| r.starts_with('{')) => return None,
            _ => value.push(c),
        }
    }
    Some((value, map))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Span;

    fn span(start: usize, end: usize) -> Span {
        Span::new(SrcId(0), start, end)
    }

    #[test]
    fn plain_strings_map_around_escapes() {
        let (value, map) = literal_map(SrcId(0), r#""a\nb\"c""#, 100).expect("literal");
        assert_eq!(value, "a\nb\"c");
        assert_eq!(map.span(0..1), span(101, 102));
        assert_eq!(map.span(1..2), span(102, 104));
        assert_eq!(map.span(2..3), span(104, 105));
        assert_eq!(map.span(4..5), span(107, 108));
    }

    #[test]
    fn raw_strings_map_one_to_one() {
        let (value, map) = literal_map(SrcId(0), r###"r#"x = "y";"#"###, 7).expect("literal");
        assert_eq!(value, r#"x = "y";"#);
        assert_eq!(map.span(4..7), span(14, 17));
        let (value, map) = literal_map(SrcId(0), r#"r"ab""#, 0).expect("literal");
        assert_eq!(value, "ab");
        assert_eq!(map.span(1..2), span(3, 4));
    }

    #[test]
    fn escaped_quote_strings_and_multibyte_text() {
        let (value, map) = literal_map(SrcId(0), r#"\"é x\""#, 0).expect("literal");
        assert_eq!(value, "é x");
        assert_eq!(map.span(3..4), span(5, 6));
        let (_, map) = literal_map(SrcId(0), "\"é\\tx\"", 0).expect("literal");
        assert_eq!(map.span(3..4), span(5, 6));
    }

    #[test]
    fn interpolations_and_unknown_escapes_have_no_map() {
        assert!(literal_map(SrcId(0), r#""a ${b} c""#, 0).is_none());
        assert!(literal_map(SrcId(0), r#""a \q""#, 0).is_none());
        assert!(literal_map(SrcId(0), "name", 0).is_none());
        assert!(literal_map(SrcId(0), "r#\"x\"", 0).is_none());
    }
}
