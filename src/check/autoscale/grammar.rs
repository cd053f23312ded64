//! The pest parser generated from `grammar/autoscale.pest`, behind a guard against
//! pathological nesting (pest descends once per bracket, so `((((...` 8,000 deep would
//! exhaust the stack).

use pest::iterators::Pair;
use pest::Parser;
use pest_derive::Parser;

#[derive(Parser)]
#[grammar = "../grammar/autoscale.pest"]
pub struct FormulaParser;

pub type ParseError = pest::error::Error<Rule>;

/// Deepest nesting of `(`, `[` and `? :` checked; real formulas stay far below it.
pub const MAX_DEPTH: usize = 64;

/// The formula's statements, in order.
pub fn statements(text: &str) -> Result<Vec<Pair<'_, Rule>>, Box<ParseError>> {
    let formula = FormulaParser::parse(Rule::formula, text).map_err(Box::new)?;
    Ok(formula
        .flat_map(Pair::into_inner)
        .filter(|p| p.as_rule() == Rule::statement)
        .collect())
}

/// The byte offset where nesting first goes deeper than [`MAX_DEPTH`], if it does. Strings
/// and comments are skipped; a `?` opens a level that its `:` closes.
pub fn too_deep(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => {
                i += bytes.get(i + 1..).map_or(0, |rest| {
                    rest.iter().position(|&c| c == b'"').map_or(rest.len(), |n| n + 1)
                });
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i += bytes
                    .get(i..)
                    .map_or(0, |rest| rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len()));
            }
            b'(' | b'[' | b'?' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Some(i);
                }
            }
            b')' | b']' | b':' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_counts_brackets_and_conditionals_outside_strings_and_comments() {
        let deep = "(".repeat(MAX_DEPTH + 1);
        assert_eq!(too_deep(&deep), Some(MAX_DEPTH));
        assert_eq!(too_deep(&"(".repeat(MAX_DEPTH)), None);
        assert_eq!(too_deep(&"a ? b : ".repeat(1000)), None);
        assert_eq!(too_deep(&format!("\"{deep}\"")), None);
        assert_eq!(too_deep(&format!("// {deep}\n1")), None);
        assert_eq!(
            too_deep(&format!("x = 1; {}", "a ? ".repeat(MAX_DEPTH + 1))),
            Some(7 + 4 * MAX_DEPTH + 2)
        );
    }

    #[test]
    fn statements_are_split_on_semicolons_and_empty_ones_dropped() {
        let s = statements("a = 1;; b = 2 // c\n;").expect("parses");
        assert_eq!(s.len(), 2);
        assert!(statements("a = 1 b = 2").is_err());
    }
}
