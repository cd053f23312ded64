//! A pest error in a formula as a finding that says, in the user's words, what was expected
//! and what was found, with a help for the usual slips (a missing `;`, `%`, `'...'`, `/* */`).

use super::grammar::{ParseError, Rule};
use super::Finding;
use pest::error::{ErrorVariant, InputLocation};

const GENERAL: &str = "write statements as `$name = expression;`: see `batchflow explain BF224` for the language";

pub fn syntax(formula: &str, err: &ParseError) -> Finding {
    let mut at = match err.location {
        InputLocation::Pos(p) | InputLocation::Span((p, _)) => p,
    };
    // `/* ... */` fails at its `*`, the `/` having parsed as a division.
    if formula.get(at.saturating_sub(1)..=at) == Some("/*") {
        at -= 1;
    }
    let rest = formula.get(at..).unwrap_or("");
    let found = token(rest);
    let range = at..at + found.len();
    let positives = match &err.variant {
        ErrorVariant::ParsingError { positives, .. } => positives.as_slice(),
        ErrorVariant::CustomError { .. } => &[],
    };
    if found.starts_with('"') {
        return Finding::error(
            at..at + 1,
            "a string in the autoscale formula is not closed",
            "close it with `\"`",
        );
    }
    let expected = expected(positives);
    let shown = if found.is_empty() {
        "the end of the formula".to_string()
    } else {
        format!("`{found}`")
    };
    let message = match expected.as_slice() {
        [] => format!("unexpected {shown} in the autoscale formula"),
        [one] => format!("expected {one} in the autoscale formula, found {shown}"),
        [init @ .., last] => format!(
            "expected {} or {last} in the autoscale formula, found {shown}",
            init.join(", ")
        ),
    };
    Finding::error(range, message, help(found, &expected))
}

/// The word, number or operator at the error, or one character.
fn token(rest: &str) -> &str {
    let word = rest
        .char_indices()
        .find(|&(i, c)| !(c.is_alphanumeric() || c == '_' || c == '.' || (c == '$' && i == 0)))
        .map_or(rest.len(), |(i, _)| i);
    if word > 0 {
        return rest.get(..word).unwrap_or(rest);
    }
    for op in ["/*", "&&", "||", "==", "!=", "<=", ">=", "%"] {
        if rest.starts_with(op) {
            return op;
        }
    }
    rest.chars()
        .next()
        .map_or("", |c| rest.get(..c.len_utf8()).unwrap_or(rest))
}

fn expected(positives: &[Rule]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = positives
        .iter()
        .filter_map(|r| match r {
            Rule::semicolon => Some("`;`"),
            Rule::close_paren => Some("`)`"),
            Rule::close_bracket => Some("`]`"),
            Rule::colon => Some("`:`"),
            Rule::comma => Some("`,`"),
            Rule::assign_op => Some("`=`"),
            Rule::formula | Rule::statement | Rule::assign => Some("a statement"),
            Rule::member
            | Rule::args
            | Rule::question
            | Rule::or_op
            | Rule::and_op
            | Rule::cmp_op
            | Rule::add_op
            | Rule::mul_op => Some("an operator"),
            Rule::EOI => None,
            _ => Some("a value"),
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

fn help(found: &str, expected: &[&str]) -> String {
    let help = match found {
        "%" => {
            "the formula language has no `%`: its operators are `+ - * /`, `< <= == != >= >`, `&& ||`, `!` and `? :`"
        }
        "/*" | "#" => "comments start with `//` and run to the end of the line",
        "'" => "write strings in double quotes: `time(\"2026-01-01T00:00:00Z\")`",
        "=" => "`=` sets a variable at the start of a statement; compare with `==`",
        "" if expected.contains(&"`)`") => "close every `(` with `)`",
        _ if expected.contains(&"`;`") && is_word(found) => {
            "end each statement with `;`: the article warns that missing semicolons make the evaluation fail"
        }
        _ => GENERAL,
    };
    help.to_string()
}

fn is_word(found: &str) -> bool {
    found
        .trim_start_matches('$')
        .starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
}
