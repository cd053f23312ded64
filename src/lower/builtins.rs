//! The built-in functions: `marketplace`, `managed_image`, `gallery_image`, `secret`, `env`,
//! `rhai`, `files`, `stem` and `basename`. Their arguments arrive evaluated; this matches them
//! to parameters and builds the value.

use super::eval_error::{wrong_type, EvalError, EvalResult};
use super::names::Scopes;
use crate::ast::Ident;
use crate::diagnostics::{Code, Diagnostic};
use crate::graph::Image;
use crate::source::Span;
use crate::suggest::did_you_mean;
use crate::value::{has_secret, secret_placeholder, Value};
use std::sync::Arc;

pub const BUILTINS: &[&str] = &[
    "marketplace",
    "managed_image",
    "gallery_image",
    "secret",
    "env",
    "rhai",
    "files",
    "stem",
    "basename",
];

/// Longest range handed to a hook script (it becomes a Rhai array).
const MAX_RANGE_TO_HOOK: u64 = 1_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Builtin {
    Marketplace,
    ManagedImage,
    GalleryImage,
    Secret,
    Env,
    Rhai,
    Files,
    Stem,
    Basename,
}

impl Builtin {
    fn name(self) -> &'static str {
        match self {
            Builtin::Marketplace => "marketplace",
            Builtin::ManagedImage => "managed_image",
            Builtin::GalleryImage => "gallery_image",
            Builtin::Secret => "secret",
            Builtin::Env => "env",
            Builtin::Rhai => "rhai",
            Builtin::Files => "files",
            Builtin::Stem => "stem",
            Builtin::Basename => "basename",
        }
    }

    fn params(self) -> &'static [&'static str] {
        match self {
            Builtin::Marketplace => &["publisher", "offer", "sku", "version"],
            Builtin::ManagedImage | Builtin::GalleryImage => &["resource_id"],
            Builtin::Secret => &["name"],
            Builtin::Env => &["name", "default"],
            Builtin::Rhai => &[],
            Builtin::Files => &["glob"],
            Builtin::Stem | Builtin::Basename => &["path"],
        }
    }
}

/// One argument of a call, evaluated.
pub struct Evaluated<'a> {
    pub name: Option<&'a Ident>,
    pub value: Value,
    pub span: Span,
}

/// The function a call names (BF002 with "did you mean" for others).
pub fn find(name: &str, span: Span) -> Result<Builtin, EvalError> {
    match name {
        "marketplace" => Ok(Builtin::Marketplace),
        "managed_image" => Ok(Builtin::ManagedImage),
        "gallery_image" => Ok(Builtin::GalleryImage),
        "secret" => Ok(Builtin::Secret),
        "env" => Ok(Builtin::Env),
        "rhai" => Ok(Builtin::Rhai),
        "files" => Ok(Builtin::Files),
        "stem" => Ok(Builtin::Stem),
        "basename" => Ok(Builtin::Basename),
        _ => {
            let help = did_you_mean(name, BUILTINS.iter().copied())
                .unwrap_or_else(|| format!("the functions are {}", BUILTINS.join(", ")));
            Err(Diagnostic::new(Code::BF002, span, format!("unknown function `{name}`"))
                .with_help(help)
                .into())
        }
    }
}

pub fn call(f: Builtin, args: Vec<Evaluated<'_>>, span: Span, scopes: &Scopes<'_>) -> EvalResult {
    if f == Builtin::Rhai {
        return call_rhai(args, span, scopes);
    }
    let name = f.name();
    let params = f.params();
    let values = bind(name, params, args, span)?;
    let text = |i: usize| -> Result<Option<String>, EvalError> {
        match values.get(i) {
            Some(Some((Value::Str(s), sp))) if s.trim().is_empty() && f != Builtin::Env => Err(wrong_type(
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
    match f {
        Builtin::Marketplace => Ok(Value::Image(Arc::new(Image::Marketplace {
            publisher: required(0)?,
            offer: required(1)?,
            sku: required(2)?,
            version: text(3)?.unwrap_or_else(|| "latest".into()),
        }))),
        Builtin::ManagedImage => Ok(Value::Image(Arc::new(Image::Managed {
            resource_id: required(0)?,
        }))),
        Builtin::GalleryImage => Ok(Value::Image(Arc::new(Image::Gallery {
            resource_id: required(0)?,
        }))),
        Builtin::Secret => {
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
        Builtin::Files => super::file_sweep::files(&required(0)?, span, scopes.repo()),
        Builtin::Stem => Ok(Value::str(super::file_sweep::stem(&required(0)?))),
        Builtin::Basename => Ok(Value::str(super::file_sweep::basename(&required(0)?))),
        Builtin::Env | Builtin::Rhai => env(required(0)?, values.get(1).and_then(Option::as_ref), span, scopes),
    }
}

/// `env(NAME, default)`: the value takes the default's type, so `0..env("N", 4)` works whether
/// or not N is set.
fn env(key: String, default: Option<&(Value, Span)>, span: Span, scopes: &Scopes<'_>) -> EvalResult {
    if let Some(v) = scopes.env_var(&key) {
        return match default {
            Some((default, _)) if !matches!(default, Value::Str(_)) => {
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
    match default {
        Some((v, _)) => Ok(v.clone()),
        None => Err(
            Diagnostic::new(Code::BF002, span, format!("environment variable `{key}` is not set"))
                .with_help(format!("set it, or give a default: env(\"{key}\", \"...\")"))
                .into(),
        ),
    }
}

/// Matches positional and named arguments to parameters.
fn bind(
    func: &str,
    params: &[&str],
    args: Vec<Evaluated<'_>>,
    span: Span,
) -> Result<Vec<Option<(Value, Span)>>, EvalError> {
    let mut out: Vec<Option<(Value, Span)>> = vec![None; params.len()];
    for (i, arg) in args.into_iter().enumerate() {
        let slot = match arg.name {
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
                arg.span,
                format!("`{func}` takes at most {} arguments", params.len()),
            )
            .with_label(span, "in this call")
            .with_help(format!("call it as {func}({})", params.join(", ")))
            .into());
        }
        if let Some(cell) = out.get_mut(slot) {
            if cell.is_some() {
                let param = params.get(slot).copied().unwrap_or("");
                return Err(Diagnostic::new(
                    Code::BF003,
                    arg.span,
                    format!("`{func}` gets its `{param}` argument twice"),
                )
                .with_help(format!("call it as {func}({})", params.join(", ")))
                .into());
            }
            *cell = Some((arg.value, arg.span));
        }
    }
    Ok(out)
}

fn call_rhai(args: Vec<Evaluated<'_>>, span: Span, scopes: &Scopes<'_>) -> EvalResult {
    let mut values = Vec::with_capacity(args.len());
    for arg in args {
        if let Some(name) = arg.name {
            return Err(wrong_type(
                name.span,
                "`rhai` passes arguments by position, not by name",
                "write rhai(\"function_name\", value1, value2)",
            ));
        }
        if arg.value.sweep_len().is_some_and(|n| n > MAX_RANGE_TO_HOOK) && matches!(arg.value, Value::Range(..)) {
            return Err(wrong_type(
                arg.span,
                format!("a range of more than {MAX_RANGE_TO_HOOK} numbers cannot be passed to a hook"),
                "pass its bounds instead: rhai(\"f\", start, end)",
            ));
        }
        values.push(arg.value);
    }
    let Some(Value::Str(func)) = values.first().cloned() else {
        return Err(wrong_type(
            span,
            "`rhai` needs the name of a function of the hook script first",
            "call it as rhai(\"function_name\", arg1, arg2, ...)",
        ));
    };
    if scopes.hooks_broken() {
        return Err(EvalError::Reported);
    }
    let Some(hooks) = scopes.hooks() else {
        return Err(Diagnostic::new(Code::BF011, span, format!("`rhai(\"{func}\")` is called but this workflow has no hook script"))
            .with_help("put the script beside the workflow with the same name and `.rhai`, or name it with `hooks = \"file.rhai\"`")
            .into());
    };
    hooks
        .call_value(&func, values.get(1..).unwrap_or(&[]), span)
        .map_err(EvalError::from)
}
