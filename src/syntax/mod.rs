//! Source text to [`ast::File`](crate::ast::File): the pest grammar in
//! `grammar/batchflow.pest`, a guard against pathological nesting, and friendly BF001 errors.

mod build;
mod depth;
mod errors;
mod literal;
mod parser;
mod recover;

use crate::ast::File;
use crate::diagnostics::Diagnostic;
use crate::source::SrcId;

pub use depth::MAX_DEPTH;
pub use literal::literal_map;
pub use recover::{parse as parse_recovering, Recovered};

/// Parses one file, keeping its comments aside in [`File::comments`]. A syntax error is a
/// single BF001 diagnostic pointing at the token.
pub fn parse(src: SrcId, text: &str) -> Result<File, Box<Diagnostic>> {
    let comments = depth::check(src, text)?;
    let pairs = parser::parse_file(text).map_err(|_| Box::new(detailed_error(src, text)))?;
    let mut file = build::file(src, pairs, &comments).map_err(Box::new)?;
    file.comments = comments;
    Ok(file)
}

/// Parses again with pest's error detail on (slower, so only after a failure) to learn
/// which tokens would have been accepted.
fn detailed_error(src: SrcId, text: &str) -> Diagnostic {
    pest::set_error_detail(true);
    let result = parser::parse_file(text).err();
    pest::set_error_detail(false);
    match result {
        Some(e) => errors::to_diagnostic(src, text, &e),
        None => Diagnostic::new(
            crate::diagnostics::Code::BF001,
            crate::source::Span::new(src, 0, 0),
            "the file does not parse",
        )
        .with_help("this is a bug in batchflow: please report it with the file that caused it"),
    }
}

/// Seconds of a duration literal (`90s`, `30m`, `1h30m`, `7d`); `None` for anything else or
/// for a duration that does not fit in 64 bits.
pub fn duration_seconds(text: &str) -> Option<u64> {
    if text.is_empty() || !text.ends_with(['d', 'h', 'm', 's']) {
        return None;
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        let n: u64 = digits.parse().ok()?;
        total = total.checked_add(n.checked_mul(unit)?)?;
        digits.clear();
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::{duration_seconds, parse};
    use crate::ast::Item;
    use crate::source::SrcId;

    #[test]
    fn comments_are_kept_aside_and_spans_never_end_in_one() {
        let text = "param n: int = 10 # ten\n\n# next\nlet a = x.y  # path\r\nlet s = \"# not\" + b # sum\n";
        let file = parse(SrcId(0), text).expect("parses");
        let comments: Vec<&str> = file
            .comments
            .iter()
            .map(|c| &text[c.start as usize..c.end as usize])
            .collect();
        assert_eq!(comments, ["# ten", "# next", "# path\r", "# sum"]);
        let ends: Vec<&str> = file
            .items
            .iter()
            .map(|item| match item {
                Item::Param { span, .. } | Item::Let { span, .. } => &text[span.start as usize..span.end as usize],
                _ => "",
            })
            .collect();
        assert_eq!(ends, ["param n: int = 10", "let a = x.y", "let s = \"# not\" + b"]);
    }

    #[test]
    fn a_raw_string_argument_is_never_a_name_and_a_comment() {
        let text = "let a = f(r#\"x\"#) + g({ k\n= 1 })\nlet b = f(r # a name\n= 2)\n";
        let file = parse(SrcId(0), text).expect("parses");
        assert!(file.comments.len() == 1, "{:?}", file.comments);
    }

    #[test]
    fn durations() {
        assert_eq!(duration_seconds("1h30m"), Some(5_400));
        assert_eq!(duration_seconds("7d"), Some(604_800));
        assert_eq!(duration_seconds("90"), None);
        assert_eq!(duration_seconds("1x"), None);
        assert_eq!(duration_seconds("99999999999999999999s"), None);
    }
}
