//! BF005: dependency cycles among the tasks of a job, or among jobs via `after`. The message
//! shows the whole cycle, `a -> b -> a`. Iterative throughout: a chain of a million tasks
//! must not overflow the stack.

use crate::diagnostics::{Code, Diagnostic};
use crate::graph::{Edge, Node, Workflow};
use crate::source::Span;
use petgraph::graph::NodeIndex;
use petgraph::visit::EdgeRef;
use petgraph::Direction;
use std::collections::{HashMap, HashSet, VecDeque};

/// Cycles reported at most; more would be noise.
const MAX_REPORTED: usize = 10;

pub fn check(wf: &Workflow, out: &mut Vec<Diagnostic>) {
    let stuck = not_orderable(wf);
    let mut ordered: Vec<NodeIndex> = stuck.iter().copied().collect();
    ordered.sort_unstable();
    let mut seen: HashSet<NodeIndex> = HashSet::new();
    let mut reported = 0;
    for start in ordered {
        if reported == MAX_REPORTED || seen.contains(&start) {
            continue;
        }
        let Some(cycle) = cycle_through_predecessors(wf, start, &stuck, &mut seen) else {
            continue;
        };
        out.push(report(wf, &cycle));
        reported += 1;
    }
}

fn before_edges(wf: &Workflow, n: NodeIndex, dir: Direction) -> impl Iterator<Item = NodeIndex> + '_ {
    wf.graph
        .edges_directed(n, dir)
        .filter(|e| *e.weight() == Edge::Before)
        .map(move |e| {
            if dir == Direction::Outgoing {
                e.target()
            } else {
                e.source()
            }
        })
}

/// Kahn's algorithm over `Before` edges: the nodes it cannot order lie on or after a cycle.
fn not_orderable(wf: &Workflow) -> HashSet<NodeIndex> {
    let mut indegree: Vec<usize> = vec![0; wf.graph.node_count()];
    for e in wf.graph.edge_indices() {
        if wf.graph.edge_weight(e) == Some(&Edge::Before) {
            if let Some((_, to)) = wf.graph.edge_endpoints(e) {
                indegree[to.index()] += 1;
            }
        }
    }
    let mut queue: VecDeque<NodeIndex> = wf.graph.node_indices().filter(|n| indegree[n.index()] == 0).collect();
    while let Some(n) = queue.pop_front() {
        for next in before_edges(wf, n, Direction::Outgoing) {
            let d = &mut indegree[next.index()];
            *d -= 1;
            if *d == 0 {
                queue.push_back(next);
            }
        }
    }
    wf.graph.node_indices().filter(|n| indegree[n.index()] > 0).collect()
}

/// Every node Kahn could not order has a predecessor it could not order either: walking
/// predecessors from `start` must come back to a node already on the walk.
fn cycle_through_predecessors(
    wf: &Workflow,
    start: NodeIndex,
    stuck: &HashSet<NodeIndex>,
    seen: &mut HashSet<NodeIndex>,
) -> Option<Vec<NodeIndex>> {
    let mut walk: Vec<NodeIndex> = Vec::new();
    let mut position: HashMap<NodeIndex, usize> = HashMap::new();
    let mut n = start;
    loop {
        if let Some(&i) = position.get(&n) {
            let mut cycle: Vec<NodeIndex> = walk[i..].to_vec();
            seen.extend(walk.iter().copied());
            // The walk went against the edges: turn it around to read in execution order,
            // starting from the first declared member so the report is stable.
            cycle.reverse();
            if let Some(first) = cycle.iter().enumerate().min_by_key(|(_, n)| **n).map(|(i, _)| i) {
                cycle.rotate_left(first);
            }
            return Some(cycle);
        }
        if seen.contains(&n) {
            seen.extend(walk.iter().copied());
            return None;
        }
        position.insert(n, walk.len());
        walk.push(n);
        n = before_edges(wf, n, Direction::Incoming).find(|p| stuck.contains(p))?;
    }
}

fn report(wf: &Workflow, cycle: &[NodeIndex]) -> Diagnostic {
    let named: Vec<(String, Span)> = cycle.iter().filter_map(|n| name_of(wf, *n)).collect();
    let mut path: Vec<&str> = named.iter().map(|(n, _)| n.as_str()).collect();
    if let Some(first) = path.first().copied() {
        path.push(first);
    }
    let is_job = cycle
        .first()
        .is_some_and(|n| matches!(wf.graph.node_weight(*n), Some(Node::Job(_))));
    let what = if is_job { "jobs" } else { "tasks" };
    let primary = named.first().map(|(_, s)| *s).unwrap_or_default();
    let mut diag = Diagnostic::new(
        Code::BF005,
        primary,
        format!("these {what} depend on each other in a cycle: {}", path.join(" -> ")),
    )
    .with_help(if is_job {
        "remove one `after` so the jobs can run in some order"
    } else {
        "remove one dependency so the tasks can run in some order"
    });
    let mut labelled = HashSet::from([primary]);
    for (name, span) in named.iter().skip(1) {
        if labelled.insert(*span) {
            diag = diag.with_label(*span, format!("`{name}` is part of the cycle"));
        }
    }
    diag
}

/// The id and declaration span of a job or task node.
fn name_of(wf: &Workflow, node: NodeIndex) -> Option<(String, Span)> {
    match wf.graph.node_weight(node)? {
        Node::Job(j) => wf.job(*j).map(|j| (j.name.value.clone(), j.name.span)),
        Node::Task(t) => {
            let task = wf.task(*t)?;
            let template = wf.template(task.template)?;
            Some((task.id.to_string(), template.name.span))
        }
        _ => None,
    }
}
