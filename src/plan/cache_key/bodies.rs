//! What a planned task body says that a key needs: the blobs its inputs read, the outputs it
//! writes on success and where, and which tasks are the run's own (logs, barriers).

use super::{BlobInput, Output};
use crate::plan::task_graph::TaskGraph;
use crate::plan::Delivery;
use serde_json::Value;

/// The blob a resource file reads through a placeholder (`<blob:…>`, `<container:…>`).
pub(super) fn blob_input(rf: &Value) -> Option<BlobInput> {
    if let Some(rest) = rf
        .get("httpUrl")
        .and_then(Value::as_str)
        .and_then(|u| u.strip_prefix("<blob:"))
        .and_then(|u| u.strip_suffix('>'))
    {
        let (container, path) = rest.split_once('/')?;
        return Some(BlobInput {
            container: container.to_string(),
            prefix: path.to_string(),
            exact: true,
        });
    }
    let container = rf
        .get("storageContainerUrl")
        .and_then(Value::as_str)
        .and_then(|u| u.strip_prefix("<container:"))
        .and_then(|u| u.strip_suffix('>'))?;
    Some(BlobInput {
        container: container.to_string(),
        prefix: rf.get("blobPrefix").and_then(Value::as_str).unwrap_or("").to_string(),
        exact: false,
    })
}

pub(super) fn resource_files(body: &Value) -> impl Iterator<Item = &Value> {
    let own = body.get("resourceFiles").and_then(Value::as_array);
    let prep = body
        .get("jobPreparationTask")
        .and_then(|p| p.get("resourceFiles"))
        .and_then(Value::as_array);
    own.into_iter().chain(prep).flatten()
}

/// The (container, path) every task's `az://` outputs write under.
pub(super) fn written_prefixes(graph: &TaskGraph) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for b in &graph.bodies {
        for f in b.get("outputFiles").and_then(Value::as_array).into_iter().flatten() {
            if let Some((container, path)) = placeholder_output(f) {
                out.push((container.to_string(), path.to_string()));
            }
        }
    }
    out
}

/// Whether an input reads what some task writes (one name is a prefix of the other).
pub(super) fn overlaps(written: &[(String, String)], b: &BlobInput) -> bool {
    written
        .iter()
        .any(|(c, p)| *c == b.container && (p.starts_with(&b.prefix) || b.prefix.starts_with(p.as_str())))
}

/// An output to `<outputs:CONTAINER>`, as (container, path).
pub(super) fn placeholder_output(f: &Value) -> Option<(&str, &str)> {
    let dest = f.get("destination")?.get("container")?;
    let container = dest
        .get("containerUrl")?
        .as_str()?
        .strip_prefix("<outputs:")?
        .strip_suffix('>')?;
    Some((container, dest.get("path").and_then(Value::as_str).unwrap_or("")))
}

/// The run's own upload of a task's `stdout.txt` or `stderr.txt`.
pub(super) fn is_log(f: &Value, job: &str, task: &str) -> bool {
    placeholder_output(f).is_some_and(|(_, path)| {
        path == format!("runs/<run>/{job}/{task}/stdout.txt") || path == format!("runs/<run>/{job}/{task}/stderr.txt")
    })
}

/// The task's outputs made on success, and whether one goes to a container URL.
pub(super) fn outputs_of(body: &Value, job: &str, task: &str, deliveries: &[&Delivery]) -> (Vec<Output>, bool) {
    let mut out: Vec<Output> = deliveries
        .iter()
        .filter(|d| d.after(true))
        .map(|d| Output::Repository((*d).clone()))
        .collect();
    let mut url = false;
    for f in body.get("outputFiles").and_then(Value::as_array).into_iter().flatten() {
        if is_log(f, job, task) || !on_success(f) {
            continue;
        }
        match placeholder_output(f) {
            Some((_, path)) if path.starts_with("runs/<run>/") => {}
            Some((container, path)) => out.push(Output::Blob {
                container: container.to_string(),
                path: path.to_string(),
                prefix: f
                    .get("filePattern")
                    .and_then(Value::as_str)
                    .is_some_and(crate::plan::staging::has_wildcard),
            }),
            None => url = true,
        }
    }
    (out, url)
}

/// Whether the body has outputs besides the run's log uploads (`when = failure` ones too).
pub(super) fn declares_outputs(body: &Value, job: &str, task: &str) -> bool {
    body.get("outputFiles")
        .and_then(Value::as_array)
        .is_some_and(|l| l.iter().any(|f| !is_log(f, job, task)))
}

/// A barrier task the plan added: it does nothing, so it is reused when what it waits for is.
pub(super) fn is_barrier(body: &Value) -> bool {
    body.get("displayName")
        .and_then(Value::as_str)
        .is_some_and(|n| n.starts_with(crate::plan::barrier::DISPLAY_PREFIX))
}

pub(super) fn on_success(f: &Value) -> bool {
    let when = f
        .get("uploadOptions")
        .and_then(|u| u.get("uploadCondition"))
        .and_then(Value::as_str)
        .unwrap_or("tasksuccess");
    !when.eq_ignore_ascii_case("taskfailure")
}
