//! Converting evaluated values into the types attributes take; a mismatch is BF006 with a
//! message that names the attribute and shows a correct example.

use crate::diagnostics::{Code, Diagnostic};
use crate::graph::{Elevation, Image, Scope};
use crate::source::{Span, Spanned};
use crate::suggest::did_you_mean;
use crate::value::{format_float, Value};
use std::sync::Arc;

pub type Typed<T> = Result<T, Box<Diagnostic>>;

fn mismatch(attr: &str, want: &str, v: &Value, span: Span, example: &str) -> Box<Diagnostic> {
    let found = match v {
        Value::Str(s) if s.len() <= 40 => format!("string \"{s}\""),
        Value::Int(i) => format!("int {i}"),
        Value::Float(f) => format!("float {}", format_float(*f)),
        other => other.type_name().to_string(),
    };
    Box::new(
        Diagnostic::new(Code::BF006, span, format!("`{attr}` must be {want}, found {found}"))
            .with_help(format!("write it like `{attr} = {example}`")),
    )
}

pub fn string(attr: &str, v: &Value, span: Span) -> Typed<Arc<str>> {
    match v {
        Value::Str(s) => Ok(Arc::clone(s)),
        other => Err(mismatch(attr, "a string", other, span, "\"...\"")),
    }
}

/// A whole number from 0 to 4,294,967,295 (node counts, slots).
pub fn count(attr: &str, v: &Value, span: Span) -> Typed<u32> {
    match v {
        Value::Int(i) if *i < 0 => Err(Box::new(
            Diagnostic::new(Code::BF006, span, format!("`{attr}` cannot be negative, found {i}"))
                .with_help(format!("write a count of 0 or more, like `{attr} = 2`")),
        )),
        Value::Int(i) => u32::try_from(*i).map_err(|_| {
            Box::new(
                Diagnostic::new(Code::BF006, span, format!("`{attr}` is too large: {i}"))
                    .with_help("counts must fit in 32 bits"),
            )
        }),
        other => Err(mismatch(attr, "a whole number", other, span, "2")),
    }
}

pub fn int(attr: &str, v: &Value, span: Span) -> Typed<i64> {
    match v {
        Value::Int(i) => Ok(*i),
        other => Err(mismatch(attr, "a whole number", other, span, "0")),
    }
}

/// Retry counts: a whole number, `-1` for unlimited as in Batch.
pub fn retries(attr: &str, v: &Value, span: Span) -> Typed<i64> {
    match v {
        Value::Int(i) if *i < -1 => Err(Box::new(
            Diagnostic::new(Code::BF006, span, format!("`{attr}` cannot be {i}"))
                .with_help("write 0 or more retries, or -1 for unlimited"),
        )),
        other => int(attr, other, span),
    }
}

pub fn boolean(attr: &str, v: &Value, span: Span) -> Typed<bool> {
    match v {
        Value::Bool(b) => Ok(*b),
        other => Err(mismatch(attr, "`true` or `false`", other, span, "true")),
    }
}

/// Seconds; a bare number is not accepted, so units are never guessed.
pub fn duration(attr: &str, v: &Value, span: Span) -> Typed<u64> {
    match v {
        Value::Duration(d) => Ok(*d),
        other => Err(mismatch(attr, "a duration", other, span, "30m")),
    }
}

/// An image: a `marketplace(...)`/`managed_image(...)`/`gallery_image(...)` value, or a
/// string in the Azure CLI's forms `publisher:offer:sku[:version]` or a resource id.
pub fn image(attr: &str, v: &Value, span: Span) -> Typed<Image> {
    match v {
        Value::Image(img) => Ok((**img).clone()),
        Value::Str(s) if s.starts_with("/subscriptions/") => {
            let resource_id = s.to_string();
            if s.to_ascii_lowercase().contains("/galleries/") {
                Ok(Image::Gallery { resource_id })
            } else {
                Ok(Image::Managed { resource_id })
            }
        }
        Value::Str(s) => {
            let parts: Vec<&str> = s.split(':').collect();
            match parts.as_slice() {
                [p, o, k] | [p, o, k, _] if !p.is_empty() && !o.is_empty() && !k.is_empty() => Ok(Image::Marketplace {
                    publisher: (*p).to_string(),
                    offer: (*o).to_string(),
                    sku: (*k).to_string(),
                    version: parts.get(3).map_or("latest", |v| v).to_string(),
                }),
                _ => Err(mismatch(
                    attr,
                    "an image",
                    v,
                    span,
                    "marketplace(\"publisher\", \"offer\", \"sku\")",
                )),
            }
        }
        other => Err(mismatch(
            attr,
            "an image",
            other,
            span,
            "marketplace(\"publisher\", \"offer\", \"sku\")",
        )),
    }
}

/// A list of strings (a single string counts as a list of one).
pub fn strings(attr: &str, v: &Value, span: Span) -> Typed<Vec<Spanned<String>>> {
    match v {
        Value::Str(s) => Ok(vec![Spanned::new(s.to_string(), span)]),
        Value::List(items) => items
            .iter()
            .map(|item| string(attr, item, span).map(|s| Spanned::new(s.to_string(), span)))
            .collect(),
        other => Err(mismatch(
            attr,
            "a list of strings",
            other,
            span,
            "[\"ubuntu\", \"python:3.12\"]",
        )),
    }
}

/// An enumerated word, given bare (`admin`) or as a string (`"admin"`).
pub fn word<'c>(attr: &str, text: &str, choices: &[&'c str], span: Span) -> Typed<&'c str> {
    choices
        .iter()
        .find(|c| c.eq_ignore_ascii_case(text))
        .copied()
        .ok_or_else(|| {
            let list = choices
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(" or ");
            let help = did_you_mean(text, choices.iter().copied()).unwrap_or_else(|| format!("use {list}"));
            Box::new(
                Diagnostic::new(Code::BF006, span, format!("`{attr}` must be {list}, found `{text}`")).with_help(help),
            )
        })
}

pub fn elevation(attr: &str, text: &str, span: Span) -> Typed<Elevation> {
    word(attr, text, &["admin", "nonadmin"], span).map(|w| {
        if w == "admin" {
            Elevation::Admin
        } else {
            Elevation::NonAdmin
        }
    })
}

pub fn scope(attr: &str, text: &str, span: Span) -> Typed<Scope> {
    word(attr, text, &["pool", "task"], span).map(|w| if w == "pool" { Scope::Pool } else { Scope::Task })
}

/// A string-to-string map (`env`, `inputs`, `outputs`); values are stringified scalars.
pub fn text_map(attr: &str, v: &Value, span: Span) -> Typed<Vec<(Arc<str>, Arc<str>)>> {
    match v {
        Value::Map(entries) => entries
            .iter()
            .map(|(k, v)| {
                v.to_text()
                    .map(|t| (Arc::from(k.as_str()), Arc::from(t)))
                    .ok_or_else(|| mismatch(&format!("{attr}.{k}"), "text", v, span, "\"...\""))
            })
            .collect(),
        other => Err(mismatch(attr, "a map", other, span, "{ NAME = \"value\" }")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_reject_negative_and_text() {
        let s = Span::default();
        assert_eq!(count("dedicated", &Value::Int(3), s).ok(), Some(3));
        assert!(count("dedicated", &Value::Int(-1), s).is_err());
        let err = count("dedicated", &Value::str("two"), s).expect_err("text");
        assert!(err.message.contains("found string \"two\""), "{}", err.message);
    }

    #[test]
    fn images_accept_urns_and_resource_ids() {
        let s = Span::default();
        let urn = image("image", &Value::str("Canonical:ubuntu-24_04-lts:server"), s).expect("urn");
        assert!(matches!(urn, Image::Marketplace { ref version, .. } if version == "latest"));
        let gal = image(
            "image",
            &Value::str("/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/galleries/g/images/d"),
            s,
        )
        .expect("gallery");
        assert!(matches!(gal, Image::Gallery { .. }));
    }

    #[test]
    fn words_are_case_insensitive_and_suggest() {
        let s = Span::default();
        assert!(matches!(elevation("elevation", "Admin", s), Ok(Elevation::Admin)));
        let err = elevation("elevation", "admn", s).expect_err("typo");
        assert_eq!(err.help.as_deref(), Some("did you mean `admin`?"));
    }
}
