//! Which attributes and nested blocks each kind of block takes. Unknown ones are BF008 with
//! a suggestion, repeated ones BF003, missing required ones BF007.

use crate::ast::{Attr, Block, Entry, Expr, Nested, TaskDecl};
use crate::diagnostics::{Code, Diagnostic, Sink};
use crate::source::Span;
use crate::suggest::did_you_mean;

pub struct Schema {
    /// What the block is, for messages: "pool", "task".
    pub what: &'static str,
    pub attrs: &'static [&'static str],
    pub required: &'static [&'static str],
    /// Nested blocks; `env`, `inputs` and `outputs` may also be written `env = { ... }`.
    pub blocks: &'static [&'static str],
    pub tasks: bool,
}

pub const REGISTRY: Schema = Schema {
    what: "registry",
    attrs: &["server", "username", "password", "identity"],
    required: &["server"],
    blocks: &[],
    tasks: false,
};

pub const STORAGE: Schema = Schema {
    what: "storage block",
    attrs: &["account", "container"],
    required: &[],
    blocks: &[],
    tasks: false,
};

pub const POOL: Schema = Schema {
    what: "pool",
    attrs: &[
        "vm_size",
        "image",
        "node_agent",
        "dedicated",
        "low_priority",
        "autoscale",
        "autoscale_interval",
        "task_slots",
        "resize_timeout",
        "inter_node",
        "display_name",
        "keep",
    ],
    required: &["vm_size", "image"],
    blocks: &["containers", "start_task", "mounts"],
    tasks: false,
};

/// The mounts of each kind (`mounts.rs`); the attribute named after the kind says where the
/// file system is.
pub const AZURE_FILES_MOUNT: Schema = Schema {
    what: "azure_files mount",
    attrs: &["azure_files", "account", "key", "options"],
    required: &["key"],
    blocks: &[],
    tasks: false,
};

pub const NFS_MOUNT: Schema = Schema {
    what: "nfs mount",
    attrs: &["nfs", "options"],
    required: &[],
    blocks: &[],
    tasks: false,
};

pub const CIFS_MOUNT: Schema = Schema {
    what: "cifs mount",
    attrs: &["cifs", "username", "password", "options"],
    required: &["username", "password"],
    blocks: &[],
    tasks: false,
};

pub const BLOBFUSE_MOUNT: Schema = Schema {
    what: "blobfuse mount",
    attrs: &["blobfuse", "key", "sas", "identity", "options"],
    required: &[],
    blocks: &[],
    tasks: false,
};

pub const CONTAINERS: Schema = Schema {
    what: "containers block",
    attrs: &["images", "registries"],
    required: &[],
    blocks: &[],
    tasks: false,
};

pub const START_TASK: Schema = Schema {
    what: "start task",
    attrs: &[
        "command",
        "container",
        "run_options",
        "elevation",
        "scope",
        "retries",
        "wait_for_success",
    ],
    required: &["command"],
    blocks: &["env", "inputs"],
    tasks: false,
};

pub const JOB: Schema = Schema {
    what: "job",
    attrs: &["after", "priority", "max_wall_clock", "display_name"],
    required: &[],
    blocks: &["env", "prep_task", "release_task"],
    tasks: true,
};

pub const PREP_TASK: Schema = Schema {
    what: "job preparation task",
    attrs: &[
        "command",
        "container",
        "run_options",
        "elevation",
        "scope",
        "retries",
        "timeout",
        "wait_for_success",
    ],
    required: &["command"],
    blocks: &["env", "inputs"],
    tasks: false,
};

pub const RELEASE_TASK: Schema = Schema {
    what: "job release task",
    attrs: &["command", "container", "run_options", "elevation", "scope", "timeout"],
    required: &["command"],
    blocks: &["env", "inputs"],
    tasks: false,
};

pub const TASK: Schema = Schema {
    what: "task",
    attrs: &[
        "command",
        "container",
        "run_options",
        "elevation",
        "scope",
        "retries",
        "timeout",
        "slots",
        "display_name",
        "cache",
    ],
    required: &[],
    blocks: &["env", "inputs", "outputs", "multi_instance"],
    tasks: false,
};

pub const MULTI_INSTANCE: Schema = Schema {
    what: "multi_instance block",
    attrs: &["nodes", "coordination", "mpi", "processes_per_node"],
    // `coordination` is required unless `mpi` writes one (`mpi.rs`).
    required: &["nodes"],
    blocks: &[],
    tasks: false,
};

/// The schema of the block reached from the top level by `path`, as written: `["pool"]`,
/// `["pool", "start_task"]`, `["job", "task", "multi_instance"]`.
pub fn schema_of(path: &[&str]) -> Option<&'static Schema> {
    Some(match path {
        ["registry"] => &REGISTRY,
        ["storage"] => &STORAGE,
        ["pool"] => &POOL,
        ["pool", "containers"] => &CONTAINERS,
        ["pool", "start_task"] => &START_TASK,
        ["job"] => &JOB,
        ["job", "prep_task"] => &PREP_TASK,
        ["job", "release_task"] => &RELEASE_TASK,
        ["job", "task"] => &TASK,
        ["job", "task", "multi_instance"] => &MULTI_INSTANCE,
        _ => return None,
    })
}

/// Blocks whose entries are free `KEY = value` pairs.
pub const MAP_BLOCKS: &[&str] = &["env", "inputs", "outputs"];

/// A map-valued entry: `env { A = "1" }` or `env = { A = "1" }` or `env = some_map`.
#[derive(Clone, Copy)]
pub enum MapEntry<'a> {
    Block(&'a Block),
    Expr(&'a Expr),
}

/// The entries of a block sorted by the schema.
pub struct Fields<'a> {
    pub attrs: Vec<(&'static str, &'a Attr)>,
    pub blocks: Vec<(&'static str, &'a Nested)>,
    pub maps: Vec<(&'static str, MapEntry<'a>, Span)>,
    pub tasks: Vec<&'a TaskDecl>,
}

impl<'a> Fields<'a> {
    /// Sorts a block's entries, reporting unknown, repeated and missing ones. `owner` is the
    /// span of the declaration's name, where a missing attribute is reported.
    pub fn collect(block: &'a Block, schema: &'static Schema, owner: Span, sink: &mut Sink) -> Fields<'a> {
        let mut fields = Fields {
            attrs: Vec::new(),
            blocks: Vec::new(),
            maps: Vec::new(),
            tasks: Vec::new(),
        };
        let mut seen: Vec<(&str, Span)> = Vec::new();
        for entry in &block.entries {
            let (name, span) = match entry {
                Entry::Attr(a) if a.key_expr.is_some() => {
                    sink.push(
                        Diagnostic::new(Code::BF001, a.key.span, "an attribute name cannot use `${...}`")
                            .with_help("write the name as a plain string; only file names in `inputs` and `outputs` may be interpolated"),
                    );
                    continue;
                }
                Entry::Attr(a) => (a.key.name.as_str(), a.key.span),
                Entry::Nested(n) => (n.name.name.as_str(), n.name.span),
                Entry::Task(t) => {
                    if schema.tasks {
                        fields.tasks.push(t);
                    } else {
                        sink.push(
                            Diagnostic::new(
                                Code::BF008,
                                t.name.span,
                                format!("a {} cannot hold a task", schema.what),
                            )
                            .with_help("declare tasks inside a `job NAME on POOL { ... }` block"),
                        );
                    }
                    continue;
                }
            };
            if let Some((_, first)) = seen.iter().find(|(n, _)| *n == name) {
                sink.push(
                    Diagnostic::new(
                        Code::BF003,
                        span,
                        format!("`{name}` is set twice in this {}", schema.what),
                    )
                    .with_label(*first, "first set here")
                    .with_help("keep one of them"),
                );
                continue;
            }
            seen.push((name, span));
            match entry {
                Entry::Attr(a) => {
                    if let Some(known) = schema.attrs.iter().find(|k| **k == name) {
                        fields.attrs.push((known, a));
                    } else if let Some(map) = map_block(schema, name) {
                        fields.maps.push((map, MapEntry::Expr(&a.value), a.span));
                    } else {
                        sink.push(unknown(schema, name, span, "attribute"));
                    }
                }
                Entry::Nested(n) => {
                    if let Some(map) = map_block(schema, name) {
                        fields.maps.push((map, MapEntry::Block(&n.body), n.span));
                    } else if let Some(known) = schema.blocks.iter().find(|k| **k == name) {
                        fields.blocks.push((known, n));
                    } else if schema.attrs.contains(&name) {
                        sink.push(
                            Diagnostic::new(Code::BF008, span, format!("`{name}` is an attribute, not a block"))
                                .with_help(format!("write `{name} = value`")),
                        );
                    } else {
                        sink.push(unknown(schema, name, span, "block"));
                    }
                }
                Entry::Task(_) => {}
            }
        }
        for req in schema.required {
            if !seen.iter().any(|(n, _)| n == req) {
                sink.push(
                    Diagnostic::new(Code::BF007, owner, format!("this {} has no `{req}`", schema.what))
                        .with_help(format!("add `{req} = ...`; see `batchflow explain BF007`")),
                );
            }
        }
        fields
    }

    pub fn attr(&self, name: &str) -> Option<&'a Attr> {
        self.attrs.iter().find(|(n, _)| *n == name).map(|(_, a)| *a)
    }

    pub fn block(&self, name: &str) -> Option<&'a Nested> {
        self.blocks.iter().find(|(n, _)| *n == name).map(|(_, b)| *b)
    }

    pub fn map(&self, name: &str) -> Option<(MapEntry<'a>, Span)> {
        self.maps.iter().find(|(n, _, _)| *n == name).map(|(_, m, s)| (*m, *s))
    }
}

fn map_block(schema: &Schema, name: &str) -> Option<&'static str> {
    MAP_BLOCKS
        .iter()
        .find(|m| **m == name && schema.blocks.contains(m))
        .copied()
}

/// What other tools call a task's dependencies; batchflow writes them in the task's header.
const DEPENDENCY_WORDS: [&str; 6] = ["after", "depends_on", "dependsOn", "depends", "needs", "requires"];

fn unknown(schema: &Schema, name: &str, span: Span, kind: &str) -> Diagnostic {
    let known = schema.attrs.iter().chain(schema.blocks.iter()).copied();
    let dependency = schema.what == "task" && DEPENDENCY_WORDS.contains(&name);
    let hint = dependency.then(|| {
        "a task's dependencies go in its header, not in an attribute: `task NAME after x { ... }` (several: `after x, y`)"
            .to_string()
    });
    let help = hint.or_else(|| did_you_mean(name, known)).unwrap_or_else(|| {
        let mut all: Vec<&str> = schema.attrs.iter().chain(schema.blocks.iter()).copied().collect();
        all.sort_unstable();
        format!("a {} takes {}", schema.what, all.join(", "))
    });
    Diagnostic::new(
        Code::BF008,
        span,
        format!("unknown {kind} `{name}` in this {}", schema.what),
    )
    .with_help(help)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_aux_task_attribute_is_a_task_or_wait_attribute() {
        for schema in [&START_TASK, &PREP_TASK, &RELEASE_TASK] {
            for a in schema.attrs {
                assert!(TASK.attrs.contains(a) || *a == "wait_for_success", "{a}");
            }
        }
    }

    #[test]
    fn only_tasks_take_cache() {
        assert!(TASK.attrs.contains(&"cache"));
        for schema in [&START_TASK, &PREP_TASK, &RELEASE_TASK] {
            assert!(!schema.attrs.contains(&"cache"), "{}", schema.what);
        }
    }
}
