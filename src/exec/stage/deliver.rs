//! Outputs with repository destinations, brought back from the run's store: a folder
//! destination receives every blob under the output's prefix with its relative path, a file
//! destination the one blob. Each file is written whole or not at all.

use super::store::Store;
use crate::exec::error::RunError;
use crate::plan::Delivery;
use std::path::{Path, PathBuf};

/// What one delivery wrote.
#[derive(Debug, Default)]
pub struct Delivered {
    pub files: Vec<PathBuf>,
    /// A single-file output whose task made no such file (Batch uploads nothing then).
    pub missing: Option<String>,
}

/// Brings `d`'s blobs of run `run_id` into `repo`.
pub async fn deliver(store: &Store, d: &Delivery, run_id: &str, repo: &Path) -> Result<Delivered, RunError> {
    let blob = d.blob.replace("<run>", run_id);
    let to = inside(repo, &d.to)?;
    let mut out = Delivered::default();
    if d.prefix {
        let prefix = format!("{}/", blob.trim_end_matches('/'));
        for name in store.list(&prefix).await? {
            let dest = inside(&to, &name[prefix.len()..])?;
            store.fetch(&name, &dest).await?;
            out.files.push(dest);
        }
        return Ok(out);
    }
    if !store.list(&blob).await?.contains(&blob) {
        out.missing = Some(d.to.clone());
        return Ok(out);
    }
    let dest = if d.to.ends_with('/') {
        to.join(blob.rsplit('/').next().unwrap_or(&blob))
    } else {
        to
    };
    store.fetch(&blob, &dest).await?;
    out.files.push(dest);
    Ok(out)
}

/// `rel` (`/`-separated) under `base`; a path that climbs out is refused.
fn inside(base: &Path, rel: &str) -> Result<PathBuf, RunError> {
    let mut path = base.to_path_buf();
    for part in rel.split('/').filter(|p| !p.is_empty() && *p != ".") {
        if part == ".." {
            return Err(RunError::Refused(format!("`{rel}` leaves the repository")));
        }
        path.push(part);
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(blob: &str, prefix: bool, to: &str) -> Delivery {
        Delivery {
            job: "j".into(),
            task: "t".into(),
            blob: blob.into(),
            prefix,
            to: to.into(),
            when: crate::plan::batch_api::UploadCondition::TaskSuccess,
        }
    }

    #[test]
    fn folders_files_and_missing_outputs() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::Folder(dir.path().join("store"));
        let src = dir.path().join("src.txt");
        std::fs::write(&src, "x").expect("file");
        for name in [
            "runs/r1/j/t/0/a.bam",
            "runs/r1/j/t/0/sub/b.bam",
            "runs/r1/j/t/1/report.html",
        ] {
            store.keep(&src, name).expect("kept");
        }
        let repo = dir.path().join("repo");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        let go = |d: Delivery| rt.block_on(deliver(&store, &d, "r1", &repo)).expect("delivered");
        let folder = go(delivery("runs/<run>/j/t/0", true, "results/s1/"));
        assert_eq!(
            folder.files,
            [repo.join("results/s1/a.bam"), repo.join("results/s1/sub/b.bam")]
        );
        let file = go(delivery("runs/<run>/j/t/1/report.html", false, "reports/s1.html"));
        assert_eq!(file.files, [repo.join("reports/s1.html")]);
        let into = go(delivery("runs/<run>/j/t/1/report.html", false, "reports/"));
        assert_eq!(into.files, [repo.join("reports/report.html")]);
        let missing = go(delivery("runs/<run>/j/t/2/none.txt", false, "none.txt"));
        assert_eq!(missing.missing.as_deref(), Some("none.txt"));
        assert!(rt
            .block_on(deliver(
                &store,
                &delivery("runs/<run>/j/t/1/report.html", false, "../x"),
                "r1",
                &repo
            ))
            .is_err());
    }
}
