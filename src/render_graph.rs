//! `batchflow graph`: the workflow as Graphviz DOT or a Mermaid flowchart. Sweeps collapse
//! into one node (`train[s, lr]`, 24 instances) unless instances are asked for.

use crate::graph::{Job, TemplateId, Workflow};
use std::collections::BTreeSet;
use std::fmt::Write;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Dot,
    Mermaid,
}

/// Nodes and edges in a neutral form, then printed in one of the formats.
struct Drawing {
    nodes: Vec<(String, String, Shape, Option<usize>)>,
    clusters: Vec<String>,
    edges: BTreeSet<(usize, usize)>,
}

#[derive(Clone, Copy)]
enum Shape {
    Registry,
    Pool,
    StartTask,
    Task,
    Sweep,
}

pub fn render(wf: &Workflow, format: Format, instances: bool) -> String {
    let d = drawing(wf, instances);
    match format {
        Format::Dot => dot(wf, &d),
        Format::Mermaid => mermaid(&d),
    }
}

fn drawing(wf: &Workflow, instances: bool) -> Drawing {
    let mut d = Drawing {
        nodes: Vec::new(),
        clusters: Vec::new(),
        edges: BTreeSet::new(),
    };
    let add = |d: &mut Drawing, label: String, shape: Shape, cluster: Option<usize>| {
        d.nodes.push((format!("n{}", d.nodes.len()), label, shape, cluster));
        d.nodes.len() - 1
    };
    let registries: Vec<usize> = wf
        .registries
        .iter()
        .map(|r| {
            add(
                &mut d,
                format!("registry {}\n{}", r.name.value, r.server.as_deref().unwrap_or("")),
                Shape::Registry,
                None,
            )
        })
        .collect();
    let mut pool_exit = Vec::new();
    for pool in &wf.pools {
        let p = add(
            &mut d,
            format!("pool {}\n{}", pool.name.value, pool.vm_size.as_deref().unwrap_or("")),
            Shape::Pool,
            None,
        );
        for r in pool.containers.iter().flat_map(|c| c.registries.iter()) {
            if let Some(&rn) = registries.get(r.index()) {
                d.edges.insert((rn, p));
            }
        }
        let exit = match pool.start_task {
            Some(_) => {
                let s = add(
                    &mut d,
                    format!("start task ({})", pool.name.value),
                    Shape::StartTask,
                    None,
                );
                d.edges.insert((p, s));
                s
            }
            None => p,
        };
        pool_exit.push(exit);
    }
    let mut job_entry: Vec<(usize, Vec<usize>, Vec<usize>)> = Vec::new();
    let mut template_node: Vec<Option<usize>> = vec![None; wf.templates.len()];
    let mut task_node: Vec<Option<usize>> = vec![None; if instances { wf.tasks.len() } else { 0 }];
    for job in &wf.jobs {
        let cluster = d.clusters.len();
        d.clusters.push(format!("job {}", job.name.value));
        let mut members = Vec::new();
        for t in &job.templates {
            let Some(template) = wf.template(*t) else { continue };
            if instances {
                for id in template.instances() {
                    let label = wf.task(id).map_or_else(String::new, |x| x.id.to_string());
                    let n = add(&mut d, label, Shape::Task, Some(cluster));
                    task_node[id.index()] = Some(n);
                    members.push(n);
                }
            } else {
                let label = if template.is_sweep {
                    format!("{}[...]\n{} instances", template.name.value, template.count)
                } else {
                    template.name.value.clone()
                };
                let shape = if template.is_sweep { Shape::Sweep } else { Shape::Task };
                let n = add(&mut d, label, shape, Some(cluster));
                template_node[t.index()] = Some(n);
                members.push(n);
            }
        }
        let roots = roots(wf, job, instances, &template_node, &task_node);
        job_entry.push((cluster, members, roots));
    }
    for (j, job) in wf.jobs.iter().enumerate() {
        let Some((_, _, roots)) = job_entry.get(j) else {
            continue;
        };
        let mut sources: Vec<usize> = job
            .pool
            .and_then(|p| pool_exit.get(p.index()).copied())
            .into_iter()
            .collect();
        for a in &job.after {
            sources.extend(job_entry.get(a.index()).into_iter().flat_map(|(_, members, _)| {
                sinks(wf, &wf.jobs[a.index()], members, instances, &template_node, &task_node)
            }));
        }
        for s in &sources {
            for r in roots {
                d.edges.insert((*s, *r));
            }
        }
    }
    for (i, task) in wf.tasks.iter().enumerate() {
        let to = if instances {
            task_node.get(i).copied().flatten()
        } else {
            template_node.get(task.template.index()).copied().flatten()
        };
        let Some(to) = to else { continue };
        if !instances && wf.template(task.template).is_some_and(|t| t.first != i as u32) {
            continue;
        }
        for dep in wf.dependencies(task) {
            let from = if instances {
                task_node.get(dep.index()).copied().flatten()
            } else {
                wf.task(dep)
                    .and_then(|x| template_node.get(x.template.index()).copied().flatten())
            };
            if let Some(from) = from {
                d.edges.insert((from, to));
            }
        }
    }
    d
}

/// Nodes of a job with no dependency inside it: where the job's work starts.
fn roots(
    wf: &Workflow,
    job: &Job,
    instances: bool,
    templates: &[Option<usize>],
    tasks: &[Option<usize>],
) -> Vec<usize> {
    nodes_where(wf, job, instances, templates, tasks, |wf, t| {
        wf.task(t).is_some_and(|x| wf.dependencies(x).next().is_none())
    })
}

/// Nodes of a job nothing in it depends on: where the job's work ends.
fn sinks(
    wf: &Workflow,
    job: &Job,
    _members: &[usize],
    instances: bool,
    templates: &[Option<usize>],
    tasks: &[Option<usize>],
) -> Vec<usize> {
    let depended: BTreeSet<u32> = wf.tasks.iter().flat_map(|t| wf.dependencies(t)).map(|d| d.0).collect();
    nodes_where(wf, job, instances, templates, tasks, |_, t| !depended.contains(&t.0))
}

fn nodes_where(
    wf: &Workflow,
    job: &Job,
    instances: bool,
    templates: &[Option<usize>],
    tasks: &[Option<usize>],
    keep: impl Fn(&Workflow, crate::graph::TaskId) -> bool,
) -> Vec<usize> {
    let mut out = BTreeSet::new();
    for t in &job.templates {
        let Some(template) = wf.template(*t) else { continue };
        for id in template.instances() {
            if keep(wf, id) {
                let n = if instances {
                    tasks.get(id.index()).copied().flatten()
                } else {
                    template_node(templates, *t)
                };
                out.extend(n);
            }
        }
    }
    out.into_iter().collect()
}

fn template_node(templates: &[Option<usize>], t: TemplateId) -> Option<usize> {
    templates.get(t.index()).copied().flatten()
}

fn dot(wf: &Workflow, d: &Drawing) -> String {
    let esc = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
    let mut out = format!(
        "digraph \"{}\" {{\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=11];\n",
        esc(&wf.name)
    );
    let node_line = |(id, label, shape, _): &(String, String, Shape, Option<usize>)| {
        let shape = match shape {
            Shape::Registry => "cylinder",
            Shape::Pool => "box3d",
            Shape::StartTask => "component",
            Shape::Task => "box",
            Shape::Sweep => "box, peripheries=2",
        };
        format!("{id} [shape={shape}, label=\"{}\"];", esc(label))
    };
    for n in d.nodes.iter().filter(|n| n.3.is_none()) {
        let _ = writeln!(out, "  {}", node_line(n));
    }
    for (c, label) in d.clusters.iter().enumerate() {
        let _ = writeln!(out, "  subgraph cluster_{c} {{\n    label=\"{}\";", esc(label));
        for n in d.nodes.iter().filter(|n| n.3 == Some(c)) {
            let _ = writeln!(out, "    {}", node_line(n));
        }
        out.push_str("  }\n");
    }
    for (a, b) in &d.edges {
        let _ = writeln!(out, "  n{a} -> n{b};");
    }
    out.push_str("}\n");
    out
}

fn mermaid(d: &Drawing) -> String {
    let esc = |s: &str| s.replace('"', "#quot;").replace('\n', "<br/>");
    let node_line = |(id, label, shape, _): &(String, String, Shape, Option<usize>)| {
        let l = esc(label);
        match shape {
            Shape::Registry => format!("{id}[(\"{l}\")]"),
            Shape::Pool => format!("{id}[[\"{l}\"]]"),
            Shape::StartTask => format!("{id}>\"{l}\"]"),
            Shape::Task => format!("{id}[\"{l}\"]"),
            Shape::Sweep => format!("{id}[/\"{l}\"/]"),
        }
    };
    let mut out = String::from("flowchart LR\n");
    for n in d.nodes.iter().filter(|n| n.3.is_none()) {
        let _ = writeln!(out, "  {}", node_line(n));
    }
    for (c, label) in d.clusters.iter().enumerate() {
        let _ = writeln!(out, "  subgraph c{c} [\"{}\"]", esc(label));
        for n in d.nodes.iter().filter(|n| n.3 == Some(c)) {
            let _ = writeln!(out, "    {}", node_line(n));
        }
        out.push_str("  end\n");
    }
    for (a, b) in &d.edges {
        let _ = writeln!(out, "  n{a} --> n{b}");
    }
    out
}
