//! The pest parser generated from `grammar/batchflow.pest`.

use pest::iterators::Pairs;
use pest::Parser;
use pest_derive::Parser;

#[derive(Parser)]
#[grammar = "../grammar/batchflow.pest"]
pub struct BatchflowParser;

pub type ParseError = pest::error::Error<Rule>;

pub fn parse_file(text: &str) -> Result<Pairs<'_, Rule>, Box<ParseError>> {
    BatchflowParser::parse(Rule::file, text).map_err(Box::new)
}
