//! `inputs { }` and `outputs { }`: each entry a path in the working directory (or an output
//! file pattern), and where its data comes from or goes: a URL, `az://CONTAINER/PATH`, or a
//! path in the repository. Keys may interpolate loop variables (`"${s}.fq" = "data/${s}.fq"`).
//!
//! Outputs say when they are uploaded, Batch's `uploadCondition`: `when = always` in the block
//! sets it for every entry, and an entry may set its own with `"*.log" = { to = "logs/",
//! when = failure }`. The words are `success` (the default), `failure` and `always`.

use super::eval_error::Bindings;
use super::schema::MapEntry;
use super::Lowerer;
use crate::ast::{Attr, Entry, Expr, ExprKind};
use crate::diagnostics::{Code, Diagnostic};
use crate::graph::{FileMap, Location, UploadWhen};
use crate::value::Value;
use std::sync::Arc;

/// The block-level key of `outputs` that sets when every entry is uploaded.
const WHEN: &str = "when";

impl Lowerer<'_> {
    /// The entries of an `inputs` (`outputs` when `outputs`) block or map expression.
    pub(super) fn file_maps(
        &mut self,
        entry: MapEntry<'_>,
        outputs: bool,
        vars: Bindings<'_>,
    ) -> Option<Arc<[FileMap]>> {
        let mut out = Vec::new();
        match entry {
            MapEntry::Expr(e) => {
                let v = self.eval_once(e, vars)?;
                let Value::Map(pairs) = v else {
                    return self.refuse(e, format!("`{}` must be a map, found {}", kind(outputs), v.type_name()));
                };
                for (key, value) in pairs.iter() {
                    let Some(text) = value.to_text() else {
                        return self.refuse(
                            e,
                            format!("`{}.{key}` must be text, found {}", kind(outputs), value.type_name()),
                        );
                    };
                    out.push(file_map(key, &text, UploadWhen::Success, e.span));
                }
            }
            MapEntry::Block(b) => {
                let attrs: Vec<&Attr> = b
                    .entries
                    .iter()
                    .filter_map(|e| match e {
                        Entry::Attr(a) => Some(a),
                        _ => None,
                    })
                    .collect();
                let mut default = UploadWhen::Success;
                if outputs {
                    if let Some(a) = attrs.iter().find(|a| a.key_expr.is_none() && a.key.name == WHEN) {
                        default = self.when(&a.value, vars)?;
                    }
                }
                for a in attrs {
                    if outputs && a.key_expr.is_none() && a.key.name == WHEN {
                        continue;
                    }
                    let key = match self.names.key(self.unit, a, vars) {
                        Ok(k) => k,
                        Err(e) => {
                            self.report(e);
                            return None;
                        }
                    };
                    let (value, when) = match (&a.value.kind, outputs) {
                        (ExprKind::Map(inner), true) => self.output_entry(inner, &a.value, default, vars)?,
                        _ => (self.text(&a.value, &format!("{}.{key}", kind(outputs)), vars)?, default),
                    };
                    out.push(file_map(&key, &value, when, a.value.span));
                }
            }
        }
        Some(out.into())
    }

    /// `{ to = "...", when = failure }`.
    fn output_entry(
        &mut self,
        inner: &[Attr],
        whole: &Expr,
        default: UploadWhen,
        vars: Bindings<'_>,
    ) -> Option<(String, UploadWhen)> {
        let mut to = None;
        let mut when = default;
        for a in inner {
            match a.key.name.as_str() {
                "to" => to = Some(self.text(&a.value, "to", vars)?),
                WHEN => when = self.when(&a.value, vars)?,
                other => {
                    self.sink.push(
                        Diagnostic::new(
                            Code::BF008,
                            a.key.span,
                            format!("an output takes `to` and `when`, not `{other}`"),
                        )
                        .with_help("write it like `\"*.log\" = { to = \"logs/\", when = failure }`"),
                    );
                    return None;
                }
            }
        }
        match to {
            Some(t) => Some((t, when)),
            None => {
                self.sink.push(
                    Diagnostic::new(Code::BF007, whole.span, "this output does not say where it goes")
                        .with_help("add `to = \"results/\"` (a repository folder, `az://...`, or a container URL)"),
                );
                None
            }
        }
    }

    /// `success`, `failure` or `always`, as a word or a string.
    fn when(&mut self, value: &Expr, vars: Bindings<'_>) -> Option<UploadWhen> {
        let word = match value.as_word() {
            Some(w) if !self.names.is_bound(self.unit, &w.name, vars) => w.name.clone(),
            _ => self.text(value, WHEN, vars)?,
        };
        match word.as_str() {
            "success" => Some(UploadWhen::Success),
            "failure" => Some(UploadWhen::Failure),
            "always" => Some(UploadWhen::Always),
            other => {
                self.sink.push(
                    Diagnostic::new(Code::BF006, value.span, format!("`when` is `success`, `failure` or `always`, not `{other}`"))
                        .with_help("`success` uploads when the task succeeds (the default), `failure` when it fails, `always` either way"),
                );
                self.failed.insert(value.span);
                None
            }
        }
    }

    /// A value as text: a string, number or bool.
    fn text(&mut self, value: &Expr, what: &str, vars: Bindings<'_>) -> Option<String> {
        let v = self.eval_once(value, vars)?;
        match v.to_text() {
            Some(t) => Some(t),
            None => self.refuse(value, format!("`{what}` must be text, found {}", v.type_name())),
        }
    }

    fn refuse<T>(&mut self, at: &Expr, message: String) -> Option<T> {
        self.sink
            .push(Diagnostic::new(Code::BF006, at.span, message).with_help("write a string, number or bool"));
        self.failed.insert(at.span);
        None
    }
}

fn kind(outputs: bool) -> &'static str {
    if outputs {
        "outputs"
    } else {
        "inputs"
    }
}

fn file_map(key: &str, value: &str, when: UploadWhen, span: crate::source::Span) -> FileMap {
    FileMap {
        path: key.into(),
        url: value.into(),
        location: Location::of(value),
        when,
        span,
    }
}
