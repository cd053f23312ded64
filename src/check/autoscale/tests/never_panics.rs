//! Random bytes, token soups and mutated article formulas never panic the formula check, and
//! every finding points at whole characters inside the formula.

use super::super::analyze;
use super::article::ARTICLE;
use proptest::prelude::*;
use proptest::test_runner::Config;

/// Pieces of the language, so that random formulas get past the first token.
const TOKENS: &[&str] = &[
    "$TargetDedicatedNodes",
    "$PendingTasks",
    "$x",
    "x",
    "TimeInterval_Minute",
    "taskcompletion",
    "=",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "!",
    "&&",
    "||",
    "?",
    ":",
    ";",
    "(",
    ")",
    "[",
    "]",
    ",",
    ".",
    ".GetSample(",
    ".hour",
    "max(",
    "time(",
    "val(",
    "\"",
    "\"s\"",
    "//",
    "\n",
    " ",
    "1",
    "0.5",
    "é",
    "%",
    "'",
    "#",
    "/*",
];

fn config() -> Config {
    Config {
        // Never write `proptest-regressions/` files into the repository.
        failure_persistence: None,
        ..Config::default()
    }
}

/// No panic, and every finding points at whole characters inside the formula.
fn sound(formula: &str) -> Result<(), TestCaseError> {
    for f in analyze(formula) {
        prop_assert!(f.range.start <= f.range.end && f.range.end <= formula.len(), "{f:?}");
        prop_assert!(formula.get(f.range.clone()).is_some(), "{f:?} splits a character");
        prop_assert!(!f.message.is_empty() && !f.help.is_empty());
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        sound(&String::from_utf8_lossy(&bytes))?;
    }

    #[test]
    fn token_soup(picks in proptest::collection::vec(0..TOKENS.len(), 0..200)) {
        let formula: String = picks.iter().filter_map(|&i| TOKENS.get(i).copied()).collect();
        sound(&formula)?;
    }

    #[test]
    fn mutated_article_formulas(which in 0..ARTICLE.len(), at in any::<usize>(), cut in 0usize..8, with in 0..TOKENS.len()) {
        let formula = ARTICLE.get(which).map_or("", |(_, f)| f);
        let mut at = at % (formula.len() + 1);
        while !formula.is_char_boundary(at) {
            at -= 1;
        }
        let mut end = (at + cut).min(formula.len());
        while !formula.is_char_boundary(end) {
            end += 1;
        }
        let mutated = format!("{}{}{}", &formula[..at], TOKENS.get(with).copied().unwrap_or(""), &formula[end..]);
        sound(&mutated)?;
    }
}
