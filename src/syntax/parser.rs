//! The pest parser generated from `grammar/batchflow.pest`.

use pest::iterators::{Pair, Pairs};
use pest::Parser;
use pest_derive::Parser;

#[derive(Parser)]
#[grammar = "../grammar/batchflow.pest"]
pub struct BatchflowParser;

pub type ParseError = pest::error::Error<Rule>;

pub fn parse_file(text: &str) -> Result<Pairs<'_, Rule>, Box<ParseError>> {
    BatchflowParser::parse(Rule::file, text).map_err(Box::new)
}

/// An expression followed by the end of input.
pub fn parse_expr(text: &str) -> Result<Pair<'_, Rule>, Box<ParseError>> {
    let mut pairs = BatchflowParser::parse(Rule::expr, text).map_err(Box::new)?;
    let pair = pairs.next().ok_or_else(|| eoi_error(text, 0))?;
    let end = pair.as_span().end();
    if text[end..].trim().is_empty() {
        Ok(pair)
    } else {
        Err(eoi_error(text, end))
    }
}

fn eoi_error(text: &str, at: usize) -> Box<ParseError> {
    let pos = pest::Position::new(text, at).unwrap_or_else(|| pest::Position::from_start(text));
    Box::new(ParseError::new_from_pos(
        pest::error::ErrorVariant::CustomError {
            message: "unexpected text after the value".into(),
        },
        pos,
    ))
}
