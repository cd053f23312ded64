//! One file up, one blob down, against Azurite: single Put Blob and blocks, the hash checked
//! while reading, downloads that replace their destination only when complete.

use super::{account, noise, runtime, unique};
use crate::azurite::Azurite;
use batchflow::exec::cloud::blob::{hash_file, BlockOptions, Progress};
use batchflow::exec::error::StorageError;
use std::sync::atomic::{AtomicU64, Ordering};

/// Small blocks, so a few MiB make many.
pub fn small_blocks() -> BlockOptions {
    BlockOptions {
        single_put_max: 64 << 10,
        block_size: 256 << 10,
        parallel: 4,
    }
}

#[test]
fn a_small_and_a_large_file_go_up_and_come_back_identical() {
    let az = Azurite::shared();
    let c = account(az).container(&unique("transfer"));
    let dir = tempfile::tempdir().expect("a temporary folder");
    runtime().block_on(async {
        c.ensure().await.expect("created");
        for (name, size) in [("small.bin", 1000usize), ("large.bin", 3 * 1024 * 1024 + 12_345)] {
            let path = dir.path().join(name);
            let data = noise(size, size as u64);
            std::fs::write(&path, &data).expect("write");
            let file = hash_file(&path).expect("hashed");
            let progress = AtomicU64::new(0);
            let sent = c
                .put_file(&file, &file.cas_name(), &small_blocks(), &|p| {
                    if let Progress::Sent(n) = p {
                        progress.fetch_add(n, Ordering::Relaxed);
                    }
                })
                .await
                .expect("uploaded");
            assert_eq!((sent, progress.load(Ordering::Relaxed)), (size as u64, size as u64));
            let info = c.properties(&file.cas_name()).await.expect("probe").expect("exists");
            assert_eq!(
                (info.size, info.sha256.as_deref()),
                (size as u64, Some(file.sha256.as_str()))
            );
            let back = dir.path().join("back").join(name);
            let got = c
                .download_blob(&file.cas_name(), &back, &|_| {})
                .await
                .expect("downloaded");
            assert_eq!(got, size as u64);
            assert!(
                std::fs::read(&back).expect("read back") == data,
                "{name} comes back identical"
            );
        }
    });
}

#[test]
fn a_file_that_changed_since_it_was_hashed_is_not_committed() {
    let az = Azurite::shared();
    let c = account(az).container(&unique("changed"));
    let dir = tempfile::tempdir().expect("a temporary folder");
    runtime().block_on(async {
        c.ensure().await.expect("created");
        for (name, size) in [("small.bin", 5000usize), ("large.bin", 1024 * 1024)] {
            let path = dir.path().join(name);
            std::fs::write(&path, noise(size, 1)).expect("write");
            let file = hash_file(&path).expect("hashed");
            std::fs::write(&path, noise(size, 2)).expect("rewrite, same size");
            let err = c
                .put_file(&file, &file.cas_name(), &small_blocks(), &|_| {})
                .await
                .expect_err("changed");
            assert!(matches!(err, StorageError::Changed { .. }), "{err:?}");
            assert!(err.to_string().contains(name), "names the file: {err}");
            std::fs::write(&path, noise(size + 1, 1)).expect("rewrite, longer");
            let err = c
                .put_file(&file, &file.cas_name(), &small_blocks(), &|_| {})
                .await
                .expect_err("changed");
            assert!(err.to_string().contains("bytes when hashed"), "{err}");
            assert_eq!(
                c.properties(&file.cas_name()).await.expect("probe"),
                None,
                "nothing committed"
            );
        }
    });
}

#[test]
fn a_failed_download_leaves_the_destination_as_it_was() {
    let az = Azurite::shared();
    let c = account(az).container(&unique("missing"));
    let dir = tempfile::tempdir().expect("a temporary folder");
    let dest = dir.path().join("result.txt");
    std::fs::write(&dest, "previous").expect("write");
    runtime().block_on(async {
        c.ensure().await.expect("created");
        let err = c
            .download_blob("runs/none.txt", &dest, &|_| {})
            .await
            .expect_err("no such blob");
        assert_eq!(err.status(), Some(404), "{err}");
    });
    assert_eq!(std::fs::read_to_string(&dest).expect("still there"), "previous");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(names.len(), 1, "no partial file: {names:?}");
}
