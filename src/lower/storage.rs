//! The `storage { }` item: the storage account (and container) that repository files and
//! `az://` paths go through. It may also come from `batchflow.toml` or the environment, which
//! the checker hears of through its context.

use super::schema::{self, Fields};
use super::{typed, Lowerer};
use crate::ast::{self, Item};
use crate::diagnostics::{Code, Diagnostic};
use crate::graph::{AttrSpans, Storage};

pub(super) fn lower_all(lw: &mut Lowerer<'_>, file: &ast::File) {
    for item in &file.items {
        let Item::Storage { body, span } = item else { continue };
        if let Some(first) = &lw.wf.storage {
            lw.sink.push(
                Diagnostic::new(Code::BF003, *span, "a second `storage` block")
                    .with_label(first.span, "the first")
                    .with_help("a workflow has one storage account: keep one block"),
            );
            continue;
        }
        let f = Fields::collect(body, &schema::STORAGE, *span, &mut lw.sink);
        let mut attrs = AttrSpans::default();
        for (name, attr) in &f.attrs {
            attrs.insert(name, attr.span);
        }
        let text = |lw: &mut Lowerer<'_>, key: &str| lw.typed(&f, key, &[], typed::string).map(|s| s.to_string());
        let storage = Storage {
            span: *span,
            account: text(lw, "account"),
            container: text(lw, "container"),
            attrs,
        };
        lw.wf.storage = Some(storage);
    }
}
