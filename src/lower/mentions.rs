//! Whether an expression uses a loop variable: values that do not are evaluated once per
//! task declaration and shared by all its instances.

use crate::ast::{Expr, ExprKind, StrPart};

pub fn mentions(expr: &Expr, names: &[String]) -> bool {
    if names.is_empty() {
        return false;
    }
    let mut stack = vec![expr];
    while let Some(e) = stack.pop() {
        match &e.kind {
            ExprKind::Path(parts) => {
                if parts.first().is_some_and(|p| names.contains(&p.name)) {
                    return true;
                }
            }
            ExprKind::Str(parts) => stack.extend(parts.iter().filter_map(|p| match p {
                StrPart::Interp(e) => Some(e),
                StrPart::Lit(_) => None,
            })),
            ExprKind::List(items) | ExprKind::Sum(items) => stack.extend(items),
            ExprKind::Map(attrs) => stack.extend(attrs.iter().map(|a| &a.value)),
            ExprKind::Call { args, .. } => stack.extend(args.iter().map(|a| &a.value)),
            ExprKind::Range(a, b) => {
                stack.push(a);
                stack.push(b);
            }
            ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Duration(_) | ExprKind::Bool(_) => {}
        }
    }
    false
}
