//! pest pairs to AST nodes with spans. Literal checks the grammar cannot express (escapes,
//! integer overflow, duration arithmetic) are BF001 errors here.

use super::parser::Rule;
use crate::ast::*;
use crate::diagnostics::{Code, Diagnostic};
use crate::source::{Span, SrcId};
use pest::iterators::{Pair, Pairs};

type Result<T> = std::result::Result<T, Diagnostic>;

/// The grammar and this builder disagree: not the user's fault.
const BUG: &str = "this is a bug in batchflow: please report it with the file that caused it";

struct Builder {
    src: SrcId,
}

pub fn file(src: SrcId, mut pairs: Pairs<'_, Rule>) -> Result<File> {
    let b = Builder { src };
    let mut items = Vec::new();
    if let Some(file) = pairs.next() {
        for pair in file.into_inner() {
            if pair.as_rule() != Rule::EOI {
                items.push(b.item(pair)?);
            }
        }
    }
    Ok(File { items })
}

/// The next child of a pair; the grammar guarantees it, so a miss is a bug reported as BF001.
fn next<'a>(it: &mut Pairs<'a, Rule>, span: Span) -> Result<Pair<'a, Rule>> {
    it.next().ok_or_else(|| {
        Diagnostic::new(Code::BF001, span, "internal parser error: incomplete syntax node").with_help(BUG)
    })
}

impl Builder {
    /// The pair's span without the whitespace an optional trailing part may have skipped.
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        let trimmed = pair.as_str().trim_end().len();
        Span::new(self.src, s.start(), s.start() + trimmed)
    }

    fn ident(&self, pair: Pair<'_, Rule>) -> Ident {
        Ident {
            span: self.span(&pair),
            name: pair.as_str().to_string(),
        }
    }

    fn item(&self, pair: Pair<'_, Rule>) -> Result<Item> {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let mut it = pair.into_inner();
        next(&mut it, span)?; // the keyword
        Ok(match rule {
            Rule::workflow_item => Item::Workflow(self.expr_of(next(&mut it, span)?)?),
            Rule::hooks_item => Item::Hooks(self.expr_of(next(&mut it, span)?)?),
            Rule::import_item => {
                let path = self.expr_of(next(&mut it, span)?)?;
                let alias = match (it.next(), it.next()) {
                    (Some(_as), Some(name)) => Some(self.ident(name)),
                    _ => None,
                };
                Item::Import { path, alias, span }
            }
            Rule::param_item => {
                let name = self.ident(next(&mut it, span)?);
                let ty = self.type_expr(next(&mut it, span)?)?;
                let default = it.next().map(|p| self.expr(p)).transpose()?;
                Item::Param {
                    name,
                    ty,
                    default,
                    span,
                }
            }
            Rule::let_item => Item::Let {
                name: self.ident(next(&mut it, span)?),
                value: self.expr(next(&mut it, span)?)?,
                span,
            },
            Rule::registry_item | Rule::pool_item => Item::Resource {
                kind: if rule == Rule::pool_item {
                    ResourceKind::Pool
                } else {
                    ResourceKind::Registry
                },
                name: self.ident(next(&mut it, span)?),
                body: self.block(next(&mut it, span)?)?,
                span,
            },
            Rule::storage_item => Item::Storage {
                body: self.block(next(&mut it, span)?)?,
                span,
            },
            Rule::job_item => {
                let name = self.ident(next(&mut it, span)?);
                next(&mut it, span)?; // `on`
                let pool = self.ident(next(&mut it, span)?);
                let body = self.block(next(&mut it, span)?)?;
                Item::Job { name, pool, body, span }
            }
            _ => return Err(Diagnostic::new(Code::BF001, span, "unexpected item").with_help(BUG)),
        })
    }

    fn type_expr(&self, pair: Pair<'_, Rule>) -> Result<TypeExpr> {
        let span = self.span(&pair);
        let inner = next(&mut pair.into_inner(), span)?;
        match inner.as_rule() {
            Rule::list_type => {
                let mut it = inner.into_inner();
                next(&mut it, span)?; // `list`
                Ok(TypeExpr::List(Box::new(self.type_expr(next(&mut it, span)?)?)))
            }
            _ => Ok(match inner.as_str().trim() {
                "int" => TypeExpr::Int,
                "float" => TypeExpr::Float,
                "bool" => TypeExpr::Bool,
                "duration" => TypeExpr::Duration,
                _ => TypeExpr::String,
            }),
        }
    }

    fn block(&self, pair: Pair<'_, Rule>) -> Result<Block> {
        let span = self.span(&pair);
        let mut entries = Vec::new();
        for entry in pair.into_inner() {
            entries.push(match entry.as_rule() {
                Rule::attr => Entry::Attr(self.attr(entry)?),
                Rule::nested => {
                    let nspan = self.span(&entry);
                    let mut it = entry.into_inner();
                    Entry::Nested(Nested {
                        name: self.ident(next(&mut it, nspan)?),
                        body: self.block(next(&mut it, nspan)?)?,
                        span: nspan,
                    })
                }
                _ => Entry::Task(self.task(entry)?),
            });
        }
        Ok(Block { entries, span })
    }

    fn attr(&self, pair: Pair<'_, Rule>) -> Result<Attr> {
        let span = self.span(&pair);
        let mut it = pair.into_inner();
        let key_pair = next(&mut it, span)?;
        let (key, key_expr) = match key_pair.as_rule() {
            Rule::ident => (self.ident(key_pair), None),
            _ => {
                let kspan = self.span(&key_pair);
                let text = key_pair.as_str();
                let expr = self.expr_of(key_pair)?;
                match expr.as_plain_str() {
                    Some(name) => (Ident { name, span: kspan }, None),
                    // Only map keys (file names in `inputs`, `outputs`) may be interpolated; where
                    // an attribute name is expected, lowering says so.
                    None => (
                        Ident {
                            name: text.trim_matches('"').to_string(),
                            span: kspan,
                        },
                        Some(expr),
                    ),
                }
            }
        };
        let value = self.expr(next(&mut it, span)?)?;
        // The pair's own span runs on over the whitespace an optional `,`/`;` skipped.
        let span = key.span.to(value.span);
        Ok(Attr {
            key,
            key_expr,
            value,
            span,
        })
    }

    fn task(&self, pair: Pair<'_, Rule>) -> Result<TaskDecl> {
        let span = self.span(&pair);
        let mut it = pair.into_inner();
        next(&mut it, span)?; // `task`
        let name = self.ident(next(&mut it, span)?);
        let mut loops = Vec::new();
        let mut after = Vec::new();
        let mut body = Block::default();
        for part in it {
            match part.as_rule() {
                Rule::sweep => {
                    for lv in part.into_inner() {
                        let lspan = self.span(&lv);
                        let mut li = lv.into_inner();
                        let var = self.ident(next(&mut li, lspan)?);
                        next(&mut li, lspan)?; // `in`
                        let source = self.expr(next(&mut li, lspan)?)?;
                        loops.push(LoopVar { name: var, source });
                    }
                }
                Rule::after_clause => {
                    after.extend(
                        part.into_inner()
                            .filter(|p| p.as_rule() == Rule::ident)
                            .map(|p| self.ident(p)),
                    );
                }
                _ => body = self.block(part)?,
            }
        }
        Ok(TaskDecl {
            name,
            loops,
            after,
            body,
            span,
        })
    }

    /// `expr = sum (.. sum)?`
    fn expr(&self, pair: Pair<'_, Rule>) -> Result<Expr> {
        let span = self.span(&pair);
        let mut it = pair.into_inner();
        let start = self.sum(next(&mut it, span)?)?;
        match (it.next(), it.next()) {
            (Some(_), Some(end)) => Ok(Expr {
                kind: ExprKind::Range(Box::new(start), Box::new(self.sum(end)?)),
                span,
            }),
            _ => Ok(start),
        }
    }

    fn sum(&self, pair: Pair<'_, Rule>) -> Result<Expr> {
        let span = self.span(&pair);
        let mut terms = pair.into_inner().map(|p| self.expr_of(p)).collect::<Result<Vec<_>>>()?;
        if terms.len() == 1 {
            if let Some(only) = terms.pop() {
                return Ok(only);
            }
        }
        Ok(Expr {
            kind: ExprKind::Sum(terms),
            span,
        })
    }

    /// A term.
    fn expr_of(&self, pair: Pair<'_, Rule>) -> Result<Expr> {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::string => ExprKind::Str(self.string_parts(pair)?),
            Rule::raw_string | Rule::esc_string => {
                let text = pair
                    .into_inner()
                    .find(|p| matches!(p.as_rule(), Rule::raw_text | Rule::esc_text))
                    .map_or(String::new(), |p| p.as_str().to_string());
                ExprKind::Str(vec![StrPart::Lit(text)])
            }
            Rule::number => number(pair.as_str(), span)?,
            Rule::duration => ExprKind::Duration(duration(pair.as_str(), span)?),
            Rule::boolean => ExprKind::Bool(pair.as_str() == "true"),
            Rule::paren => {
                let inner = next(&mut pair.into_inner(), span)?;
                return Ok(Expr {
                    span,
                    ..self.expr(inner)?
                });
            }
            Rule::list => ExprKind::List(pair.into_inner().map(|p| self.expr(p)).collect::<Result<_>>()?),
            Rule::map => ExprKind::Map(pair.into_inner().map(|p| self.attr(p)).collect::<Result<_>>()?),
            Rule::path => ExprKind::Path(pair.into_inner().map(|p| self.ident(p)).collect()),
            Rule::call => {
                let mut it = pair.into_inner();
                let name = self.ident(next(&mut it, span)?);
                let args = it.map(|a| self.arg(a)).collect::<Result<_>>()?;
                ExprKind::Call { name, args }
            }
            Rule::expr => return self.expr(pair),
            _ => return Err(Diagnostic::new(Code::BF001, span, "unexpected expression").with_help(BUG)),
        };
        Ok(Expr { kind, span })
    }

    fn arg(&self, pair: Pair<'_, Rule>) -> Result<Arg> {
        let span = self.span(&pair);
        let inner = next(&mut pair.into_inner(), span)?;
        if inner.as_rule() == Rule::named_arg {
            let mut it = inner.into_inner();
            let name = self.ident(next(&mut it, span)?);
            let value = self.expr(next(&mut it, span)?)?;
            Ok(Arg {
                name: Some(name),
                value,
            })
        } else {
            Ok(Arg {
                name: None,
                value: self.expr(inner)?,
            })
        }
    }

    fn string_parts(&self, pair: Pair<'_, Rule>) -> Result<Vec<StrPart>> {
        let mut parts: Vec<StrPart> = Vec::new();
        let mut lit = String::new();
        for part in pair.into_inner() {
            match part.as_rule() {
                Rule::str_text => lit.push_str(part.as_str()),
                Rule::str_escape => lit.push(self.escape(&part)?),
                _ => {
                    let span = self.span(&part);
                    let inner = next(&mut part.into_inner(), span)?;
                    if !lit.is_empty() {
                        parts.push(StrPart::Lit(std::mem::take(&mut lit)));
                    }
                    parts.push(StrPart::Interp(self.expr(inner)?));
                }
            }
        }
        if !lit.is_empty() || parts.is_empty() {
            parts.push(StrPart::Lit(lit));
        }
        Ok(parts)
    }

    fn escape(&self, pair: &Pair<'_, Rule>) -> Result<char> {
        match pair.as_str() {
            "\\\"" => Ok('"'),
            "\\\\" => Ok('\\'),
            "\\n" => Ok('\n'),
            "\\t" => Ok('\t'),
            "\\$" => Ok('$'),
            other => Err(Diagnostic::new(
                Code::BF001,
                self.span(pair),
                format!("unknown escape `{other}` in a string"),
            )
            .with_help(
                "strings know `\\\"`, `\\\\`, `\\n`, `\\t` and `\\$`; for backslashes (Windows paths) use a raw string r\"C:\\app\"",
            )),
        }
    }
}

fn number(text: &str, span: Span) -> Result<ExprKind> {
    let out_of_range = || {
        Diagnostic::new(Code::BF001, span, format!("number `{text}` is out of range"))
            .with_help("integers are 64-bit: between -9223372036854775808 and 9223372036854775807")
    };
    if text.contains('.') {
        text.parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(ExprKind::Float)
            .ok_or_else(out_of_range)
    } else {
        text.parse::<i64>().map(ExprKind::Int).map_err(|_| out_of_range())
    }
}

/// `1h30m` to seconds; the grammar has checked the form, so only overflow can fail.
fn duration(text: &str, span: Span) -> Result<u64> {
    super::duration_seconds(text).ok_or_else(|| {
        Diagnostic::new(Code::BF001, span, format!("duration `{text}` is too long"))
            .with_help("durations count whole seconds and must fit in 64 bits")
    })
}
