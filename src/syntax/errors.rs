//! pest errors as BF001 diagnostics that say, in the user's words, what was expected.

use super::parser::{ParseError, Rule};
use crate::diagnostics::{Code, Diagnostic};
use crate::source::{Span, SrcId};
use pest::error::{ErrorVariant, InputLocation};

pub fn to_diagnostic(src: SrcId, text: &str, err: &ParseError) -> Diagnostic {
    let (start, end) = match err.location {
        InputLocation::Pos(p) => (p, p),
        InputLocation::Span((s, e)) => (s, e),
    };
    let found = found_at(text.get(start..).unwrap_or(""));
    let span = Span::new(src, start, end.max(start + found.len()));
    let (message, help) = match &err.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            let tokens: Vec<String> = err
                .parse_attempts()
                .map(|a| a.expected_tokens())
                .unwrap_or_default()
                .into_iter()
                .map(|t| t.to_string())
                .filter(|t| PUNCTUATION.contains(&t.as_str()))
                .map(|t| format!("`{t}`"))
                .collect();
            let mut expected: Vec<&str> = positives.iter().filter_map(|r| describe(*r)).collect();
            let wants_value = expected.contains(&"a value");
            // `(`, `[` and `{` start values: "a value" already says so.
            expected.extend(
                tokens
                    .iter()
                    .map(String::as_str)
                    .filter(|t| !(wants_value && ["`(`", "`[`", "`{`"].contains(t))),
            );
            let top_level = is_word(&found) && (expected.is_empty() || expected.contains(&ITEM));
            if top_level {
                expected = vec![ITEM];
            }
            expected.sort_unstable();
            expected.dedup();
            let found = if found.is_empty() {
                "the end of the file".to_string()
            } else {
                format!("`{found}`")
            };
            let in_string = positives
                .iter()
                .any(|r| matches!(r, Rule::interp | Rule::str_text | Rule::str_escape));
            if in_string && found == "the end of the file" {
                let d = Diagnostic::new(Code::BF001, span, "a string is not closed before the end of the file")
                    .with_help("close it with `\"`; inside a string write a quote as `\\\"`");
                return d;
            }
            let message = match expected.as_slice() {
                [] => format!("unexpected {found}"),
                [one] => format!("expected {one}, found {found}"),
                [a, b] => format!("expected {a} or {b}, found {found}"),
                many => format!("expected one of {}, found {found}", many.join(", ")),
            };
            let word = found.trim_matches('`');
            let help = if top_level {
                crate::suggest::did_you_mean(word, ITEM_KEYWORDS.iter().copied())
                    .or_else(|| help_for(&[Rule::pool_item]))
            } else {
                help_for(positives)
            };
            (message, help)
        }
        ErrorVariant::CustomError { message } => (message.clone(), None),
    };
    let diag = Diagnostic::new(Code::BF001, span, message);
    match help {
        Some(h) => diag.with_help(h),
        None => diag.with_help("the syntax is in `batchflow explain language`"),
    }
}

/// The token under the error: the rest of the word at the column, or one character.
fn found_at(rest: &str) -> String {
    let word: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
        .take(40)
        .collect();
    if word.is_empty() {
        rest.chars().take(1).filter(|c| !c.is_whitespace()).collect()
    } else {
        word
    }
}

const ITEM: &str = "an item (`pool`, `job`, `let`, ...)";
const ITEM_KEYWORDS: &[&str] = &["workflow", "import", "hooks", "param", "let", "registry", "pool", "job"];

fn is_word(found: &str) -> bool {
    let w = found.trim_matches('`');
    !w.is_empty() && w.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

/// Tokens worth naming when they would have been accepted.
const PUNCTUATION: &[&str] = &["=", "{", "}", "[", "]", "(", ")", ",", ":", "..", "+", "<", ">"];

fn help_for(positives: &[Rule]) -> Option<String> {
    if positives.contains(&Rule::workflow_item) || positives.contains(&Rule::pool_item) {
        return Some(
            "a file holds `workflow`, `import`, `hooks`, `param`, `let`, `registry`, `pool` and `job` items".into(),
        );
    }
    if positives.contains(&Rule::attr) || positives.contains(&Rule::nested) {
        return Some("inside a block write `name = value`, a nested `name { ... }` block, or a `task`".into());
    }
    None
}

fn describe(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "the end of the file",
        Rule::workflow_item
        | Rule::import_item
        | Rule::hooks_item
        | Rule::param_item
        | Rule::let_item
        | Rule::registry_item
        | Rule::pool_item
        | Rule::job_item => ITEM,
        Rule::attr | Rule::nested | Rule::task_decl => "an attribute `name = value`",
        Rule::expr | Rule::sum | Rule::paren | Rule::arg | Rule::named_arg => "a value",
        Rule::string | Rule::raw_string | Rule::esc_string => "a string",
        Rule::number => "a number",
        Rule::duration => "a duration like `30m`",
        Rule::boolean => "`true` or `false`",
        Rule::list => "a list `[...]`",
        Rule::map | Rule::block => "`{`",
        Rule::call | Rule::path | Rule::ident => "a name",
        Rule::type_expr | Rule::scalar_type | Rule::list_type => {
            "a type (`int`, `float`, `string`, `bool`, `duration`, `list<T>`)"
        }
        Rule::sweep => "`[`",
        Rule::after_clause => "`after`",
        Rule::loop_var => "a loop variable `name in values`",
        Rule::range_op => "`..`",
        Rule::kw_on => "`on`",
        Rule::kw_in => "`in`",
        Rule::kw_as => "`as`",
        Rule::interp => "`${`",
        _ => return None,
    })
}
