//! What a sweep instance stands for, for people: `train[s=3, lr=0.01]` for `train-3-1`. The
//! plan carries it beside each task of a collection (it is not sent to Batch), so a run's
//! summary and `status` show it without the workflow.

use crate::graph::{Axis, TaskId, TaskTemplate};

/// Longest value text shown; a longer one is cut with `…`.
const VALUE_CHARS: usize = 40;

/// `NAME[var=value, ...]` for an instance of a sweep, `None` for a plain task.
pub fn instance_label(template: &TaskTemplate, task: TaskId) -> Option<String> {
    if template.axes.is_empty() {
        return None;
    }
    let mut k = u64::from(task.0.checked_sub(template.first)?);
    // Odometer order: the last loop variable moves fastest.
    let mut parts: Vec<String> = Vec::with_capacity(template.axes.len());
    for (name, axis) in template.axes.iter().rev() {
        let len = match axis {
            Axis::Range(a, b) => u64::try_from(b.saturating_sub(*a)).unwrap_or(0),
            Axis::Items(items) => items.len() as u64,
        }
        .max(1);
        let i = k % len;
        k /= len;
        parts.push(format!("{name}={}", shown(axis, i)));
    }
    parts.reverse();
    Some(format!("{}[{}]", template.name.value, parts.join(", ")))
}

/// The `i`-th value's text as interpolation prints it; a list or map item by its index.
fn shown(axis: &Axis, i: u64) -> String {
    let text = match axis {
        Axis::Range(a, _) => i64::try_from(i)
            .ok()
            .and_then(|i| a.checked_add(i))
            .map(|n| n.to_string()),
        Axis::Items(items) => usize::try_from(i)
            .ok()
            .and_then(|i| items.get(i).cloned().flatten())
            .map(|t| t.to_string()),
    };
    let Some(text) = text else {
        return format!("#{i}");
    };
    if text.chars().count() <= VALUE_CHARS {
        return text;
    }
    let cut: String = text.chars().take(VALUE_CHARS - 1).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::JobId;
    use crate::source::{Span, Spanned};
    use std::sync::Arc;

    fn sweep(axes: Vec<(String, Axis)>) -> TaskTemplate {
        TaskTemplate {
            name: Spanned::new("train".to_string(), Span::default()),
            span: Span::default(),
            job: JobId(0),
            attrs: Default::default(),
            is_sweep: true,
            after: Vec::new(),
            first: 10,
            count: 6,
            axes,
            cache: true,
        }
    }

    fn items(texts: &[Option<&str>]) -> Axis {
        Axis::Items(texts.iter().map(|t| t.map(Arc::from)).collect())
    }

    #[test]
    fn instances_are_labelled_in_odometer_order() {
        let t = sweep(vec![
            ("s".into(), Axis::Range(5, 8)),
            ("lr".into(), items(&[Some("0.1"), Some("0.01")])),
        ]);
        let label = |i: u32| instance_label(&t, TaskId(10 + i));
        assert_eq!(label(0).as_deref(), Some("train[s=5, lr=0.1]"));
        assert_eq!(label(1).as_deref(), Some("train[s=5, lr=0.01]"));
        assert_eq!(label(5).as_deref(), Some("train[s=7, lr=0.01]"));
        assert_eq!(instance_label(&t, TaskId(3)), None);
        assert_eq!(instance_label(&sweep(Vec::new()), TaskId(10)), None);
    }

    #[test]
    fn long_and_unprintable_values_stay_short() {
        let long = "x".repeat(100);
        let t = sweep(vec![("m".into(), items(&[None])), ("p".into(), items(&[Some(&long)]))]);
        let label = instance_label(&t, TaskId(10)).expect("a label");
        assert_eq!(label, format!("train[m=#0, p={}…]", "x".repeat(39)));
    }
}
