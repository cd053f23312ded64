//! What makes a run's Batch objects its own: job ids unique to the run, and the metadata each
//! pool and job carries (the run, the workflow, the batchflow that made it), so that "is this
//! mine?" after a lost reply is read from the object itself, never guessed from clocks.
//!
//! The plan is made before the run exists, so it writes placeholders that the run fills in as
//! it sends each request (never in `plan.json`):
//! - `<run>`: the run's id (`hello-20261123-141502`), in metadata and output paths;
//! - `<run-suffix>`: a token unique to the run, [`SUFFIX_LEN`] characters
//!   (`261123-141502-3fa9c1`), in job ids: job `align` of a run is `align-<run-suffix>`.

use super::batch_api::{MetadataItem, PoolAddParameter};
use sha2::{Digest, Sha256};

/// The run's id.
pub const RUN: &str = "<run>";
/// The run's suffix in job ids.
pub const SUFFIX: &str = "<run-suffix>";
/// Characters of a run suffix: `YYMMDD-HHMMSS-` and 6 hex digits.
pub const SUFFIX_LEN: usize = 20;
/// Batch ids: "any combination of alphanumeric characters including hyphens and underscores,
/// and cannot contain more than 64 characters".
const MAX_ID: usize = 64;

/// The metadata names batchflow sets.
pub mod meta {
    /// The run that made the pool or job, or last used the pool.
    pub const RUN: &str = "batchflow-run";
    pub const WORKFLOW: &str = "batchflow-workflow";
    /// The workflow's job a Batch job stands for.
    pub const JOB: &str = "batchflow-job";
    pub const VERSION: &str = "batchflow-version";
    /// A hash of the pool's configuration without its id, name and size (see [`super::spec`]).
    pub const SPEC: &str = "batchflow-spec";
    /// A kept pool: how long it may stay idle before it shrinks to no nodes (ISO 8601).
    pub const KEEP: &str = "batchflow-keep";
    /// A kept pool: when the last run that used it ended (RFC 3339).
    pub const IDLE_SINCE: &str = "batchflow-idle-since";
    /// A kept pool: its dedicated and low-priority nodes while it has tasks (`2,0`).
    pub const NODES: &str = "batchflow-nodes";
}

/// This batchflow's version, as metadata records it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The Batch id of the workflow's job `name` in a run: `NAME-<run-suffix>`, the name cut
/// short (and a hash of it added, so two long names stay apart) when it would not fit in 64
/// characters.
pub fn job_id(name: &str) -> String {
    let room = MAX_ID - 1 - SUFFIX_LEN;
    if name.chars().count() <= room {
        return format!("{name}-{SUFFIX}");
    }
    let hash = hex(&Sha256::digest(name.as_bytes()), 6);
    let head: String = name.chars().take(room - hash.len() - 1).collect();
    format!("{head}-{hash}-{SUFFIX}")
}

/// What a pool batchflow creates carries.
pub fn pool_metadata(workflow: &str, spec: &str) -> Vec<MetadataItem> {
    vec![
        item(meta::RUN, RUN),
        item(meta::WORKFLOW, workflow),
        item(meta::VERSION, VERSION),
        item(meta::SPEC, spec),
    ]
}

/// What a job batchflow creates carries.
pub fn job_metadata(workflow: &str, job: &str) -> Vec<MetadataItem> {
    vec![
        item(meta::RUN, RUN),
        item(meta::WORKFLOW, workflow),
        item(meta::JOB, job),
        item(meta::VERSION, VERSION),
    ]
}

pub fn item(name: &str, value: &str) -> MetadataItem {
    MetadataItem {
        name: name.to_string(),
        value: value.to_string(),
    }
}

/// The value of metadata `name`.
pub fn value<'a>(metadata: &'a [MetadataItem], name: &str) -> Option<&'a str> {
    metadata.iter().find(|m| m.name == name).map(|m| m.value.as_str())
}

/// A hash of what a pool is, apart from its id, display name, metadata and size (a pool of
/// the same specification is reused whatever its size): two pools with the same hash have
/// the same VM size, image, node agent, containers, start task, task slots and inter-node
/// communication. Secrets and repository files count as their placeholders.
pub fn spec(body: &PoolAddParameter) -> String {
    let mut b = body.clone();
    b.id = String::new();
    b.display_name = None;
    b.metadata = Vec::new();
    b.resize_timeout = None;
    b.target_dedicated_nodes = None;
    b.target_low_priority_nodes = None;
    b.enable_auto_scale = None;
    b.auto_scale_formula = None;
    b.auto_scale_evaluation_interval = None;
    b.virtual_machine_configuration.node_agent_sku_id =
        b.virtual_machine_configuration.node_agent_sku_id.to_ascii_lowercase();
    b.vm_size = b.vm_size.to_ascii_lowercase();
    let json = serde_json::to_vec(&b).unwrap_or_default();
    hex(&Sha256::digest(&json), 16)
}

/// The first `chars` lowercase hex digits of `bytes`.
pub(super) fn hex(bytes: &[u8], chars: usize) -> String {
    bytes
        .iter()
        .flat_map(|b| [b >> 4, b & 0xf])
        .take(chars)
        .map(|n| char::from_digit(u32::from(n), 16).unwrap_or('0'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_id_fits_in_64_characters_with_any_suffix() {
        assert_eq!(job_id("align"), "align-<run-suffix>");
        let suffix = "261123-141502-3fa9c1";
        assert_eq!(suffix.len(), SUFFIX_LEN);
        let long = "a".repeat(64);
        let id = job_id(&long).replace(SUFFIX, suffix);
        assert_eq!(id.len(), 64, "{id}");
        // Two long names that share their first 43 characters stay apart.
        let other = format!("{}b", "a".repeat(63));
        assert_ne!(job_id(&long), job_id(&other));
        let fits = "b".repeat(43);
        assert_eq!(job_id(&fits).replace(SUFFIX, suffix).len(), 64);
    }

    #[test]
    fn the_spec_ignores_the_size_and_the_name() {
        let mut a = PoolAddParameter {
            id: "cpu".into(),
            vm_size: "Standard_D2s_v5".into(),
            target_dedicated_nodes: Some(2),
            ..PoolAddParameter::default()
        };
        let first = spec(&a);
        a.id = "other".into();
        a.target_dedicated_nodes = Some(5);
        a.vm_size = "standard_d2s_v5".into();
        assert_eq!(spec(&a), first);
        a.task_slots_per_node = Some(4);
        assert_ne!(spec(&a), first);
    }
}
