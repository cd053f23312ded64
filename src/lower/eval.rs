//! Evaluates expressions: names (loop variables, lets, params, module members), operators,
//! string interpolation, and calls to the built-in functions (`builtins.rs`).

use super::builtins;
use super::eval_error::{wrong_type, Bindings, EvalError, EvalResult};
use super::names::Scopes;
use crate::ast::{Arg, Expr, ExprKind, Ident, StrPart};
use crate::diagnostics::{Code, Diagnostic};
use crate::source::Span;
use crate::suggest::did_you_mean;
use crate::value::Value;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

/// Deepest evaluation nesting, counting through `let` references.
pub const MAX_EVAL_DEPTH: usize = 400;

/// How deep `let`s may refer to `let`s; deeper chains would exhaust the stack.
const MAX_LET_DEPTH: usize = 256;

#[derive(Clone)]
enum LetState {
    Evaluating,
    Done(Value),
    Failed,
}

/// Evaluates expressions against the scope tables, caching each `let` once.
pub struct Evaluator<'a> {
    pub scopes: Scopes<'a>,
    /// Each `let`'s state, by (unit, name).
    lets: RefCell<HashMap<(usize, String), LetState>>,
    /// The `let`s being evaluated, innermost last, to print a cycle.
    stack: RefCell<Vec<String>>,
    /// Diagnostics of broken `let`s, reported once at their definition.
    let_errors: RefCell<Vec<Diagnostic>>,
    /// How deep evaluation is nested right now, counting through `let` references.
    depth: Cell<usize>,
}

impl<'a> Evaluator<'a> {
    pub fn new(scopes: Scopes<'a>) -> Evaluator<'a> {
        Evaluator {
            scopes,
            lets: RefCell::new(HashMap::new()),
            stack: RefCell::new(Vec::new()),
            let_errors: RefCell::new(Vec::new()),
            depth: Cell::new(0),
        }
    }

    /// Whether `name` means something here (so a bare word is not an enumeration value).
    pub fn is_bound(&self, unit: usize, name: &str, vars: Bindings<'_>) -> bool {
        vars.iter().any(|(n, _)| n == name) || self.scopes.unit(unit).is_some_and(|u| u.is_defined(name))
    }

    pub fn take_let_errors(&self) -> Vec<Diagnostic> {
        std::mem::take(&mut self.let_errors.borrow_mut())
    }

    /// Evaluates every `let` of a unit, so broken ones are reported even when unused.
    pub fn eval_all_lets(&self, unit: usize) {
        let Some(u) = self.scopes.unit(unit) else { return };
        for name in u.lets_in_order() {
            let _ = self.eval_let(unit, name);
        }
    }

    /// The values of a unit's params and of its `let`s that evaluated, by name: what an
    /// editor shows for a name.
    pub fn values(&self, unit: usize) -> Vec<(String, Value)> {
        let Some(u) = self.scopes.unit(unit) else {
            return Vec::new();
        };
        let params = u
            .param_names()
            .filter_map(|n| Some((n.to_string(), u.param(n)?.clone()?)));
        let lets = self.lets.borrow();
        let lets = lets.iter().filter_map(|((i, n), state)| match state {
            LetState::Done(v) if *i == unit => Some((n.clone(), v.clone())),
            _ => None,
        });
        let mut out: Vec<(String, Value)> = params.chain(lets).collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    pub fn eval(&self, unit: usize, expr: &Expr, vars: Bindings<'_>) -> EvalResult {
        // Each file nests at most 64 levels, but `let`s that use `let`s add their depths up:
        // bound the total so evaluation never exhausts the stack.
        let depth = self.depth.get();
        if depth >= MAX_EVAL_DEPTH {
            return Err(Diagnostic::new(
                Code::BF001,
                expr.span,
                format!("this value nests more than {MAX_EVAL_DEPTH} levels deep (counting through `let`s)"),
            )
            .with_help("flatten it: build large values with sweeps or `rhai()` rather than deep nesting")
            .into());
        }
        self.depth.set(depth + 1);
        let result = self.eval_inner(unit, expr, vars);
        self.depth.set(depth);
        result
    }

    fn eval_inner(&self, unit: usize, expr: &Expr, vars: Bindings<'_>) -> EvalResult {
        match &expr.kind {
            ExprKind::Int(i) => Ok(Value::Int(*i)),
            ExprKind::Float(f) => Ok(Value::Float(*f)),
            ExprKind::Bool(b) => Ok(Value::Bool(*b)),
            ExprKind::Duration(d) => Ok(Value::Duration(*d)),
            ExprKind::Str(parts) => self.interpolate(unit, parts, vars),
            ExprKind::List(items) => Ok(Value::List(
                items
                    .iter()
                    .map(|e| self.eval(unit, e, vars))
                    .collect::<Result<Vec<_>, _>>()?
                    .into(),
            )),
            ExprKind::Map(attrs) => {
                let mut out: Vec<(String, Value)> = Vec::with_capacity(attrs.len());
                for attr in attrs {
                    let key = self.key(unit, attr, vars)?;
                    if out.iter().any(|(k, _)| *k == key) {
                        return Err(Diagnostic::new(
                            Code::BF003,
                            attr.key.span,
                            format!("key `{key}` appears twice in this map"),
                        )
                        .with_help("remove one of them")
                        .into());
                    }
                    out.push((key, self.eval(unit, &attr.value, vars)?));
                }
                Ok(Value::Map(out.into()))
            }
            ExprKind::Path(parts) => self.lookup(unit, parts, vars),
            ExprKind::Call { name, args } => self.call(unit, name, args, expr.span, vars),
            ExprKind::Sum(terms) => {
                let mut iter = terms.iter();
                let Some(first) = iter.next() else {
                    return Err(wrong_type(expr.span, "empty sum", "write a value on each side of `+`"));
                };
                let mut acc = self.eval(unit, first, vars)?;
                for term in iter {
                    let rhs = self.eval(unit, term, vars)?;
                    acc = add(acc, rhs, term.span)?;
                }
                Ok(acc)
            }
            ExprKind::Range(start, end) => {
                let a = self.eval(unit, start, vars)?;
                let b = self.eval(unit, end, vars)?;
                match (a, b) {
                    (Value::Int(a), Value::Int(b)) => Ok(Value::Range(a, b)),
                    (a, b) => Err(wrong_type(
                        expr.span,
                        format!(
                            "a range needs two integers, found {} .. {}",
                            a.type_name(),
                            b.type_name()
                        ),
                        "write it like `0..8` or `0..seeds` with an int param",
                    )),
                }
            }
        }
    }

    fn interpolate(&self, unit: usize, parts: &[StrPart], vars: Bindings<'_>) -> EvalResult {
        if let [StrPart::Lit(s)] = parts {
            return Ok(Value::str(s.as_str()));
        }
        let mut out = String::new();
        for part in parts {
            match part {
                StrPart::Lit(s) => out.push_str(s),
                StrPart::Interp(e) => {
                    let v = self.eval(unit, e, vars)?;
                    let text = v.to_text().ok_or_else(|| {
                        wrong_type(
                            e.span,
                            format!("a {} cannot be put inside a string", v.type_name()),
                            "interpolate one element at a time, or sweep over the list",
                        )
                    })?;
                    out.push_str(&text);
                }
            }
        }
        Ok(Value::str(out))
    }

    /// A map key: as written, or its `${...}` filled in.
    pub fn key(&self, unit: usize, attr: &crate::ast::Attr, vars: Bindings<'_>) -> Result<String, EvalError> {
        let Some(e) = &attr.key_expr else {
            return Ok(attr.key.name.clone());
        };
        let v = self.eval(unit, e, vars)?;
        v.to_text().ok_or_else(|| {
            wrong_type(
                e.span,
                format!("a key must be text, found {}", v.type_name()),
                "interpolate a string, number or bool",
            )
        })
    }

    /// A call of a built-in function: its arguments evaluated in order, then the function.
    fn call(&self, unit: usize, name: &Ident, args: &[Arg], span: Span, vars: Bindings<'_>) -> EvalResult {
        let builtin = builtins::find(&name.name, name.span)?;
        if builtin == builtins::Builtin::Files {
            super::file_sweep::literal_globs(args)?;
        }
        let mut values = Vec::with_capacity(args.len());
        for arg in args {
            values.push(builtins::Evaluated {
                name: arg.name.as_ref(),
                value: self.eval(unit, &arg.value, vars)?,
                span: arg.value.span,
            });
        }
        builtins::call(builtin, values, span, &self.scopes)
    }

    /// Resolves `name` or `module.member`.
    fn lookup(&self, unit: usize, parts: &[Ident], vars: Bindings<'_>) -> EvalResult {
        let (Some(first), Some(u)) = (parts.first(), self.scopes.unit(unit)) else {
            return Err(EvalError::Reported);
        };
        let name = first.name.as_str();
        let value = if let Some((_, v)) = vars.iter().find(|(n, _)| n == name) {
            v.clone()
        } else if u.let_def(name).is_some() {
            self.eval_let(unit, name)?
        } else if let Some(v) = u.param(name) {
            v.clone().ok_or(EvalError::Reported)?
        } else if let Some(m) = u.module(name) {
            return self.module_member(m, name, parts);
        } else {
            let evaluating = self.stack.borrow();
            let candidates = vars
                .iter()
                .map(|(n, _)| n.as_str())
                .chain(u.let_names().filter(|n| !evaluating.iter().any(|e| e == n)))
                .chain(u.param_names())
                .chain(u.module_names());
            let help = did_you_mean(name, candidates)
                .or_else(|| environment_variable(name))
                .unwrap_or_else(|| "declare it with `let` or `param`, or import a module".into());
            return Err(
                Diagnostic::new(Code::BF002, first.span, format!("unknown name `{name}`"))
                    .with_help(help)
                    .into(),
            );
        };
        if let Some(member) = parts.get(1) {
            return Err(Diagnostic::new(
                Code::BF006,
                member.span,
                format!(
                    "`{name}` is a {}, it has no member `{}`",
                    value.type_name(),
                    member.name
                ),
            )
            .with_help("only imported modules have members, like `images.ubuntu_hpc_2204`")
            .into());
        }
        Ok(value)
    }

    fn module_member(&self, module: usize, alias: &str, parts: &[Ident]) -> EvalResult {
        let Some(m) = self.scopes.unit(module) else {
            return Err(EvalError::Reported);
        };
        let Some(member) = parts.get(1) else {
            let span = parts.first().map(|p| p.span).unwrap_or_default();
            return Err(
                Diagnostic::new(Code::BF006, span, format!("`{alias}` is a module, not a value"))
                    .with_help(format!("name one of its values, like `{alias}.NAME`"))
                    .into(),
            );
        };
        if m.let_def(&member.name).is_none() {
            let help = did_you_mean(&member.name, m.let_names()).unwrap_or_else(|| {
                let mut names: Vec<&str> = m.let_names().collect();
                names.sort_unstable();
                format!("`{alias}` has {}", names.join(", "))
            });
            return Err(Diagnostic::new(
                Code::BF002,
                member.span,
                format!("module `{alias}` has no value `{}`", member.name),
            )
            .with_help(help)
            .into());
        }
        self.eval_let(module, &member.name)
    }

    fn eval_let(&self, unit: usize, name: &str) -> EvalResult {
        let Some((expr, def_span)) = self.scopes.unit(unit).and_then(|u| u.let_def(name)) else {
            return Err(EvalError::Reported);
        };
        let key = (unit, name.to_string());
        let cached = self.lets.borrow().get(&key).cloned();
        match cached {
            Some(LetState::Done(v)) => return Ok(v),
            Some(LetState::Failed) => return Err(EvalError::Reported),
            Some(LetState::Evaluating) => {
                let stack = self.stack.borrow();
                let from = stack.iter().position(|n| n == name).unwrap_or(0);
                let mut cycle: Vec<&str> = stack.iter().skip(from).map(String::as_str).collect();
                cycle.push(name);
                return Err(Diagnostic::new(
                    Code::BF005,
                    *def_span,
                    format!("`{name}` is defined in terms of itself: {}", cycle.join(" -> ")),
                )
                .with_help("break the cycle: one of these values must not use the others")
                .into());
            }
            None => {}
        }
        if self.stack.borrow().len() >= MAX_LET_DEPTH {
            return Err(Diagnostic::new(
                Code::BF005,
                *def_span,
                format!("`{name}` is defined through a chain of more than {MAX_LET_DEPTH} other `let`s"),
            )
            .with_help("shorten the chain: define values directly rather than through long chains of names")
            .into());
        }
        self.lets.borrow_mut().insert(key.clone(), LetState::Evaluating);
        self.stack.borrow_mut().push(name.to_string());
        let result = self.eval(unit, expr, &[]);
        self.stack.borrow_mut().pop();
        let state = match &result {
            Ok(v) => LetState::Done(v.clone()),
            Err(_) => LetState::Failed,
        };
        self.lets.borrow_mut().insert(key, state);
        match result {
            Ok(v) => Ok(v),
            Err(EvalError::Diag(d)) => {
                self.let_errors.borrow_mut().push(*d);
                Err(EvalError::Reported)
            }
            Err(EvalError::Reported) => Err(EvalError::Reported),
        }
    }
}

/// `a + b`: numbers add, durations add, lists concatenate, and a string joins any scalar.
fn add(a: Value, b: Value, span: Span) -> EvalResult {
    use Value::*;
    Ok(match (a, b) {
        (Int(x), Int(y)) => Int(x
            .checked_add(y)
            .ok_or_else(|| wrong_type(span, "integer overflow in `+`", "use smaller numbers"))?),
        (Float(x), Float(y)) => Float(x + y),
        (Int(x), Float(y)) | (Float(y), Int(x)) => Float(x as f64 + y),
        (Duration(x), Duration(y)) => Duration(
            x.checked_add(y)
                .ok_or_else(|| wrong_type(span, "duration overflow in `+`", "use shorter durations"))?,
        ),
        (List(x), List(y)) => List(x.iter().chain(y.iter()).cloned().collect::<Vec<_>>().into()),
        (a @ Str(_), b) | (a, b @ Str(_)) => match (a.to_text(), b.to_text()) {
            (Some(x), Some(y)) => Value::str(x + y.as_str()),
            _ => {
                return Err(wrong_type(
                    span,
                    format!("cannot join a {} and a {} with `+`", a.type_name(), b.type_name()),
                    "only strings, numbers, bools, durations and images join into a string",
                ))
            }
        },
        (a, b) => {
            return Err(wrong_type(
                span,
                format!("cannot add a {} and a {}", a.type_name(), b.type_name()),
                "`+` adds numbers or durations, joins strings, and concatenates lists",
            ))
        }
    })
}

/// Help for a name shaped like an environment variable (`AZ_BATCH_TASK_DIR`, `HOME`): `${...}`
/// is batchflow's own interpolation, filled in before anything is sent, so the task's variable
/// must reach the node unexpanded.
fn environment_variable(name: &str) -> Option<String> {
    let shaped = name.starts_with(|c: char| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    shaped.then(|| {
        format!(
            "`${{...}}` is batchflow's interpolation, filled in before the command is sent; for the task's environment variable write `${name}` (expanded by a shell on the node, as in `/bin/sh -c '...'`), or `\\${{{name}}}` to send `${{{name}}}` as it is"
        )
    })
}
