//! What the stdlib tables say about a pool: its size, its image, its OS and node agent.
//! Where a table has no row, a name heuristic answers and the callers say so.

use super::{self as stdlib, ImageInfo, Os, VmSize};
use crate::graph::{Image, Pool};

pub fn size(pool: &Pool) -> Option<&'static VmSize> {
    pool.vm_size.as_deref().and_then(stdlib::vm_size)
}

/// The stdlib's row for a marketplace image.
pub fn image_info(pool: &Pool) -> Option<&'static ImageInfo> {
    match pool.image.as_ref()? {
        Image::Marketplace {
            publisher, offer, sku, ..
        } => stdlib::image(publisher, offer, sku),
        _ => None,
    }
}

/// The marketplace offer, lowercase.
pub fn offer(pool: &Pool) -> Option<String> {
    match pool.image.as_ref()? {
        Image::Marketplace { offer, .. } => Some(offer.to_ascii_lowercase()),
        _ => None,
    }
}

pub fn is_rdma_image(pool: &Pool) -> bool {
    offer(pool).is_some_and(|o| o.ends_with("-rdma"))
}

/// The node agent Batch will get: as written, or inferred from the image table.
pub fn effective_node_agent(pool: &Pool) -> Option<String> {
    pool.node_agent
        .clone()
        .or_else(|| image_info(pool).map(|i| i.node_agent.clone()))
}

/// The pool's OS: from the image table, else the node agent, else the image's name.
pub fn pool_os(pool: &Pool) -> Option<Os> {
    if let Some(info) = image_info(pool) {
        return Some(info.os);
    }
    if let Some(agent) = pool.node_agent.as_deref() {
        if let Some(row) = stdlib::node_agent(agent) {
            return Some(row.os);
        }
        return Some(if agent.to_ascii_lowercase().contains("windows") {
            Os::Windows
        } else {
            Os::Linux
        });
    }
    image_os_by_name(pool.image.as_ref()?)
}

/// Name heuristic for images missing from the table.
pub fn image_os_by_name(image: &Image) -> Option<Os> {
    match image {
        Image::Marketplace {
            publisher, offer, sku, ..
        } => {
            let all = format!("{publisher} {offer} {sku}").to_ascii_lowercase();
            Some(if all.contains("windows") {
                Os::Windows
            } else {
                Os::Linux
            })
        }
        _ => None,
    }
}

/// A Windows pool with `containers { }`.
pub fn is_windows_container_pool(pool: &Pool) -> bool {
    pool.containers.is_some() && pool_os(pool) == Some(Os::Windows)
}

/// How many nodes a pool may have: its fixed counts, or for an autoscale pool the maximum its
/// formula states (`$TargetDedicatedNodes = min(…, 10)` or `= 10`); `None` where it states
/// none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeCounts {
    pub dedicated: Option<u32>,
    pub low_priority: Option<u32>,
}

pub fn node_counts(pool: &Pool) -> NodeCounts {
    match pool.autoscale.as_deref() {
        None => NodeCounts {
            dedicated: Some(pool.dedicated.unwrap_or(0)),
            low_priority: Some(pool.low_priority.unwrap_or(0)),
        },
        Some(formula) => NodeCounts {
            dedicated: formula_cap(formula, "$TargetDedicatedNodes"),
            low_priority: formula_cap(formula, "$TargetLowPriorityNodes"),
        },
    }
}

/// The cap a formula states for `target`: its last assignment, when that is a whole number,
/// or `min(…)` with whole numbers among its arguments (the smallest of them). A formula that
/// never assigns `target` leaves it at 0.
fn formula_cap(formula: &str, target: &str) -> Option<u32> {
    let mut cap = Some(0);
    for statement in formula.split(';') {
        let Some((left, right)) = statement.split_once('=') else {
            continue;
        };
        if !left.trim().eq_ignore_ascii_case(target) || right.starts_with('=') {
            continue;
        }
        let expr = right.trim();
        cap = expr.parse::<u32>().ok().or_else(|| {
            let inner = expr.strip_prefix("min(")?.strip_suffix(')')?;
            top_level_args(inner)
                .iter()
                .filter_map(|a| a.trim().parse::<u32>().ok())
                .min()
        });
    }
    cap
}

/// `a, f(b, c), d` → `a`, `f(b, c)`, `d`.
fn top_level_args(text: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0i32, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::formula_cap;

    #[test]
    fn a_formula_states_its_cap_with_min_or_a_number() {
        let f = "$busy = $ActiveTasks.GetSample(1);\n$TargetDedicatedNodes = min(max($busy, 0), 25);\n$NodeDeallocationOption = taskcompletion;";
        assert_eq!(formula_cap(f, "$TargetDedicatedNodes"), Some(25));
        assert_eq!(formula_cap(f, "$TargetLowPriorityNodes"), Some(0));
        assert_eq!(
            formula_cap("$TargetDedicatedNodes = 4;", "$TargetDedicatedNodes"),
            Some(4)
        );
        assert_eq!(
            formula_cap("$TargetDedicatedNodes = $busy * 2;", "$TargetDedicatedNodes"),
            None
        );
        assert_eq!(
            formula_cap("$TargetDedicatedNodes = min(8, 3, $x)", "$TargetDedicatedNodes"),
            Some(3)
        );
    }
}
