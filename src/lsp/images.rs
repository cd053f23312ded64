//! Which stdlib image an expression names: `marketplace("P", "O", "S")`, the URN string
//! `"P:O:S[:V]"`, or a name of `std/images` (`images.ubuntu_2404`).

use crate::ast::{Expr, ExprKind, File, Item};
use crate::source::SrcId;
use crate::stdlib::{self, ImageInfo};
use std::sync::OnceLock;

pub fn image_of(e: &Expr, file: Option<&File>) -> Option<&'static ImageInfo> {
    match &e.kind {
        ExprKind::Call { .. } => {
            let (p, o, s) = marketplace_args(e)?;
            stdlib::image(&p, &o, &s)
        }
        ExprKind::Str(_) => {
            let text = e.as_plain_str()?;
            let mut parts = text.split(':');
            let (p, o, s) = (parts.next()?, parts.next()?, parts.next()?);
            stdlib::image(p, o, s)
        }
        ExprKind::Path(parts) => match parts.as_slice() {
            [module, name] if import_path(file?, &module.name).as_deref() == Some("std/images") => {
                module_images().iter().find(|(n, _)| *n == name.name).map(|(_, i)| *i)
            }
            _ => None,
        },
        _ => None,
    }
}

/// The publisher, offer and sku of a `marketplace(...)` call written with plain strings.
pub fn marketplace_args(e: &Expr) -> Option<(String, String, String)> {
    let ExprKind::Call { name, args } = &e.kind else {
        return None;
    };
    if name.name != "marketplace" {
        return None;
    }
    let arg = |i: usize, key: &str| {
        args.iter()
            .find(|a| a.name.as_ref().is_some_and(|n| n.name == key))
            .or_else(|| args.get(i).filter(|a| a.name.is_none()))
            .and_then(|a| a.value.as_plain_str())
    };
    Some((arg(0, "publisher")?, arg(1, "offer")?, arg(2, "sku")?))
}

/// The names `std/images` gives marketplace images, with what the stdlib table says of each.
pub fn module_images() -> &'static [(String, &'static ImageInfo)] {
    static NAMES: OnceLock<Vec<(String, &'static ImageInfo)>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let Some(module) = stdlib::module("std/images") else {
            return Vec::new();
        };
        let Ok(file) = crate::syntax::parse(SrcId(0), module.text) else {
            return Vec::new();
        };
        file.items
            .iter()
            .filter_map(|item| match item {
                Item::Let { name, value, .. } => Some((name.name.clone(), image_of(value, None)?)),
                _ => None,
            })
            .collect()
    })
}

/// The module path an import alias stands for.
pub fn import_path(file: &File, alias: &str) -> Option<String> {
    file.items.iter().find_map(|item| match item {
        Item::Import { path, alias: a, .. } => {
            let p = path.as_plain_str()?;
            let name = a
                .as_ref()
                .map_or_else(|| p.rsplit('/').next().unwrap_or(&p).to_string(), |a| a.name.clone());
            (name == alias).then_some(p)
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_module_names_known_images() {
        let names = module_images();
        assert!(names
            .iter()
            .any(|(n, i)| n == "ubuntu_2404" && i.offer == "ubuntu-24_04-lts"));
    }
}
