//! Pool mounts on this machine: each mount of a pool (`mountConfiguration`) stands for a local
//! folder the user names in `batchflow.toml` (`[mounts] NAME = "folder"`). A node's
//! `$AZ_BATCH_NODE_MOUNTS_DIR/NAME` is a link to that folder, and container tasks get the
//! folder at the same path, so the link resolves inside them too.

use super::model::Model;
use crate::exec::error::RunError;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The `[mounts]` of the repository's `batchflow.toml`, relative folders taken from `root`.
pub fn folders(root: &Path) -> Result<BTreeMap<String, PathBuf>, RunError> {
    let file = crate::settings::read(root).map_err(RunError::Config)?;
    Ok(file
        .mounts
        .into_iter()
        .map(|(name, folder)| {
            let path = PathBuf::from(&folder);
            let path = if path.is_absolute() { path } else { root.join(path) };
            (name, path)
        })
        .collect())
}

/// Why the run cannot map its pools' mounts, if it cannot: the mounts with no folder (listing
/// what to add to `batchflow.toml`) or a folder that is not there.
pub fn unmapped(model: &Model, folders: &BTreeMap<String, PathBuf>) -> Option<String> {
    let mut missing: Vec<(&str, &str)> = Vec::new();
    for pool in &model.pools {
        for name in &pool.mounts {
            match folders.get(name) {
                Some(folder) if folder.is_dir() => {}
                Some(folder) => {
                    return Some(format!(
                        "mount `{name}` of pool `{}` maps to {}, which is not a folder: create it, or name another in batchflow.toml's [mounts]",
                        pool.id,
                        folder.display()
                    ))
                }
                None => missing.push((pool.id.as_str(), name.as_str())),
            }
        }
    }
    if missing.is_empty() {
        return None;
    }
    let which: Vec<String> = missing.iter().map(|(p, m)| format!("`{m}` (pool `{p}`)")).collect();
    let lines: Vec<String> = missing.iter().map(|(_, m)| format!("{m} = \"/path/to/{m}\"")).collect();
    Some(format!(
        "a local run maps each mount to a folder of this machine, and {} {} none: add to batchflow.toml\n\n[mounts]\n{}",
        which.join(", "),
        if which.len() == 1 { "has" } else { "have" },
        lines.join("\n")
    ))
}

/// `$AZ_BATCH_NODE_MOUNTS_DIR/NAME` as a link to each mount's folder; an existing link stays.
pub fn link(mounts_dir: &Path, mounts: &[(String, PathBuf)]) -> std::io::Result<()> {
    if mounts.is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(mounts_dir)?;
    for (name, folder) in mounts {
        let at = mounts_dir.join(name);
        if at.symlink_metadata().is_ok() {
            continue;
        }
        // The local runner runs on Unix only (Linux commands, process groups).
        std::os::unix::fs::symlink(folder, &at)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_point_at_the_folders_and_stay() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("genomes");
        std::fs::create_dir(&data).expect("mkdir");
        std::fs::write(data.join("GRCh38.fa"), ">chr1\n").expect("write");
        let mounts_dir = dir.path().join("node/fsmounts");
        let mounts = vec![("refdata".to_string(), data.clone())];
        link(&mounts_dir, &mounts).expect("link");
        link(&mounts_dir, &mounts).expect("linking again is fine");
        let text = std::fs::read_to_string(mounts_dir.join("refdata/GRCh38.fa")).expect("read through the link");
        assert_eq!(text, ">chr1\n");
    }
}
