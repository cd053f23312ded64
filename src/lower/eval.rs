//! Evaluates expressions: names (loop variables, lets, params, module members), operators,
//! string interpolation and the built-in functions.

use super::names::Names;
use super::value::{has_secret, secret_placeholder, Value};
use crate::ast::{Arg, Expr, ExprKind, StrPart};
use crate::diagnostics::{Code, Diagnostic};
use crate::graph::Image;
use crate::source::Span;
use crate::suggest::did_you_mean;
use std::sync::Arc;

/// A failed evaluation. `Reported` means the cause was already reported elsewhere (a broken
/// `let` is reported once at its definition, not at every use).
#[derive(Debug)]
pub enum EvalError {
    Diag(Box<Diagnostic>),
    Reported,
}

impl From<Diagnostic> for EvalError {
    fn from(d: Diagnostic) -> Self {
        EvalError::Diag(Box::new(d))
    }
}

pub type EvalResult = Result<Value, EvalError>;

/// Loop variables bound while evaluating one sweep instance.
pub type Bindings<'a> = &'a [(String, Value)];

/// Longest range handed to a hook script (it becomes a Rhai array).
const MAX_RANGE_TO_HOOK: u64 = 1_000_000;

/// Deepest evaluation nesting, counting through `let` references.
pub const MAX_EVAL_DEPTH: usize = 400;

pub const BUILTINS: &[&str] = &["marketplace", "managed_image", "gallery_image", "secret", "env", "rhai"];

/// BF006; every type error says how to fix it.
pub fn wrong_type(span: Span, message: impl Into<String>, help: impl Into<String>) -> EvalError {
    EvalError::from(Diagnostic::new(Code::BF006, span, message).with_help(help))
}

impl Names<'_> {
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
                    if out.iter().any(|(k, _)| *k == attr.key.name) {
                        return Err(Diagnostic::new(
                            Code::BF003,
                            attr.key.span,
                            format!("key `{}` appears twice in this map", attr.key.name),
                        )
                        .with_help("remove one of them")
                        .into());
                    }
                    out.push((attr.key.name.clone(), self.eval(unit, &attr.value, vars)?));
                }
                Ok(Value::Map(out.into()))
            }
            ExprKind::Path(parts) => self.lookup(unit, parts, vars),
            ExprKind::Call { name, args } => self.call(unit, &name.name, name.span, args, expr.span, vars),
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

    fn call(
        &self,
        unit: usize,
        name: &str,
        name_span: Span,
        args: &[Arg],
        span: Span,
        vars: Bindings<'_>,
    ) -> EvalResult {
        let params: &[&str] = match name {
            "marketplace" => &["publisher", "offer", "sku", "version"],
            "managed_image" | "gallery_image" => &["resource_id"],
            "secret" => &["name"],
            "env" => &["name", "default"],
            "rhai" => {
                return self.call_rhai(unit, args, span, vars);
            }
            _ => {
                let help = did_you_mean(name, BUILTINS.iter().copied())
                    .unwrap_or_else(|| format!("the functions are {}", BUILTINS.join(", ")));
                return Err(
                    Diagnostic::new(Code::BF002, name_span, format!("unknown function `{name}`"))
                        .with_help(help)
                        .into(),
                );
            }
        };
        let values = self.bind_args(unit, name, params, args, span, vars)?;
        let text = |i: usize| -> Result<Option<String>, EvalError> {
            match values.get(i) {
                Some(Some((Value::Str(s), sp))) if s.trim().is_empty() && name != "env" => Err(wrong_type(
                    *sp,
                    format!("`{name}` takes a non-empty `{}`", params.get(i).copied().unwrap_or("")),
                    format!("call it as {name}({})", params.join(", ")),
                )),
                Some(Some((Value::Str(s), _))) => Ok(Some(s.to_string())),
                Some(Some((v, sp))) => Err(wrong_type(
                    *sp,
                    format!("`{name}` takes a string here, found {}", v.type_name()),
                    format!("call it as {name}({}) with strings", params.join(", ")),
                )),
                _ => Ok(None),
            }
        };
        let required = |i: usize| -> Result<String, EvalError> {
            text(i)?.ok_or_else(|| {
                Diagnostic::new(
                    Code::BF007,
                    span,
                    format!("`{name}` needs its `{}` argument", params.get(i).copied().unwrap_or("")),
                )
                .with_help(format!("call it as {name}({})", params.join(", ")))
                .into()
            })
        };
        match name {
            "marketplace" => Ok(Value::Image(Arc::new(Image::Marketplace {
                publisher: required(0)?,
                offer: required(1)?,
                sku: required(2)?,
                version: text(3)?.unwrap_or_else(|| "latest".into()),
            }))),
            "managed_image" => Ok(Value::Image(Arc::new(Image::Managed {
                resource_id: required(0)?,
            }))),
            "gallery_image" => Ok(Value::Image(Arc::new(Image::Gallery {
                resource_id: required(0)?,
            }))),
            "secret" => {
                let key = required(0)?;
                if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || has_secret(&key) {
                    return Err(wrong_type(
                        span,
                        format!("`{key}` is not a valid secret name"),
                        "secret names are environment variable names: letters, digits and `_`",
                    ));
                }
                Ok(Value::str(secret_placeholder(&key)))
            }
            _ => {
                // env(NAME, default): the value takes the default's type, so `0..env("N", 4)`
                // works whether or not N is set.
                let key = required(0)?;
                if let Some(v) = self.env_var(&key) {
                    return match values.get(1) {
                        Some(Some((default, _))) if !matches!(default, Value::Str(_)) => {
                            let ty = super::params::type_of(default).ok_or_else(|| {
                                wrong_type(
                                    span,
                                    format!("`env` defaults must be scalars, found {}", default.type_name()),
                                    "give a string, number, bool or duration as the default",
                                )
                            })?;
                            super::params::parse_override(&v, &ty).map_err(|why| {
                                EvalError::from(
                                    Diagnostic::new(Code::BF006, span, format!("environment variable `{key}`: {why}"))
                                        .with_help(format!("set `{key}` to {}, like the default", default.type_name())),
                                )
                            })
                        }
                        _ => Ok(Value::str(v)),
                    };
                }
                match values.get(1) {
                    Some(Some((v, _))) => Ok(v.clone()),
                    _ => Err(
                        Diagnostic::new(Code::BF002, span, format!("environment variable `{key}` is not set"))
                            .with_help(format!("set it, or give a default: env(\"{key}\", \"...\")"))
                            .into(),
                    ),
                }
            }
        }
    }

    /// Matches positional and named arguments to parameters, evaluating each.
    fn bind_args(
        &self,
        unit: usize,
        func: &str,
        params: &[&str],
        args: &[Arg],
        span: Span,
        vars: Bindings<'_>,
    ) -> Result<Vec<Option<(Value, Span)>>, EvalError> {
        let mut out: Vec<Option<(Value, Span)>> = vec![None; params.len()];
        for (i, arg) in args.iter().enumerate() {
            let slot = match &arg.name {
                Some(n) => params.iter().position(|p| *p == n.name).ok_or_else(|| {
                    let help = did_you_mean(&n.name, params.iter().copied())
                        .unwrap_or_else(|| format!("`{func}` takes {}", params.join(", ")));
                    EvalError::from(
                        Diagnostic::new(Code::BF008, n.span, format!("`{func}` has no argument `{}`", n.name))
                            .with_help(help),
                    )
                })?,
                None => i,
            };
            if slot >= params.len() {
                return Err(Diagnostic::new(
                    Code::BF006,
                    arg.value.span,
                    format!("`{func}` takes at most {} arguments", params.len()),
                )
                .with_label(span, "in this call")
                .with_help(format!("call it as {func}({})", params.join(", ")))
                .into());
            }
            let value = self.eval(unit, &arg.value, vars)?;
            if let Some(cell) = out.get_mut(slot) {
                if cell.is_some() {
                    let param = params.get(slot).copied().unwrap_or("");
                    return Err(Diagnostic::new(
                        Code::BF003,
                        arg.value.span,
                        format!("`{func}` gets its `{param}` argument twice"),
                    )
                    .with_help(format!("call it as {func}({})", params.join(", ")))
                    .into());
                }
                *cell = Some((value, arg.value.span));
            }
        }
        Ok(out)
    }

    fn call_rhai(&self, unit: usize, args: &[Arg], span: Span, vars: Bindings<'_>) -> EvalResult {
        let mut values = Vec::with_capacity(args.len());
        for arg in args {
            if let Some(name) = &arg.name {
                return Err(wrong_type(
                    name.span,
                    "`rhai` passes arguments by position, not by name",
                    "write rhai(\"function_name\", value1, value2)",
                ));
            }
            let v = self.eval(unit, &arg.value, vars)?;
            if v.sweep_len().is_some_and(|n| n > MAX_RANGE_TO_HOOK) && matches!(v, Value::Range(..)) {
                return Err(wrong_type(
                    arg.value.span,
                    format!("a range of more than {MAX_RANGE_TO_HOOK} numbers cannot be passed to a hook"),
                    "pass its bounds instead: rhai(\"f\", start, end)",
                ));
            }
            values.push(v);
        }
        let Some(Value::Str(func)) = values.first().cloned() else {
            return Err(wrong_type(
                span,
                "`rhai` needs the name of a function of the hook script first",
                "call it as rhai(\"function_name\", arg1, arg2, ...)",
            ));
        };
        if self.hooks_broken() {
            return Err(EvalError::Reported);
        }
        let Some(hooks) = self.hooks() else {
            return Err(Diagnostic::new(Code::BF011, span, format!("`rhai(\"{func}\")` is called but this workflow has no hook script"))
                .with_help("put the script beside the workflow with the same name and `.rhai`, or name it with `hooks = \"file.rhai\"`")
                .into());
        };
        hooks
            .call_value(&func, values.get(1..).unwrap_or(&[]), span)
            .map_err(EvalError::from)
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
