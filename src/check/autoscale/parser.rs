//! A recursive-descent parser for the formula language (the grammar is in
//! `grammar/README.md`, "The autoscale formula grammar"). It builds no tree: each statement
//! comes out as the variable it sets and the names it uses, in order, which is all the checks
//! need. Nesting deeper than [`MAX_DEPTH`] stops it, so no formula can exhaust the stack.

use super::lexer::{Kind, Token};
use super::Finding;
use std::ops::Range;

/// Deepest nesting of `(`, `[` and `? :` parsed; real formulas stay far below it.
pub const MAX_DEPTH: usize = 64;

const BINARY: &[&str] = &["||", "&&", "<=", ">=", "==", "!=", "<", ">", "+", "-", "*", "/"];

#[derive(Debug, Default)]
pub struct Statement {
    pub range: Range<usize>,
    /// The variable an assignment sets.
    pub target: Option<Range<usize>>,
    /// What the right-hand side uses, left to right.
    pub uses: Vec<Use>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Use {
    /// A variable or constant.
    Read(Range<usize>),
    /// `name(args)`; `whole` runs from the name to the `)`.
    Call {
        name: Range<usize>,
        args: usize,
        whole: Range<usize>,
    },
    /// `.name` (`args: None`) or `.name(args)`.
    Member {
        name: Range<usize>,
        args: Option<usize>,
        whole: Range<usize>,
    },
}

/// Why parsing stopped.
pub enum Failure {
    Syntax(Finding),
    /// Nesting went past [`MAX_DEPTH`] at this byte.
    TooDeep(usize),
}

pub fn statements(text: &str, tokens: &[Token]) -> Result<Vec<Statement>, Failure> {
    let mut p = Parser {
        text,
        tokens,
        at: 0,
        depth: 0,
        uses: Vec::new(),
    };
    let mut out = Vec::new();
    loop {
        if !matches!(p.kind(), Kind::Op(";") | Kind::End) {
            out.push(p.statement()?);
        }
        match p.kind() {
            Kind::Op(";") => p.at += 1,
            Kind::End => return Ok(out),
            _ => return Err(p.expected(&["`;`", "an operator"])),
        }
    }
}

struct Parser<'a> {
    text: &'a str,
    tokens: &'a [Token],
    at: usize,
    depth: usize,
    uses: Vec<Use>,
}

impl Parser<'_> {
    fn token(&self) -> &Token {
        self.tokens.get(self.at).or(self.tokens.last()).unwrap_or(&END)
    }

    fn kind(&self) -> Kind {
        self.token().kind
    }

    fn start(&self) -> usize {
        self.token().range.start
    }

    /// The end of the token before the current one.
    fn end(&self) -> usize {
        self.at
            .checked_sub(1)
            .and_then(|i| self.tokens.get(i))
            .map_or(0, |t| t.range.end)
    }

    fn statement(&mut self) -> Result<Statement, Failure> {
        let start = self.start();
        let is_assign =
            self.kind() == Kind::Name && self.tokens.get(self.at + 1).map(|t| t.kind) == Some(Kind::Op("="));
        let target = if is_assign {
            let range = self.token().range.clone();
            self.at += 2;
            Some(range)
        } else {
            None
        };
        self.expr()?;
        Ok(Statement {
            range: start..self.end(),
            target,
            uses: std::mem::take(&mut self.uses),
        })
    }

    /// `chain { "?" expr ":" chain }`: the else branch loops, so `a ? b : c ? d : ...`
    /// chains do not nest.
    fn expr(&mut self) -> Result<(), Failure> {
        if self.depth > MAX_DEPTH {
            // At the `(`, `[`, `,` or `?` that opened this level.
            let opener = self.at.checked_sub(1).and_then(|i| self.tokens.get(i));
            return Err(Failure::TooDeep(opener.map_or(0, |t| t.range.start)));
        }
        self.depth += 1;
        self.chain()?;
        while self.kind() == Kind::Op("?") {
            self.at += 1;
            self.expr()?;
            self.eat(":", &["`:`", "an operator"])?;
            self.chain()?;
        }
        self.depth -= 1;
        Ok(())
    }

    /// Operands and binary operators. The article gives no precedence, and precedence never
    /// changes what parses, so the chain is read flat.
    fn chain(&mut self) -> Result<(), Failure> {
        self.unary()?;
        while matches!(self.kind(), Kind::Op(op) if BINARY.contains(&op)) {
            self.at += 1;
            self.unary()?;
        }
        Ok(())
    }

    fn unary(&mut self) -> Result<(), Failure> {
        while matches!(self.kind(), Kind::Op("-" | "!")) {
            self.at += 1;
        }
        self.primary()?;
        while self.kind() == Kind::Op(".") {
            self.at += 1;
            let name = self.token().range.clone();
            if self.kind() != Kind::Name || self.text.get(name.clone()).is_some_and(|n| n.starts_with('$')) {
                return Err(self.expected(&["a method or member name"]));
            }
            self.at += 1;
            let args = if self.kind() == Kind::Op("(") {
                Some(self.list(")")?)
            } else {
                None
            };
            let whole = name.start..self.end();
            self.uses.push(Use::Member { name, args, whole });
        }
        Ok(())
    }

    fn primary(&mut self) -> Result<(), Failure> {
        let range = self.token().range.clone();
        match self.kind() {
            Kind::Number | Kind::Str => self.at += 1,
            Kind::Name => {
                self.at += 1;
                let bare = !self.text.get(range.clone()).is_some_and(|n| n.starts_with('$'));
                if bare && self.kind() == Kind::Op("(") {
                    let args = self.list(")")?;
                    let whole = range.start..self.end();
                    self.uses.push(Use::Call {
                        name: range,
                        args,
                        whole,
                    });
                } else {
                    self.uses.push(Use::Read(range));
                }
            }
            Kind::Op("[") => {
                self.list("]")?;
            }
            Kind::Op("(") => {
                self.at += 1;
                self.expr()?;
                self.eat(")", &["`)`", "an operator"])?;
            }
            _ => return Err(self.expected(&["a value"])),
        }
        Ok(())
    }

    /// `( [ expr { "," expr } ] )` or the same in `[ ]`, from the opening bracket; how many
    /// expressions it holds.
    fn list(&mut self, close: &'static str) -> Result<usize, Failure> {
        self.at += 1;
        let mut n = 0;
        if self.kind() == Kind::Op(close) {
            self.at += 1;
            return Ok(n);
        }
        loop {
            self.expr()?;
            n += 1;
            match self.kind() {
                Kind::Op(",") => self.at += 1,
                Kind::Op(c) if c == close => {
                    self.at += 1;
                    return Ok(n);
                }
                _ => {
                    let want = if close == ")" { "`)`" } else { "`]`" };
                    return Err(self.expected(&[want, "`,`", "an operator"]));
                }
            }
        }
    }

    fn eat(&mut self, op: &str, expected: &[&str]) -> Result<(), Failure> {
        if matches!(self.kind(), Kind::Op(o) if o == op) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.expected(expected))
        }
    }

    fn expected(&self, what: &[&str]) -> Failure {
        let token = self.token();
        let found = self.text.get(token.range.clone()).unwrap_or("");
        let shown = if token.kind == Kind::End {
            "the end of the formula".to_string()
        } else {
            format!("`{found}`")
        };
        let message = match what {
            [] => format!("unexpected {shown} in the autoscale formula"),
            [one] => format!("expected {one} in the autoscale formula, found {shown}"),
            [init @ .., last] => format!(
                "expected {} or {last} in the autoscale formula, found {shown}",
                init.join(", ")
            ),
        };
        let help = match (token.kind, found) {
            (Kind::Op("="), _) => "`=` sets a variable at the start of a statement; compare with `==`",
            (Kind::End, _) if what.contains(&"`)`") => "close every `(` with `)`",
            (Kind::Name, _) if what.contains(&"`;`") => {
                "end each statement with `;`: the article warns that missing semicolons make the evaluation fail"
            }
            _ => "write statements as `$name = expression;`: see `batchflow explain BF224` for the language",
        };
        Failure::Syntax(Finding::error(token.range.clone(), message, help))
    }
}

static END: Token = Token {
    kind: Kind::End,
    range: 0..0,
};

#[cfg(test)]
mod tests {
    use super::super::lexer;
    use super::*;

    fn parse(text: &str) -> Vec<Statement> {
        let tokens = lexer::tokens(text).expect("tokens");
        match statements(text, &tokens) {
            Ok(s) => s,
            Err(_) => panic!("{text} does not parse"),
        }
    }

    #[test]
    fn statements_split_on_semicolons_and_empty_ones_are_dropped() {
        let text = "a = 1;; b = max(c, d.GetSample(1)) // c\n;";
        let s = parse(text);
        assert_eq!(s.len(), 2);
        assert_eq!(
            s.get(1).map(|s| &text[s.range.clone()]),
            Some("b = max(c, d.GetSample(1))")
        );
        let uses: Vec<&str> = s
            .get(1)
            .map(|s| &s.uses)
            .into_iter()
            .flatten()
            .map(|u| match u {
                Use::Read(r) | Use::Call { whole: r, .. } | Use::Member { whole: r, .. } => &text[r.clone()],
            })
            .collect();
        assert_eq!(uses, ["c", "d", "GetSample(1)", "max(c, d.GetSample(1))"]);
    }

    #[test]
    fn assignments_need_a_name_then_a_single_equals() {
        assert!(parse("$x = 1").first().is_some_and(|s| s.target.is_some()));
        assert!(parse("$x == 1").first().is_some_and(|s| s.target.is_none()));
        let tokens = lexer::tokens("1 = 2").expect("tokens");
        assert!(matches!(statements("1 = 2", &tokens), Err(Failure::Syntax(_))));
    }
}
