//! Line diffs between a file and its formatted text: a unified diff for people
//! (`fmt --diff`) and the edits an editor applies (the language server).

use std::ops::Range;

/// Past this many differing lines the changed middle is replaced whole: the diff stays
/// quick and small in memory for a file rewritten from top to bottom.
const MAX_D: usize = 2000;
/// Unchanged lines shown around a change.
const CONTEXT: usize = 3;

/// Replace the bytes `range` of the old text with `text`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    pub range: Range<usize>,
    pub text: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Equal,
    Delete,
    Insert,
}

/// Lines with their `\n`, so joining them gives the text back.
fn lines(s: &str) -> Vec<&str> {
    s.split_inclusive('\n').collect()
}

/// The line operations that turn `a` into `b`, in order: each `Equal` and `Delete` takes the
/// next line of `a`, each `Equal` and `Insert` the next of `b`.
fn ops(a: &[&str], b: &[&str]) -> Vec<Op> {
    let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (am, bm) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let middle = myers(am, bm).unwrap_or_else(|| {
        let mut all = vec![Op::Delete; am.len()];
        all.extend(std::iter::repeat_n(Op::Insert, bm.len()));
        all
    });
    let mut out = vec![Op::Equal; prefix];
    out.extend(middle);
    out.extend(std::iter::repeat_n(Op::Equal, suffix));
    out
}

/// Myers' O(ND) shortest edit script, or `None` past [`MAX_D`] differences. `trace[d]` holds
/// the furthest x reached on each diagonal k in -d..=d after round d.
fn myers(a: &[&str], b: &[&str]) -> Option<Vec<Op>> {
    let (n, m) = (a.len() as isize, b.len() as isize);
    let max_d = (a.len() + b.len()).min(MAX_D) as isize;
    let off = max_d + 1;
    let mut v = vec![0isize; (2 * off + 1) as usize];
    let mut trace: Vec<Vec<isize>> = Vec::new();
    for d in 0..=max_d {
        let mut k = -d;
        while k <= d {
            let i = (k + off) as usize;
            let mut x = if k == -d || (k != d && v[i - 1] < v[i + 1]) {
                v[i + 1]
            } else {
                v[i - 1] + 1
            };
            let mut y = x - k;
            while x < n && y < m && a[x as usize] == b[y as usize] {
                x += 1;
                y += 1;
            }
            v[i] = x;
            // The first point of a round past both ends is (n, m) itself: any other was
            // reached from it a round earlier.
            if x >= n && y >= m {
                trace.push(v[(off - d) as usize..=(off + d) as usize].to_vec());
                return Some(backtrack(&trace, n, m));
            }
            k += 2;
        }
        trace.push(v[(off - d) as usize..=(off + d) as usize].to_vec());
    }
    None
}

fn backtrack(trace: &[Vec<isize>], n: isize, m: isize) -> Vec<Op> {
    let mut out = Vec::new();
    let (mut x, mut y) = (n, m);
    let at = |row: &Vec<isize>, d: isize, k: isize| row[(k + d) as usize];
    for d in (1..trace.len() as isize).rev() {
        let prev = &trace[(d - 1) as usize];
        let k = x - y;
        let down = k == -d || (k != d && at(prev, d - 1, k - 1) < at(prev, d - 1, k + 1));
        let prev_k = if down { k + 1 } else { k - 1 };
        let prev_x = at(prev, d - 1, prev_k);
        let prev_y = prev_x - prev_k;
        let (mid_x, mid_y) = if down {
            (prev_x, prev_y + 1)
        } else {
            (prev_x + 1, prev_y)
        };
        while x > mid_x && y > mid_y {
            out.push(Op::Equal);
            x -= 1;
            y -= 1;
        }
        out.push(if down { Op::Insert } else { Op::Delete });
        (x, y) = (prev_x, prev_y);
    }
    while x > 0 && y > 0 {
        out.push(Op::Equal);
        x -= 1;
        y -= 1;
    }
    out.reverse();
    out
}

/// The edits turning `old` into `new`: one per changed run of lines, in order, each
/// replacing whole lines of `old`.
pub fn edits(old: &str, new: &str) -> Vec<Edit> {
    let (a, b) = (lines(old), lines(new));
    let mut out: Vec<Edit> = Vec::new();
    let (mut ai, mut bi, mut offset) = (0, 0, 0);
    let mut open: Option<Edit> = None;
    for op in ops(&a, &b) {
        if op == Op::Equal {
            out.extend(open.take());
            offset += a[ai].len();
            ai += 1;
            bi += 1;
            continue;
        }
        let edit = open.get_or_insert(Edit {
            range: offset..offset,
            text: String::new(),
        });
        if op == Op::Delete {
            offset += a[ai].len();
            edit.range.end = offset;
            ai += 1;
        } else {
            edit.text.push_str(b[bi]);
            bi += 1;
        }
    }
    out.extend(open);
    out
}

/// A unified diff from `old` to `new` (empty when they are equal), both named `name`.
pub fn unified_diff(old: &str, new: &str, name: &str) -> String {
    let (a, b) = (lines(old), lines(new));
    let ops = ops(&a, &b);
    // Line numbers (0-based) in a and b before each op.
    let mut pos = Vec::with_capacity(ops.len() + 1);
    let (mut ai, mut bi) = (0, 0);
    for op in &ops {
        pos.push((ai, bi));
        match op {
            Op::Equal => (ai, bi) = (ai + 1, bi + 1),
            Op::Delete => ai += 1,
            Op::Insert => bi += 1,
        }
    }
    pos.push((ai, bi));
    let changed: Vec<usize> = (0..ops.len()).filter(|&i| ops[i] != Op::Equal).collect();
    let Some(&first) = changed.first() else {
        return String::new();
    };
    let mut out = format!("--- {name}\n+++ {name}\n");
    let (mut start, mut last) = (first.saturating_sub(CONTEXT), first);
    for &i in changed.iter().skip(1).chain(std::iter::once(&usize::MAX)) {
        if i != usize::MAX && i <= last + 2 * CONTEXT + 1 {
            last = i;
            continue;
        }
        let end = (last + CONTEXT + 1).min(ops.len());
        hunk(&mut out, &ops[start..end], &pos[start], &pos[end], &a, &b);
        if i != usize::MAX {
            (start, last) = (i.saturating_sub(CONTEXT), i);
        }
    }
    out
}

fn hunk(out: &mut String, ops: &[Op], from: &(usize, usize), to: &(usize, usize), a: &[&str], b: &[&str]) {
    let range = |from: usize, to: usize| {
        let len = to - from;
        // An empty side is numbered by the line before it.
        format!("{},{len}", if len == 0 { from } else { from + 1 })
    };
    out.push_str(&format!("@@ -{} +{} @@\n", range(from.0, to.0), range(from.1, to.1)));
    let (mut ai, mut bi) = *from;
    for op in ops {
        let (sign, line) = match op {
            Op::Equal => {
                ai += 1;
                bi += 1;
                (' ', a[ai - 1])
            }
            Op::Delete => {
                ai += 1;
                ('-', a[ai - 1])
            }
            Op::Insert => {
                bi += 1;
                ('+', b[bi - 1])
            }
        };
        out.push(sign);
        out.push_str(line);
        if !line.ends_with('\n') {
            out.push_str("\n\\ No newline at end of file\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(old: &str, edits: &[Edit]) -> String {
        let mut out = old.to_string();
        for e in edits.iter().rev() {
            out.replace_range(e.range.clone(), &e.text);
        }
        out
    }

    #[test]
    fn edits_rebuild_the_new_text() {
        let cases = [
            ("a\nb\nc\n", "a\nB\nc\n"),
            ("a\nb\nc\n", "a\nc\n"),
            ("a\nc\n", "a\nb\nc\nd\n"),
            ("", "x\n"),
            ("x\ny", "x\ny\n"),
            ("1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\n2x\n3\n4\n5\n6\n7\n8x\n9\n"),
        ];
        for (old, new) in cases {
            let e = edits(old, new);
            assert_eq!(apply(old, &e), new, "{old:?} -> {new:?}: {e:?}");
        }
        assert!(edits("same\n", "same\n").is_empty());
        assert_eq!(
            edits("1\n2\n3\n4\n5\n6\n7\n8\n9\n", "1\n2x\n3\n4\n5\n6\n7\n8x\n9\n").len(),
            2
        );
    }

    #[test]
    fn unified_diffs_show_context_and_line_numbers() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n";
        let new = "a\nb\nc\nd\nE\nf\ng\nh\ni\nj\n";
        let d = unified_diff(old, new, "x.batchflow");
        assert_eq!(
            d,
            "--- x.batchflow\n+++ x.batchflow\n@@ -2,7 +2,7 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n"
        );
        assert_eq!(unified_diff(old, old, "x"), "");
        let d = unified_diff("x", "x\n", "f");
        assert!(d.contains("-x\n\\ No newline at end of file\n+x\n"), "{d}");
    }
}
