//! The lowered workflow: typed tables of registries, pools, jobs, task templates and task
//! instances, tied together by a petgraph DAG. Every node keeps the span it came from.

use crate::source::{LiteralMap, Span, Spanned};
use petgraph::graph::{DiGraph, NodeIndex};
use std::sync::Arc;

macro_rules! id_type {
    ($($name:ident),*) => {$(
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u32);

        impl $name {
            pub fn index(self) -> usize {
                self.0 as usize
            }
        }
    )*};
}

id_type!(RegistryId, PoolId, JobId, TemplateId, TaskId);

/// What a graph node stands for; the data lives in the [`Workflow`] tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Node {
    Registry(RegistryId),
    Pool(PoolId),
    StartTask(PoolId),
    Job(JobId),
    Task(TaskId),
}

/// Edges point the way work flows: from what must come first to what follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edge {
    /// registry -> pool: the pool pulls images with the registry's credentials.
    Pulls,
    /// pool -> start task, start task -> job: nodes run their start task before tasks.
    Starts,
    /// pool -> job when the pool has no start task.
    Hosts,
    /// job -> task
    Contains,
    /// task -> task (dependency) or job -> job (`after`).
    Before,
}

/// A Batch image reference.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Image {
    Marketplace {
        publisher: String,
        offer: String,
        sku: String,
        version: String,
    },
    /// `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Compute/images/{name}`
    Managed { resource_id: String },
    /// `.../providers/Microsoft.Compute/galleries/{g}/images/{def}[/versions/{v}]`
    Gallery { resource_id: String },
}

impl Image {
    pub fn is_custom(&self) -> bool {
        !matches!(self, Image::Marketplace { .. })
    }

    /// The resource id of a custom image, lowercased, to compare images between pools.
    pub fn custom_key(&self) -> Option<String> {
        match self {
            Image::Marketplace { .. } => None,
            Image::Managed { resource_id } | Image::Gallery { resource_id } => {
                Some(resource_id.trim_end_matches('/').to_ascii_lowercase())
            }
        }
    }
}

/// The Azure CLI's URN form, `publisher:offer:sku:version`, which `image = "..."` reads back.
impl std::fmt::Display for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Image::Marketplace {
                publisher,
                offer,
                sku,
                version,
            } => write!(f, "{publisher}:{offer}:{sku}:{version}"),
            Image::Managed { resource_id } | Image::Gallery { resource_id } => f.write_str(resource_id),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elevation {
    NonAdmin,
    Admin,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Pool,
    Task,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvVar {
    pub name: Arc<str>,
    pub value: Arc<str>,
}

/// Where an input comes from or an output goes, by the value's form.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Location {
    /// A URL (`https://...`, or a `secret()` holding one): used as written.
    Url,
    /// `az://CONTAINER/PATH`: blobs in the workflow's storage account; a path that is empty or
    /// ends in `/` is a prefix (every blob under it).
    Blob { container: Arc<str>, path: Arc<str> },
    /// A path in the repository, relative to its root: a file, a folder (every file under it)
    /// or a glob for inputs; a folder (ending in `/`) or a file for outputs.
    Repo,
}

impl Location {
    /// The location a value names, by its form.
    pub fn of(value: &str) -> Location {
        if let Some(rest) = value.strip_prefix("az://") {
            let (container, path) = rest.split_once('/').unwrap_or((rest, ""));
            return Location::Blob {
                container: container.into(),
                path: path.into(),
            };
        }
        if value.contains("://") || value.starts_with("<secret:") {
            Location::Url
        } else {
            Location::Repo
        }
    }
}

/// When Batch uploads an output (`uploadCondition`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum UploadWhen {
    #[default]
    Success,
    Failure,
    Always,
}

/// `inputs { "path" = "source" }` / `outputs { "pattern" = "destination" }`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileMap {
    /// The key: a path in the task's working directory (inputs), a file pattern (outputs).
    pub path: Arc<str>,
    /// The value as written (a URL, `az://...`, or a repository path).
    pub url: Arc<str>,
    pub location: Location,
    /// Outputs only.
    pub when: UploadWhen,
    /// Where the value is written.
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MultiInstance {
    pub nodes: u32,
    pub coordination: Arc<str>,
    /// Set by `mpi = ...`: the command and the coordination above are the launcher batchflow
    /// wrote (see `docs/mpi.md`); this keeps what the user wrote.
    pub mpi: Option<MpiLaunch>,
}

/// The MPI libraries the launch helper knows, as the HPC images ship them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mpi {
    OpenMpi,
    IntelMpi,
    Hpcx,
}

impl Mpi {
    /// The word written in the workflow.
    pub fn word(self) -> &'static str {
        match self {
            Mpi::OpenMpi => "openmpi",
            Mpi::IntelMpi => "intelmpi",
            Mpi::Hpcx => "hpcx",
        }
    }
}

/// What `multi_instance { mpi = ... }` asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MpiLaunch {
    pub mpi: Mpi,
    pub processes_per_node: u32,
    /// The task's `command` as written: the program every MPI process runs.
    pub program: Arc<str>,
    /// The `coordination` as written, run after the generated wait, if any.
    pub coordination: Option<Arc<str>>,
}

/// The attribute spans of one declaration, shared by all the instances it produces.
#[derive(Clone, Debug, Default)]
pub struct AttrSpans(Vec<(&'static str, Span)>);

impl AttrSpans {
    pub fn insert(&mut self, name: &'static str, span: Span) {
        self.0.push((name, span));
    }

    pub fn get(&self, name: &str) -> Option<Span> {
        self.0.iter().find(|(n, _)| *n == name).map(|&(_, s)| s)
    }

    /// The attribute's span, or `fallback` (usually the declaration's name).
    pub fn or(&self, name: &str, fallback: Span) -> Span {
        self.get(name).unwrap_or(fallback)
    }
}

/// The attributes of anything Batch runs: tasks, start tasks, job prep/release tasks.
/// Values that do not depend on loop variables are shared between instances (`Arc`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TaskSpec {
    pub command: Option<Arc<str>>,
    pub display_name: Option<Arc<str>>,
    pub container: Option<Arc<str>>,
    pub run_options: Option<Arc<str>>,
    pub env: Arc<[EnvVar]>,
    pub elevation: Option<Elevation>,
    pub scope: Option<Scope>,
    pub retries: Option<i64>,
    /// Seconds.
    pub timeout: Option<u64>,
    pub slots: Option<u32>,
    pub wait_for_success: Option<bool>,
    pub inputs: Arc<[FileMap]>,
    pub outputs: Arc<[FileMap]>,
    pub multi_instance: Option<Arc<MultiInstance>>,
}

/// A start task, job preparation or job release task: one declaration, one instance.
#[derive(Clone, Debug)]
pub struct AuxTask {
    pub span: Span,
    pub attrs: AttrSpans,
    pub spec: TaskSpec,
}

#[derive(Clone, Debug)]
pub struct Registry {
    pub name: Spanned<String>,
    pub span: Span,
    pub node: NodeIndex,
    pub attrs: AttrSpans,
    pub server: Option<String>,
    pub username: Option<String>,
    /// May hold `<secret:NAME>` placeholders.
    pub password: Option<String>,
    pub identity: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Containers {
    pub span: Span,
    pub images: Vec<Spanned<String>>,
    pub registries: Vec<RegistryId>,
}

/// A file system every node of a pool mounts under `$AZ_BATCH_NODE_MOUNTS_DIR/NAME`
/// (`mountConfiguration`).
#[derive(Clone, Debug)]
pub struct Mount {
    /// The mount's name: its path below the mounts directory (`relativeMountPath`).
    pub name: Spanned<String>,
    pub span: Span,
    pub attrs: AttrSpans,
    pub kind: MountKind,
    /// `mountOptions` (`blobfuseOptions` for blobfuse), passed to the mount command.
    pub options: Option<String>,
}

/// What a mount mounts. Keys, passwords and SAS tokens may hold `<secret:NAME>` placeholders.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MountKind {
    /// An Azure Files share: `https://ACCOUNT.file.core.windows.net/SHARE`.
    AzureFiles { url: String, account: String, key: String },
    /// An NFS export: `10.0.0.4:/exports/data`.
    Nfs { source: String },
    /// A CIFS/SMB share: `//server/share`.
    Cifs {
        source: String,
        username: String,
        password: String,
    },
    /// A blob container through blobfuse.
    Blobfuse {
        account: String,
        container: String,
        auth: BlobAuth,
    },
}

impl MountKind {
    /// The attribute that names the kind in a `mounts` block.
    pub fn word(&self) -> &'static str {
        match self {
            MountKind::AzureFiles { .. } => "azure_files",
            MountKind::Nfs { .. } => "nfs",
            MountKind::Cifs { .. } => "cifs",
            MountKind::Blobfuse { .. } => "blobfuse",
        }
    }
}

/// How blobfuse reaches its container: exactly one of these.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlobAuth {
    Key(String),
    Sas(String),
    /// A user-assigned identity's resource id; the pool carries it.
    Identity(String),
}

#[derive(Clone, Debug)]
pub struct Pool {
    pub name: Spanned<String>,
    pub span: Span,
    pub node: NodeIndex,
    pub attrs: AttrSpans,
    pub display_name: Option<String>,
    pub vm_size: Option<String>,
    pub image: Option<Image>,
    pub node_agent: Option<String>,
    pub dedicated: Option<u32>,
    pub low_priority: Option<u32>,
    pub autoscale: Option<String>,
    /// Where the formula's bytes sit in the file when it is written as one string literal,
    /// so that BF224 can point inside it.
    pub autoscale_map: Option<LiteralMap>,
    /// Seconds.
    pub autoscale_interval: Option<u64>,
    pub task_slots: Option<u32>,
    /// Seconds.
    pub resize_timeout: Option<u64>,
    pub inter_node: Option<bool>,
    /// Seconds the pool may stay idle after a run before it shrinks to no nodes (`keep`); the
    /// pool outlives the run (Azure Batch only).
    pub keep: Option<u64>,
    pub containers: Option<Containers>,
    pub start_task: Option<(AuxTask, NodeIndex)>,
    /// `mounts { }`, in the order written.
    pub mounts: Vec<Mount>,
}

impl Pool {
    pub fn target_nodes(&self) -> u64 {
        u64::from(self.dedicated.unwrap_or(0)) + u64::from(self.low_priority.unwrap_or(0))
    }

    pub fn task_slots(&self) -> u32 {
        self.task_slots.unwrap_or(1)
    }
}

#[derive(Clone, Debug)]
pub struct Job {
    pub name: Spanned<String>,
    pub span: Span,
    pub node: NodeIndex,
    pub attrs: AttrSpans,
    pub pool: Option<PoolId>,
    pub display_name: Option<String>,
    pub priority: Option<i64>,
    /// Seconds.
    pub max_wall_clock: Option<u64>,
    pub env: Arc<[EnvVar]>,
    pub prep_task: Option<AuxTask>,
    pub release_task: Option<AuxTask>,
    pub after: Vec<JobId>,
    pub templates: Vec<TemplateId>,
}

/// One `task` declaration; a sweep expands it into several instances.
#[derive(Clone, Debug)]
pub struct TaskTemplate {
    pub name: Spanned<String>,
    pub span: Span,
    pub job: JobId,
    pub attrs: AttrSpans,
    pub is_sweep: bool,
    /// The `after` names as written.
    pub after: Vec<Spanned<String>>,
    /// The instances, consecutive in `Workflow::tasks`.
    pub first: u32,
    pub count: u32,
    /// A sweep's loop variables and what each ranges over, in declaration order (the last
    /// moves fastest), to say what each instance stands for.
    pub axes: Vec<(String, Axis)>,
    /// `cache = false` turns the task cache off for every instance (default `true`).
    pub cache: bool,
}

/// The values of a loop variable, as an instance's label prints them.
#[derive(Clone, Debug)]
pub enum Axis {
    /// `a..b`, kept lazy.
    Range(i64, i64),
    /// A list's items as text (`None` for an item with no text: a list or a map).
    Items(Arc<[Option<Arc<str>>]>),
}

impl TaskTemplate {
    pub fn instances(&self) -> impl Iterator<Item = TaskId> {
        (self.first..self.first + self.count).map(TaskId)
    }
}

/// One task Batch will run: `train-3`.
#[derive(Clone, Debug)]
pub struct Task {
    pub id: Box<str>,
    pub template: TemplateId,
    pub node: NodeIndex,
    pub spec: TaskSpec,
}

/// `storage { account = "...", container = "..." }`, when the workflow has one.
#[derive(Clone, Debug, Default)]
pub struct Storage {
    pub span: Span,
    pub attrs: AttrSpans,
    pub account: Option<String>,
    pub container: Option<String>,
}

#[derive(Debug, Default)]
pub struct Workflow {
    pub name: String,
    pub storage: Option<Storage>,
    pub registries: Vec<Registry>,
    pub pools: Vec<Pool>,
    pub jobs: Vec<Job>,
    pub templates: Vec<TaskTemplate>,
    pub tasks: Vec<Task>,
    pub graph: DiGraph<Node, Edge>,
}

impl Workflow {
    pub fn pool(&self, id: PoolId) -> Option<&Pool> {
        self.pools.get(id.index())
    }

    pub fn job(&self, id: JobId) -> Option<&Job> {
        self.jobs.get(id.index())
    }

    pub fn template(&self, id: TemplateId) -> Option<&TaskTemplate> {
        self.templates.get(id.index())
    }

    pub fn task(&self, id: TaskId) -> Option<&Task> {
        self.tasks.get(id.index())
    }

    pub fn registry(&self, id: RegistryId) -> Option<&Registry> {
        self.registries.get(id.index())
    }

    /// The user-assigned managed identities `pool` must carry, by resource id, each once: those
    /// of the registries it pulls from and of its blobfuse mounts. A pool with any is created through Azure Resource
    /// Manager, the only API that sets a pool's identities. The hook for other users of a
    /// pool identity (`storage { identity = "…" }`, so resource and output files use
    /// `identityReference`): add their ids here, and the pool gets them.
    pub fn pool_identities(&self, pool: &Pool) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let registries = pool.containers.iter().flat_map(|c| c.registries.iter());
        let mounts = pool.mounts.iter().filter_map(|m| match &m.kind {
            MountKind::Blobfuse {
                auth: BlobAuth::Identity(id),
                ..
            } => Some(id.clone()),
            _ => None,
        });
        let registries = registries.filter_map(|r| self.registry(*r)?.identity.clone());
        for id in registries.chain(mounts) {
            if !out.iter().any(|o| o.eq_ignore_ascii_case(&id)) {
                out.push(id);
            }
        }
        out
    }

    /// The pool a task runs on.
    pub fn pool_of_template(&self, id: TemplateId) -> Option<&Pool> {
        let job = self.job(self.template(id)?.job)?;
        self.pool(job.pool?)
    }

    /// The tasks a task depends on (its `Before` predecessors).
    pub fn dependencies(&self, task: &Task) -> impl Iterator<Item = TaskId> + '_ {
        self.graph
            .neighbors_directed(task.node, petgraph::Direction::Incoming)
            .filter_map(|n| match self.graph.node_weight(n) {
                Some(Node::Task(id)) => Some(*id),
                _ => None,
            })
    }
}
