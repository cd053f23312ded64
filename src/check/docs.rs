//! `batchflow explain CODE`: the rule's page with its two fixtures as examples.

use crate::diagnostics::Code;

pub fn page(code: Code) -> String {
    let (fires, passes) = code.examples();
    let mut out = code.doc().trim_end().to_string();
    out.push_str("\n\n## Example that fires\n\n```batchflow\n");
    out.push_str(fires.trim_end());
    out.push_str("\n```\n\n## Example that passes\n\n```batchflow\n");
    out.push_str(passes.trim_end());
    out.push_str("\n```\n");
    out
}

/// One line per rule: code, severity, name.
pub fn index() -> String {
    let mut out = String::from("batchflow rules (`batchflow explain CODE` for one):\n\n");
    for code in Code::ALL {
        out.push_str(&format!(
            "  {}  {:<8} {}\n",
            code.as_str(),
            code.default_severity().as_str(),
            code.name()
        ));
    }
    out
}
