//! Whether an earlier run's outputs of a task are still there: the repository files it brought
//! back (else its stored copy, to bring back again), and the `az://` blobs it wrote (one
//! listing per container, however many tasks).

use super::index::Entry;
use crate::exec::cloud::blob::StorageAccount;
use crate::exec::error::{RunError, StorageError};
use crate::exec::stage::{deliver, Store};
use crate::plan::cache_key::{Output, TaskKey};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// Where a hit's repository outputs are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Files {
    /// Every file that run brought back is in the repository.
    InRepository,
    /// Some are gone; its stored copy can bring them back.
    Restorable,
    Gone,
}

/// Whether the repository holds what `hit` brought back, else whether its store still has it.
pub async fn repository(key: &TaskKey, hit: &Entry, repo: &Path, store: Option<&Store>) -> Result<Files, RunError> {
    if hit.files.iter().all(|f| repo.join(f).is_file()) {
        return Ok(Files::InRepository);
    }
    let Some(store) = store else {
        return Ok(Files::Gone);
    };
    for d in deliveries(key) {
        let blob = d.blob.replace("<run>", &hit.run);
        if store.list(&blob).await?.is_empty() {
            return Ok(Files::Gone);
        }
    }
    Ok(Files::Restorable)
}

/// Brings `hit`'s repository outputs back from its stored copy; the files it wrote.
pub async fn restore(key: &TaskKey, hit: &Entry, repo: &Path, store: &Store) -> Result<usize, RunError> {
    let mut n = 0;
    for d in deliveries(key) {
        n += deliver(store, d, &hit.run, repo).await?.files.len();
    }
    Ok(n)
}

fn deliveries(key: &TaskKey) -> impl Iterator<Item = &crate::plan::Delivery> {
    key.outputs.iter().filter_map(|o| match o {
        Output::Repository(d) => Some(d),
        Output::Blob { .. } => None,
    })
}

/// The tasks of `keys` whose `az://` outputs are all in storage, from one listing of each
/// container (under the longest prefix all its outputs share).
pub async fn blobs_present(
    keys: &[&TaskKey],
    account: Option<&StorageAccount>,
) -> Result<HashSet<(String, String)>, StorageError> {
    let mut wanted: HashMap<&str, Vec<&str>> = HashMap::new();
    for k in keys {
        for o in &k.outputs {
            if let Output::Blob { container, path, .. } = o {
                wanted.entry(container.as_str()).or_default().push(path.as_str());
            }
        }
    }
    let mut listed: HashMap<&str, Vec<String>> = HashMap::new();
    if let Some(account) = account {
        for (container, paths) in &wanted {
            let prefix = common_prefix(paths);
            let mut names: Vec<String> = account
                .container(container)
                .list(prefix)
                .await?
                .into_iter()
                .map(|b| b.name)
                .collect();
            names.sort();
            listed.insert(container, names);
        }
    }
    Ok(keys
        .iter()
        .filter(|k| {
            k.outputs.iter().all(|o| match o {
                Output::Repository(_) => true,
                Output::Blob {
                    container,
                    path,
                    prefix,
                } => listed
                    .get(container.as_str())
                    .is_some_and(|names| holds(names, path, *prefix)),
            })
        })
        .map(|k| (k.job.clone(), k.task.clone()))
        .collect())
}

/// Whether sorted `names` hold blob `path`, or (a prefix) some blob under it.
fn holds(names: &[String], path: &str, prefix: bool) -> bool {
    if !prefix {
        return names.binary_search_by(|n| n.as_str().cmp(path)).is_ok();
    }
    let dir = if path.is_empty() || path.ends_with('/') {
        path.to_string()
    } else {
        format!("{path}/")
    };
    let at = names.partition_point(|n| n.as_str() < dir.as_str());
    names.get(at).is_some_and(|n| n.starts_with(&dir))
}

fn common_prefix<'a>(paths: &[&'a str]) -> &'a str {
    let Some(first) = paths.first() else {
        return "";
    };
    let mut len = first.len();
    for p in paths.iter().skip(1) {
        len = first
            .char_indices()
            .zip(p.chars())
            .take_while(|((_, a), b)| a == b)
            .last()
            .map_or(0, |((i, a), _)| i + a.len_utf8())
            .min(len);
    }
    first.get(..len).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_holds_blobs_and_folders() {
        let names: Vec<String> = ["a/x.txt", "a/y/z.txt", "b.txt"].map(String::from).to_vec();
        assert!(holds(&names, "b.txt", false));
        assert!(!holds(&names, "a", false));
        assert!(holds(&names, "a", true));
        assert!(holds(&names, "a/y", true));
        assert!(
            !holds(&names, "a/x", true),
            "a prefix is a folder, not the start of a name"
        );
        assert!(holds(&names, "", true));
    }

    #[test]
    fn the_shared_prefix_of_paths() {
        assert_eq!(common_prefix(&["t-1/out.txt", "t-10/out.txt", "t-2/x"]), "t-");
        assert_eq!(common_prefix(&["all.txt"]), "all.txt");
        assert_eq!(common_prefix(&["a", "b"]), "");
        assert_eq!(common_prefix(&[]), "");
    }
}
