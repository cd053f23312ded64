//! BF005: dependency cycles among the tasks of a job, or among jobs via `after`. The message
//! shows the whole cycle, `a -> b -> a`.

use crate::diagnostics::{Code, Diagnostic};
use crate::graph::{Edge, Node, Workflow};
use crate::source::Span;
use petgraph::algo::tarjan_scc;
use petgraph::graph::NodeIndex;
use petgraph::visit::EdgeFiltered;
use petgraph::Direction;
use std::collections::{HashMap, HashSet, VecDeque};

pub fn check(wf: &Workflow, out: &mut Vec<Diagnostic>) {
    let before = EdgeFiltered::from_fn(&wf.graph, |e| *e.weight() == Edge::Before);
    for component in tarjan_scc(&before) {
        let Some(&start) = component.first() else { continue };
        let self_loop = wf
            .graph
            .edges_connecting(start, start)
            .any(|e| *e.weight() == Edge::Before);
        if component.len() == 1 && !self_loop {
            continue;
        }
        let members: HashSet<NodeIndex> = component.iter().copied().collect();
        let cycle = shortest_cycle(wf, start, &members);
        out.push(report(wf, &cycle));
    }
}

/// The shortest path from `start` back to itself inside one strongly connected component.
fn shortest_cycle(wf: &Workflow, start: NodeIndex, members: &HashSet<NodeIndex>) -> Vec<NodeIndex> {
    let mut parent: HashMap<NodeIndex, NodeIndex> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(n) = queue.pop_front() {
        for edge in wf.graph.edges_directed(n, Direction::Outgoing) {
            if *edge.weight() != Edge::Before {
                continue;
            }
            let next = petgraph::visit::EdgeRef::target(&edge);
            if next == start {
                let mut path = vec![n];
                let mut cur = n;
                while cur != start {
                    match parent.get(&cur) {
                        Some(&p) => {
                            path.push(p);
                            cur = p;
                        }
                        None => break,
                    }
                }
                path.reverse();
                return path;
            }
            if members.contains(&next) && next != start && !parent.contains_key(&next) {
                parent.insert(next, n);
                queue.push_back(next);
            }
        }
    }
    vec![start]
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
    let mut seen = HashSet::new();
    for (name, span) in named.iter().skip(1) {
        if *span != primary && seen.insert(*span) {
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
