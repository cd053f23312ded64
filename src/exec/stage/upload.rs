//! Before a Batch run: the repository files its tasks read go to the storage container by
//! content (`cas/<sha256>`, so an unchanged file is never sent twice, across tasks and across
//! runs), with a byte progress line; then the SAS signer, valid as long as the longest job may
//! run plus a margin.

use super::links::Signed;
use crate::exec::cloud::blob::{upload_paths, Progress, StorageAccount, UploadOptions, MAX_DELEGATION};
use crate::exec::error::{RunError, StorageError};
use crate::exec::Observer;
use crate::plan::{Action, Plan, StepKind, Upload};
use crate::value::format_bytes;
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// How long SAS live when some job has no `max_wall_clock`.
const UNBOUNDED: Duration = Duration::from_secs(7 * 24 * 3600);
/// Beyond the longest job: allocation, queueing, the uploads after the last task.
const MARGIN: Duration = Duration::from_secs(2 * 3600);
/// How often the progress line is redrawn.
const TICK: Duration = Duration::from_millis(200);

/// Each repository file the plan uploads is still there with the size the plan saw.
pub fn check_unchanged(repo: &Path, uploads: &[Upload]) -> Result<(), RunError> {
    for u in uploads {
        let meta = std::fs::metadata(repo.join(&u.path)).map_err(|e| {
            RunError::Refused(format!(
                "the input `{}` cannot be read ({e}); nothing was started",
                u.path
            ))
        })?;
        if !meta.is_file() || meta.len() != u.size {
            return Err(RunError::Refused(format!(
                "the input `{}` changed since the workflow was checked ({} bytes then, {} now); run again to use it as it is now",
                u.path,
                u.size,
                meta.len()
            )));
        }
    }
    Ok(())
}

/// Uploads the plan's repository files into its container and signs SAS for the run.
pub async fn prepare(
    account: &StorageAccount,
    plan: &Plan,
    repo: &Path,
    observer: &mut dyn Observer,
) -> Result<Signed, RunError> {
    let name = plan.staging.storage.container.clone();
    let container = account.container(&name);
    container
        .ensure()
        .await
        .map_err(|e| RunError::storage(format!("create the container `{name}`"), e))?;
    let uploads = &plan.staging.uploads;
    let paths: Vec<_> = uploads.iter().map(|u| repo.join(&u.path)).collect();
    let total: u64 = uploads.iter().map(|u| u.size).sum();
    let (sent, skipped) = (AtomicU64::new(0), AtomicU64::new(0));
    let progress = |p: Progress| {
        match p {
            Progress::Sent(n) => sent.fetch_add(n, Ordering::Relaxed),
            Progress::Skipped(n) => skipped.fetch_add(n, Ordering::Relaxed),
        };
    };
    let options = UploadOptions::default();
    let work = upload_paths(&container, &paths, &options, &progress);
    tokio::pin!(work);
    let mut tick = tokio::time::interval(TICK);
    let result = loop {
        tokio::select! {
            done = &mut work => break done,
            _ = tick.tick(), if !uploads.is_empty() => {
                let done = sent.load(Ordering::Relaxed) + skipped.load(Ordering::Relaxed);
                observer.waiting("uploads", Some(&format!(
                    "uploading {} input file{}: {} of {}",
                    uploads.len(),
                    if uploads.len() == 1 { "" } else { "s" },
                    format_bytes(done),
                    format_bytes(total)
                )));
            }
        }
    };
    observer.waiting("uploads", None);
    let (files, up) = result.map_err(|e| RunError::storage(format!("upload inputs to `{name}`"), e))?;
    if !uploads.is_empty() {
        observer.note(&format!(
            "inputs: {} file{} sent ({}), {} already in storage ({})",
            up.files_sent,
            if up.files_sent == 1 { "" } else { "s" },
            format_bytes(up.bytes_sent),
            up.files_skipped,
            format_bytes(up.bytes_skipped)
        ));
    }
    let cas: HashMap<String, String> = uploads
        .iter()
        .zip(&files)
        .map(|(u, f)| (u.path.clone(), f.cas_name()))
        .collect();
    let (signer, expiry) = signer(account, plan, observer).await?;
    Ok(Signed {
        account: account.clone(),
        signer,
        expiry,
        cas,
        container: name,
    })
}

/// A signer whose SAS outlive every job; with Microsoft Entra ID at most 7 days, said once.
async fn signer(
    account: &StorageAccount,
    plan: &Plan,
    observer: &mut dyn Observer,
) -> Result<(crate::exec::cloud::blob::SasSigner, SystemTime), RunError> {
    let wanted = SystemTime::now() + longest_job(plan).map_or(UNBOUNDED, |d| d + MARGIN);
    let sign = |until| async move {
        account
            .sas_signer(until)
            .await
            .map_err(|e| RunError::storage("sign shared access signatures", e))
    };
    match account.sas_signer(wanted).await {
        Ok(s) => Ok((s, wanted)),
        Err(StorageError::DelegationLimit { .. }) => {
            let until = SystemTime::now() + MAX_DELEGATION - Duration::from_secs(600);
            observer.note(
                "storage access for this run's tasks lasts 7 days, the most a user delegation SAS (Microsoft Entra ID) allows: outputs of tasks that end later cannot be uploaded",
            );
            Ok((sign(until).await?, until))
        }
        Err(e) => Err(RunError::storage("sign shared access signatures", e)),
    }
}

/// The longest `maxWallClockTime` of the plan's jobs; `None` when a job has none.
fn longest_job(plan: &Plan) -> Option<Duration> {
    let mut longest = Duration::ZERO;
    for step in &plan.steps {
        let (StepKind::CreateJob { .. }, Action::Request { body, .. }) = (&step.kind, &step.action) else {
            continue;
        };
        let job: serde_json::Value = serde_json::from_str(body.get()).ok()?;
        let limit = job["constraints"]["maxWallClockTime"]
            .as_str()
            .and_then(crate::value::parse_iso8601)?;
        longest = longest.max(limit);
    }
    Some(longest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_or_missing_input_is_refused_by_name() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("a.txt"), "abc").expect("file");
        let up = |path: &str, size| Upload {
            path: path.into(),
            size,
        };
        assert!(check_unchanged(dir.path(), &[up("a.txt", 3)]).is_ok());
        let changed = check_unchanged(dir.path(), &[up("a.txt", 4)]).expect_err("changed");
        assert!(changed.to_string().contains("`a.txt` changed"), "{changed}");
        let gone = check_unchanged(dir.path(), &[up("b.txt", 1)]).expect_err("gone");
        assert!(gone.to_string().contains("`b.txt` cannot be read"), "{gone}");
    }
}
