//! The names in a parsed formula, statement by statement as Batch evaluates them: variables
//! read before they are set, read-only variables assigned, unknown functions, methods and
//! members, argument counts the article fixes, and a formula that never sizes the pool.

use super::grammar::Rule;
use super::language::{self, Callable, CONSTANTS, MEMBERS, METHODS, READ_ONLY, READ_WRITE, TARGETS};
use super::{Finding, MAX_STATEMENTS};
use crate::suggest::did_you_mean;
use pest::iterators::Pair;
use std::collections::HashSet;
use std::ops::Range;

pub fn statements(formula: &str, statements: &[Pair<'_, Rule>]) -> Vec<Finding> {
    let mut w = Walk {
        set_later: statements
            .iter()
            .filter_map(target)
            .map(|t| user_key(t.as_str()).to_string())
            .collect(),
        ..Walk::default()
    };
    if let Some(extra) = statements.get(MAX_STATEMENTS) {
        w.out.push(Finding::error(
            range(extra),
            format!(
                "the autoscale formula has {} statements, more than {MAX_STATEMENTS}",
                statements.len()
            ),
            "Batch takes at most 100 statements: fold some together with `? :` or `max`/`min`",
        ));
    }
    for s in statements {
        w.statement(s);
    }
    if !w.sizes_pool {
        w.out.push(never_sized(formula, statements, &w.user_set));
    }
    w.out
}

#[derive(Default)]
struct Walk {
    out: Vec<Finding>,
    /// User variables set so far, without `$` ("the dollar sign is optional").
    set: HashSet<String>,
    /// User variables any statement sets.
    set_later: HashSet<String>,
    /// User variables as written where they are set, for "did you mean".
    user_set: Vec<(String, Range<usize>)>,
    sizes_pool: bool,
}

impl Walk {
    fn statement(&mut self, statement: &Pair<'_, Rule>) {
        let Some(body) = statement.clone().into_inner().next() else {
            return;
        };
        let (target, expr) = if body.as_rule() == Rule::assign {
            let mut parts = body.into_inner();
            (parts.next(), parts.nth(1))
        } else {
            (None, Some(body))
        };
        for p in expr.into_iter().flat_map(|e| e.into_inner().flatten()) {
            match p.as_rule() {
                Rule::name => self.read(&p),
                Rule::call => self.call(&p),
                Rule::member => self.member(&p),
                _ => {}
            }
        }
        if let Some(t) = target {
            self.assign(&t);
        }
    }

    fn read(&mut self, name: &Pair<'_, Rule>) {
        let text = name.as_str();
        if language::is_service(text) || CONSTANTS.contains(&text) || self.set.contains(user_key(text)) {
            return;
        }
        if self.set_later.contains(user_key(text)) {
            self.out.push(Finding::error(
                range(name),
                format!("`{text}` is read before the statement that sets it"),
                "Batch runs the statements in order: set it in an earlier statement",
            ));
            return;
        }
        let known = self.known(text.starts_with('$'));
        let help = did_you_mean(text, known.iter().map(String::as_str)).unwrap_or_else(|| {
            if text.starts_with('$') {
                "it is neither one of Batch's variables (`batchflow explain BF224` lists them) nor set by an earlier statement".into()
            } else {
                "set it in an earlier statement; Batch's own variables start with `$`".into()
            }
        });
        self.out.push(Finding::error(
            range(name),
            format!("unknown variable `{text}` in the autoscale formula"),
            help,
        ));
    }

    /// Names a read could have meant.
    fn known(&self, dollar: bool) -> Vec<String> {
        let prefix = if dollar { "$" } else { "" };
        let mut names: Vec<String> = READ_ONLY.iter().chain(READ_WRITE).map(|s| s.to_string()).collect();
        names.extend(self.set.iter().map(|v| format!("{prefix}{v}")));
        if !dollar {
            names.extend(CONSTANTS.iter().map(|s| s.to_string()));
        }
        names
    }

    fn assign(&mut self, target: &Pair<'_, Rule>) {
        let text = target.as_str();
        if READ_ONLY.contains(&text) {
            self.out.push(Finding::error(
                range(target),
                format!("`{text}` is read-only: Batch sets it"),
                "assign to a variable of your own (`$pending = ...`) or to `$TargetDedicatedNodes`, `$TargetLowPriorityNodes` or `$NodeDeallocationOption`",
            ));
        } else if CONSTANTS.contains(&text) {
            self.out.push(Finding::error(
                range(target),
                format!("`{text}` is one of Batch's constants and cannot be set"),
                "give your variable another name",
            ));
        } else if TARGETS.contains(&text) {
            self.sizes_pool = true;
        } else if !READ_WRITE.contains(&text) {
            self.set.insert(user_key(text).to_string());
            self.user_set.push((text.to_string(), range(target)));
        }
    }

    fn call(&mut self, call: &Pair<'_, Rule>) {
        let mut inner = call.clone().into_inner();
        let (Some(name), Some(args)) = (inner.next(), inner.next()) else {
            return;
        };
        let text = name.as_str();
        match language::function(text) {
            Some(f) => self.arity(f, &args, range(call)),
            None => {
                let help = if language::method(text).is_some() {
                    format!("`{text}` is a method of Batch's variables: write `$PendingTasks.{text}(...)`")
                } else {
                    did_you_mean(text, language::FUNCTIONS.iter().map(|f| f.name)).unwrap_or_else(|| {
                        format!(
                            "the functions are {}",
                            names(language::FUNCTIONS.iter().map(|f| f.name))
                        )
                    })
                };
                self.out.push(Finding::error(
                    range(&name),
                    format!("unknown function `{text}` in the autoscale formula"),
                    help,
                ));
            }
        }
    }

    /// `.hour` on a timestamp, `.GetSample(...)` on a variable.
    fn member(&mut self, member: &Pair<'_, Rule>) {
        let mut inner = member.clone().into_inner();
        let Some(name) = inner.next() else {
            return;
        };
        let text = name.as_str();
        match (inner.next(), language::method(text)) {
            (Some(args), Some(m)) => self.arity(m, &args, name.as_span().start()..member.as_span().end()),
            (None, _) if MEMBERS.contains(&text) => {}
            (None, Some(_)) => self.out.push(Finding::error(
                range(&name),
                format!("`{text}` is a method: call it with `{text}()`"),
                format!("write `.{text}()`"),
            )),
            (Some(_), None) if MEMBERS.contains(&text) => self.out.push(Finding::error(
                range(&name),
                format!("`{text}` is a member of a timestamp, not a method"),
                format!("write `.{text}` without parentheses, as in `time().{text}`"),
            )),
            (args, None) => {
                let what = if args.is_some() { "method" } else { "member" };
                let candidates = METHODS.iter().map(|m| m.name).chain(MEMBERS.iter().copied());
                let help = did_you_mean(text, candidates).unwrap_or_else(|| {
                    format!(
                        "the methods are {}; a timestamp's members are {}",
                        names(METHODS.iter().map(|m| m.name)),
                        names(MEMBERS.iter().copied())
                    )
                });
                self.out.push(Finding::error(
                    range(&name),
                    format!("unknown {what} `{text}` in the autoscale formula"),
                    help,
                ));
            }
        }
    }

    fn arity(&mut self, callable: &Callable, args: &Pair<'_, Rule>, at: Range<usize>) {
        let Some((min, max)) = callable.arity else {
            return;
        };
        let n = args.clone().into_inner().filter(|a| a.as_rule() == Rule::expr).count();
        if (min..=max).contains(&n) {
            return;
        }
        let takes = match (min, max) {
            (0, 0) => "no arguments".to_string(),
            (a, b) if a == b => format!("{a} argument{}", if a == 1 { "" } else { "s" }),
            (a, b) => format!("{a} to {b} arguments"),
        };
        self.out.push(Finding::error(
            at,
            format!("`{}` takes {takes}, found {n}", callable.name),
            format!("Batch's article gives it as `{}`", callable.signature),
        ));
    }
}

/// The variable a statement sets, if it is an assignment.
fn target<'i>(statement: &Pair<'i, Rule>) -> Option<Pair<'i, Rule>> {
    let body = statement.clone().into_inner().next()?;
    if body.as_rule() != Rule::assign {
        return None;
    }
    body.into_inner().next()
}

/// A user variable's identity: `$x` and `x` may name the same variable.
fn user_key(name: &str) -> &str {
    name.strip_prefix('$').unwrap_or(name)
}

fn never_sized(formula: &str, statements: &[Pair<'_, Rule>], user_set: &[(String, Range<usize>)]) -> Finding {
    let message = "the autoscale formula never sets `$TargetDedicatedNodes` or `$TargetLowPriorityNodes`";
    let near_miss = user_set
        .iter()
        .find_map(|(name, at)| Some((did_you_mean(name, TARGETS.iter().copied())?, at)));
    if let Some((suggestion, at)) = near_miss {
        return Finding::warning(
            at.clone(),
            message,
            format!("this sets a variable of your own, so the pool never changes size: {suggestion}"),
        );
    }
    let whole = match (statements.first(), statements.last()) {
        (Some(first), Some(last)) => first.as_span().start()..last.as_span().end(),
        _ => 0..formula.len(),
    };
    Finding::warning(
        whole,
        message,
        "the pool would never change size: assign the node count you want, e.g. `$TargetDedicatedNodes = min(10, $CurrentDedicatedNodes + 1);`",
    )
}

fn range(pair: &Pair<'_, Rule>) -> Range<usize> {
    let span = pair.as_span();
    span.start()..span.end()
}

fn names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names.map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}
