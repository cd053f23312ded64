//! `dependsOn` for each task: id ranges where every id is a number, plain ids while they
//! fit Batch's 64,000-character limit, and barrier tasks beyond it.

use super::batch_api::{TaskDependencies, TaskIdRange};

/// Batch's limit on the combined length of the ids in one `dependsOn.taskIds`.
pub const MAX_IDS_LENGTH: usize = 64_000;

/// The ids' combined length as Batch counts it (with a separator each, to stay safe).
pub fn ids_length(ids: &[&str]) -> usize {
    ids.iter().map(|id| id.len() + 1).sum()
}

/// `dependsOn` for ids that fit; `None` when they do not (the caller adds barriers).
pub fn depends_on(ids: &[&str]) -> Option<TaskDependencies> {
    if ids.is_empty() {
        return Some(TaskDependencies::default());
    }
    if let Some(ranges) = numeric_ranges(ids) {
        return Some(TaskDependencies {
            task_ids: Vec::new(),
            task_id_ranges: ranges,
        });
    }
    (ids_length(ids) <= MAX_IDS_LENGTH).then(|| TaskDependencies {
        task_ids: ids.iter().map(|s| s.to_string()).collect(),
        task_id_ranges: Vec::new(),
    })
}

/// Consecutive integer ids as inclusive ranges, when every id is a plain number
/// (no sign, no leading zero: Batch compares range members as the numbers' text).
pub fn numeric_ranges(ids: &[&str]) -> Option<Vec<TaskIdRange>> {
    let mut nums = ids
        .iter()
        .map(|id| {
            let canonical =
                !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) && (id.len() == 1 || !id.starts_with('0'));
            if canonical {
                id.parse::<u64>().ok()
            } else {
                None
            }
        })
        .collect::<Option<Vec<u64>>>()?;
    nums.sort_unstable();
    nums.dedup();
    let mut out: Vec<TaskIdRange> = Vec::new();
    for n in nums {
        match out.last_mut() {
            Some(r) if r.end + 1 == n => r.end = n,
            _ => out.push(TaskIdRange { start: n, end: n }),
        }
    }
    Some(out)
}

/// Splits ids into groups that each fit in one `dependsOn`.
pub fn chunks<'a>(ids: &[&'a str]) -> Vec<Vec<&'a str>> {
    let mut out: Vec<Vec<&str>> = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    let mut length = 0;
    for id in ids {
        if length + id.len() + 1 > MAX_IDS_LENGTH && !current.is_empty() {
            out.push(std::mem::take(&mut current));
            length = 0;
        }
        length += id.len() + 1;
        current.push(id);
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_ids_become_ranges() {
        let ids = ["1", "2", "3", "7", "9", "10"];
        let r = numeric_ranges(&ids).expect("numeric");
        assert_eq!(
            r,
            vec![
                TaskIdRange { start: 1, end: 3 },
                TaskIdRange { start: 7, end: 7 },
                TaskIdRange { start: 9, end: 10 }
            ]
        );
        assert!(numeric_ranges(&["1", "a"]).is_none());
        assert!(numeric_ranges(&["01"]).is_none());
    }

    #[test]
    fn long_lists_do_not_fit_and_chunk() {
        let owned: Vec<String> = (0..10_000).map(|i| format!("train-{i}")).collect();
        let ids: Vec<&str> = owned.iter().map(String::as_str).collect();
        assert!(depends_on(&ids).is_none());
        let groups = chunks(&ids);
        assert!(groups.len() >= 2);
        assert!(groups.iter().all(|g| ids_length(g) <= MAX_IDS_LENGTH));
        assert_eq!(groups.iter().map(Vec::len).sum::<usize>(), ids.len());
    }

    #[test]
    fn many_numbers_fit_as_ranges() {
        let owned: Vec<String> = (0..100_000).map(|i| i.to_string()).collect();
        let ids: Vec<&str> = owned.iter().map(String::as_str).collect();
        let deps = depends_on(&ids).expect("ranges fit");
        assert_eq!(deps.task_id_ranges, vec![TaskIdRange { start: 0, end: 99_999 }]);
    }
}
