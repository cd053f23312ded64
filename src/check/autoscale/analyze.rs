//! The names in a parsed formula, statement by statement as Batch evaluates them: variables
//! read before they are set, read-only variables assigned, unknown functions, methods and
//! members, argument counts the article fixes, and a formula that never sizes the pool.

use super::language::{self, Callable, CONSTANTS, MEMBERS, METHODS, READ_ONLY, READ_WRITE, TARGETS};
use super::parser::{Statement, Use};
use super::{Finding, MAX_STATEMENTS};
use crate::suggest::did_you_mean;
use std::collections::HashSet;
use std::ops::Range;

pub fn statements(formula: &str, statements: &[Statement]) -> Vec<Finding> {
    let mut w = Walk {
        formula,
        out: Vec::new(),
        set: HashSet::new(),
        set_later: statements
            .iter()
            .filter_map(|s| s.target.as_ref())
            .map(|t| user_key(formula.get(t.clone()).unwrap_or("")).to_string())
            .collect(),
        user_set: Vec::new(),
        sizes_pool: false,
    };
    if let Some(extra) = statements.get(MAX_STATEMENTS) {
        w.out.push(Finding::error(
            extra.range.clone(),
            format!(
                "the autoscale formula has {} statements, more than {MAX_STATEMENTS}",
                statements.len()
            ),
            "Batch takes at most 100 statements: fold some together with `? :` or `max`/`min`",
        ));
    }
    for s in statements {
        for u in &s.uses {
            match u {
                Use::Read(name) => w.read(name),
                Use::Call { name, args, whole } => w.call(name, *args, whole),
                Use::Member { name, args, whole } => w.member(name, *args, whole),
            }
        }
        if let Some(t) = &s.target {
            w.assign(t);
        }
    }
    if !w.sizes_pool {
        w.out.push(never_sized(formula, statements, &w.user_set));
    }
    w.out
}

struct Walk<'a> {
    formula: &'a str,
    out: Vec<Finding>,
    /// User variables set so far, without `$` ("the dollar sign is optional").
    set: HashSet<String>,
    /// User variables any statement sets.
    set_later: HashSet<String>,
    /// User variables as written where they are set, for "did you mean".
    user_set: Vec<(String, Range<usize>)>,
    sizes_pool: bool,
}

impl<'a> Walk<'a> {
    fn text(&self, range: &Range<usize>) -> &'a str {
        self.formula.get(range.clone()).unwrap_or("")
    }

    fn read(&mut self, name: &Range<usize>) {
        let text = self.text(name);
        if language::is_service(text) || CONSTANTS.contains(&text) || self.set.contains(user_key(text)) {
            return;
        }
        if self.set_later.contains(user_key(text)) {
            self.out.push(Finding::error(
                name.clone(),
                format!("`{text}` is read before the statement that sets it"),
                "Batch runs the statements in order: set it in an earlier statement",
            ));
            return;
        }
        let dollar = text.starts_with('$');
        let known = self.known(dollar);
        let help = did_you_mean(text, known.iter().map(String::as_str)).unwrap_or_else(|| {
            if dollar {
                "it is neither one of Batch's variables (`batchflow explain BF224` lists them) nor set by an earlier statement".into()
            } else {
                "set it in an earlier statement; Batch's own variables start with `$`".into()
            }
        });
        let what = if dollar { "variable" } else { "name" };
        self.out.push(Finding::error(
            name.clone(),
            format!("unknown {what} `{text}` in the autoscale formula"),
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

    fn assign(&mut self, target: &Range<usize>) {
        let text = self.text(target);
        if READ_ONLY.contains(&text) {
            self.out.push(Finding::error(
                target.clone(),
                format!("`{text}` is read-only: Batch sets it"),
                "assign to a variable of your own (`$pending = ...`) or to `$TargetDedicatedNodes`, `$TargetLowPriorityNodes` or `$NodeDeallocationOption`",
            ));
        } else if CONSTANTS.contains(&text) {
            self.out.push(Finding::error(
                target.clone(),
                format!("`{text}` is one of Batch's constants and cannot be set"),
                "give your variable another name",
            ));
        } else if TARGETS.contains(&text) {
            self.sizes_pool = true;
        } else if !READ_WRITE.contains(&text) {
            self.set.insert(user_key(text).to_string());
            self.user_set.push((text.to_string(), target.clone()));
        }
    }

    fn call(&mut self, name: &Range<usize>, args: usize, whole: &Range<usize>) {
        let text = self.text(name);
        if let Some(f) = language::function(text) {
            return self.arity(f, args, whole);
        }
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
            name.clone(),
            format!("unknown function `{text}` in the autoscale formula"),
            help,
        ));
    }

    /// `.hour` on a timestamp, `.GetSample(...)` on a variable.
    fn member(&mut self, name: &Range<usize>, args: Option<usize>, whole: &Range<usize>) {
        let text = self.text(name);
        let finding = match (args, language::method(text)) {
            (Some(n), Some(m)) => return self.arity(m, n, whole),
            (None, _) if MEMBERS.contains(&text) => return,
            (None, Some(_)) => Finding::error(
                name.clone(),
                format!("`{text}` is a method: call it with `{text}()`"),
                format!("write `.{text}()`"),
            ),
            (Some(_), None) if MEMBERS.contains(&text) => Finding::error(
                name.clone(),
                format!("`{text}` is a member of a timestamp, not a method"),
                format!("write `.{text}` without parentheses, as in `time().{text}`"),
            ),
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
                Finding::error(
                    name.clone(),
                    format!("unknown {what} `{text}` in the autoscale formula"),
                    help,
                )
            }
        };
        self.out.push(finding);
    }

    fn arity(&mut self, callable: &Callable, n: usize, at: &Range<usize>) {
        let Some((min, max)) = callable.arity else {
            return;
        };
        if (min..=max).contains(&n) {
            return;
        }
        let takes = match (min, max) {
            (0, 0) => "no arguments".to_string(),
            (a, b) if a == b => format!("{a} argument{}", if a == 1 { "" } else { "s" }),
            (a, b) => format!("{a} to {b} arguments"),
        };
        self.out.push(Finding::error(
            at.clone(),
            format!("`{}` takes {takes}, found {n}", callable.name),
            format!("Batch's article gives it as `{}`", callable.signature),
        ));
    }
}

/// A user variable's identity: `$x` and `x` may name the same variable.
fn user_key(name: &str) -> &str {
    name.strip_prefix('$').unwrap_or(name)
}

fn never_sized(formula: &str, statements: &[Statement], user_set: &[(String, Range<usize>)]) -> Finding {
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
        (Some(first), Some(last)) => first.range.start..last.range.end,
        _ => 0..formula.len(),
    };
    Finding::warning(
        whole,
        message,
        "the pool would never change size: assign the node count you want, e.g. `$TargetDedicatedNodes = min(10, $CurrentDedicatedNodes + 1);`",
    )
}

fn names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    names.map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}
