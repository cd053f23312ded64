//! `param NAME: TYPE = default` and `--param NAME=VALUE` overrides (BF010).

use super::Lowerer;
use crate::ast::{self, Item, TypeExpr};
use crate::diagnostics::{Code, Diagnostic};
use crate::source::Span;
use crate::suggest::did_you_mean;
use crate::value::Value;
use std::sync::Arc;

/// Longest list a range may become when a `list<int>` param takes one.
const MAX_RANGE_AS_LIST: u64 = 1_000_000;

pub(super) fn lower_all(lw: &mut Lowerer<'_>, params: &[&Item], overrides: &[(String, String)], file: &ast::File) {
    let declared: Vec<&str> = params
        .iter()
        .filter_map(|p| match p {
            Item::Param { name, .. } => Some(name.name.as_str()),
            _ => None,
        })
        .collect();
    let file_start = file.items.first().map_or(Span::new(lw.src, 0, 0), item_span);
    for (key, _) in overrides {
        if !declared.contains(&key.as_str()) {
            let help = did_you_mean(key, declared.iter().copied()).unwrap_or_else(|| {
                if declared.is_empty() {
                    "this workflow declares no params".into()
                } else {
                    format!("this workflow's params are {}", declared.join(", "))
                }
            });
            lw.sink.push(
                Diagnostic::new(
                    Code::BF010,
                    file_start,
                    format!("`--param {key}=...` names no param of this workflow"),
                )
                .with_help(help),
            );
        }
    }
    for item in params {
        let Item::Param {
            name,
            ty,
            default,
            span,
        } = item
        else {
            continue;
        };
        // The last override of a name wins, as with most command lines.
        let given = overrides.iter().rev().find(|(k, _)| *k == name.name).map(|(_, v)| v);
        let value = match given {
            Some(text) => match parse_override(text, ty) {
                Ok(v) => Some(v),
                Err(why) => {
                    lw.sink.push(
                        Diagnostic::new(Code::BF010, name.span, format!("`--param {}={text}`: {why}", name.name))
                            .with_label(*span, format!("declared as {ty} here"))
                            .with_help(format!("give {}, e.g. {}", article(ty), example(ty))),
                    );
                    None
                }
            },
            None => match default {
                Some(expr) => lw.eval(expr, &[]).and_then(|v| match conform(v, ty) {
                    Ok(v) => Some(v),
                    Err(why) => {
                        lw.sink.push(
                            Diagnostic::new(Code::BF006, expr.span, format!("the default of `{}` {why}", name.name))
                                .with_help(format!("give {}, e.g. {}", article(ty), example(ty))),
                        );
                        None
                    }
                }),
                None => {
                    lw.sink.push(
                        Diagnostic::new(
                            Code::BF007,
                            name.span,
                            format!("param `{}` has no default and no value", name.name),
                        )
                        .with_help(format!(
                            "pass `--param {}=...` or declare a default: param {}: {ty} = {}",
                            name.name,
                            name.name,
                            example(ty)
                        )),
                    );
                    None
                }
            },
        };
        let unit = lw.unit;
        let Some(u) = lw.names.scopes.unit_mut(unit) else {
            continue;
        };
        if u.is_defined(&name.name) {
            lw.sink.push(
                Diagnostic::new(Code::BF003, name.span, format!("`{}` is defined twice", name.name))
                    .with_help("give each `let`, `param` and import its own name"),
            );
            continue;
        }
        // A broken param still gets a name, so its uses do not report "unknown name".
        u.add_param(&name.name, value);
    }
}

fn item_span(item: &Item) -> Span {
    match item {
        Item::Workflow(e) | Item::Hooks(e) => e.span,
        Item::Import { span, .. } | Item::Param { span, .. } | Item::Let { span, .. } => *span,
        Item::Resource { span, .. } | Item::Job { span, .. } | Item::Storage { span, .. } => *span,
    }
}

/// `an int`, `a float`, `a list<int>`.
fn article(ty: &TypeExpr) -> String {
    match ty {
        TypeExpr::Int => format!("an {ty}"),
        _ => format!("a {ty}"),
    }
}

fn example(ty: &TypeExpr) -> String {
    match ty {
        TypeExpr::Int => "8".into(),
        TypeExpr::Float => "0.5".into(),
        TypeExpr::String => "\"text\"".into(),
        TypeExpr::Bool => "true".into(),
        TypeExpr::Duration => "30m".into(),
        TypeExpr::List(inner) => format!("[{}, {}]", example(inner), example(inner)),
    }
}

/// Checks (and widens int to float) a value against a declared type.
pub fn conform(v: Value, ty: &TypeExpr) -> Result<Value, String> {
    match (ty, v) {
        (TypeExpr::Int, v @ Value::Int(_))
        | (TypeExpr::Float, v @ Value::Float(_))
        | (TypeExpr::String, v @ Value::Str(_))
        | (TypeExpr::Bool, v @ Value::Bool(_))
        | (TypeExpr::Duration, v @ Value::Duration(_)) => Ok(v),
        (TypeExpr::Float, Value::Int(i)) => Ok(Value::Float(i as f64)),
        (TypeExpr::List(inner), Value::List(items)) => Ok(Value::List(
            items
                .iter()
                .map(|i| conform(i.clone(), inner))
                .collect::<Result<Vec<_>, _>>()?
                .into(),
        )),
        (TypeExpr::List(inner), r @ Value::Range(_, _)) if **inner == TypeExpr::Int => {
            let n = r.sweep_len().unwrap_or(0);
            if n > MAX_RANGE_AS_LIST {
                return Err(format!(
                    "is a range of {n} numbers, more than a list may hold ({MAX_RANGE_AS_LIST})"
                ));
            }
            Ok(Value::List(
                (0..n).filter_map(|i| r.sweep_item(i)).collect::<Vec<_>>().into(),
            ))
        }
        (ty, v) => Err(format!("is a {}, not {}", v.type_name(), article(ty))),
    }
}

/// The declared type a scalar value has (`env()` defaults).
pub fn type_of(v: &Value) -> Option<TypeExpr> {
    Some(match v {
        Value::Int(_) => TypeExpr::Int,
        Value::Float(_) => TypeExpr::Float,
        Value::Bool(_) => TypeExpr::Bool,
        Value::Str(_) => TypeExpr::String,
        Value::Duration(_) => TypeExpr::Duration,
        _ => return None,
    })
}

/// Parses command-line text as a value of the param's type.
pub fn parse_override(text: &str, ty: &TypeExpr) -> Result<Value, String> {
    let t = text.trim();
    if t.is_empty() && *ty != TypeExpr::String {
        return Err(format!("an empty value is not {}", article(ty)));
    }
    match ty {
        TypeExpr::Int => t.parse().map(Value::Int).map_err(|_| format!("`{t}` is not an int")),
        TypeExpr::Float => t
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(Value::Float)
            .ok_or_else(|| format!("`{t}` is not a float")),
        TypeExpr::Bool => match t {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(format!("`{t}` is not `true` or `false`")),
        },
        TypeExpr::String => Ok(Value::str(text)),
        TypeExpr::Duration => crate::syntax::duration_seconds(t)
            .map(Value::Duration)
            .ok_or_else(|| format!("`{t}` is not a duration")),
        TypeExpr::List(inner) => {
            let body = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')).unwrap_or(t);
            if body.trim().is_empty() {
                return Ok(Value::List(Arc::from(Vec::new())));
            }
            let items = body
                .split(',')
                .map(|part| parse_override(part.trim().trim_matches('"'), inner))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Value::List(items.into()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_parse_by_type() {
        assert_eq!(parse_override("16", &TypeExpr::Int), Ok(Value::Int(16)));
        assert!(parse_override("abc", &TypeExpr::Int).is_err());
        assert_eq!(parse_override("1h30m", &TypeExpr::Duration), Ok(Value::Duration(5_400)));
        assert!(parse_override("90", &TypeExpr::Duration).is_err());
        let list = parse_override("[0.1, 0.2]", &TypeExpr::List(Box::new(TypeExpr::Float))).expect("list");
        assert_eq!(list, Value::List(vec![Value::Float(0.1), Value::Float(0.2)].into()));
        let bare = parse_override("a,b", &TypeExpr::List(Box::new(TypeExpr::String))).expect("list");
        assert_eq!(bare, Value::List(vec![Value::str("a"), Value::str("b")].into()));
    }

    #[test]
    fn ints_widen_to_floats_but_not_back() {
        assert_eq!(conform(Value::Int(2), &TypeExpr::Float), Ok(Value::Float(2.0)));
        assert!(conform(Value::Float(2.0), &TypeExpr::Int).is_err());
    }
}
