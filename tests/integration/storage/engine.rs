//! The content-addressed upload engine and prefix downloads against Azurite.

use super::transfer::small_blocks;
use super::{account, noise, runtime, unique};
use crate::azurite::Azurite;
use azure_core::Bytes;
use batchflow::exec::cloud::blob::{hash_file, upload_files, upload_paths, LocalFile, Progress, UploadOptions};
use std::sync::atomic::{AtomicU64, Ordering};

fn options() -> UploadOptions {
    UploadOptions {
        blocks: small_blocks(),
        ..UploadOptions::default()
    }
}

#[test]
fn unchanged_files_are_sent_once_across_runs() {
    let az = Azurite::shared();
    let c = account(az).container(&unique("cas"));
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut files: Vec<LocalFile> = (0..20)
        .map(|i| {
            let path = dir.path().join(format!("f{i}.bin"));
            std::fs::write(&path, noise(1000 + i * 37, i as u64)).expect("write");
            hash_file(&path).expect("hashed")
        })
        .collect();
    let twin = dir.path().join("twin.bin");
    std::fs::copy(&files[3].path, &twin).expect("copy");
    files.push(hash_file(&twin).expect("hashed"));
    let large = dir.path().join("large.bin");
    std::fs::write(&large, noise(2 * 1024 * 1024 + 5, 99)).expect("write");
    files.push(hash_file(&large).expect("hashed"));
    let distinct: u64 = files.iter().filter(|f| f.path != twin).map(|f| f.size).sum();

    runtime().block_on(async {
        c.ensure().await.expect("created");
        let (sent, skipped) = (AtomicU64::new(0), AtomicU64::new(0));
        let count = |p: Progress| match p {
            Progress::Sent(n) => sent.fetch_add(n, Ordering::Relaxed),
            Progress::Skipped(n) => skipped.fetch_add(n, Ordering::Relaxed),
        };
        let first = upload_files(&c, &files, &options(), &|p| {
            count(p);
        })
        .await
        .expect("uploaded");
        assert_eq!(
            (first.files_sent, first.files_skipped),
            (21, 0),
            "the twin is one content"
        );
        assert_eq!((first.bytes_sent, sent.load(Ordering::Relaxed)), (distinct, distinct));
        assert_eq!(first.blobs.len(), files.len());
        assert_eq!(first.blobs[3], first.blobs[20], "same content, same blob");
        assert_eq!(first.blobs[21], format!("cas/{}", files[21].sha256));
        for (blob, file) in first.blobs.iter().zip(&files) {
            let info = c.properties(blob).await.expect("probe").expect("exists");
            assert_eq!(info.size, file.size);
        }

        let again = upload_files(&c, &files, &options(), &|p| {
            count(p);
        })
        .await
        .expect("uploaded again");
        assert_eq!(
            (again.bytes_sent, again.files_sent),
            (0, 0),
            "a second run sends nothing"
        );
        assert_eq!((again.files_skipped, again.bytes_skipped), (21, distinct));
        assert_eq!(again.blobs, first.blobs);
        assert_eq!(skipped.load(Ordering::Relaxed), distinct);
    });
}

#[test]
fn a_prefix_comes_down_with_its_relative_paths() {
    let az = Azurite::shared();
    let c = account(az).container(&unique("prefix"));
    let dir = tempfile::tempdir().expect("a temporary folder");
    runtime().block_on(async {
        c.ensure().await.expect("created");
        for (name, body) in [
            ("runs/r1/j/t1/a.txt", "a"),
            ("runs/r1/j/t1/sub/b.txt", "bb"),
            ("runs/r1/j/t10/c.txt", "not this one"),
            ("runs/r1/j/t1.log", "nor this"),
        ] {
            c.put(name, Bytes::from(body), None).await.expect("put");
        }
        let received = AtomicU64::new(0);
        let files = c
            .download_prefix("runs/r1/j/t1/", dir.path(), &|n| {
                received.fetch_add(n, Ordering::Relaxed);
            })
            .await
            .expect("downloaded");
        let rel: Vec<String> = files
            .iter()
            .map(|p| p.strip_prefix(dir.path()).expect("below").display().to_string())
            .collect();
        assert_eq!(rel, vec!["a.txt", "sub/b.txt"]);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("sub/b.txt")).expect("read"),
            "bb"
        );
        assert_eq!(received.load(Ordering::Relaxed), 3);
        let none = c
            .download_prefix("runs/none/", dir.path(), &|_| {})
            .await
            .expect("nothing");
        assert!(none.is_empty());
    });
}

#[test]
fn files_hashed_as_they_go_up_match_files_hashed_first() {
    let az = Azurite::shared();
    let c = account(az).container(&unique("paths"));
    let dir = tempfile::tempdir().expect("a temporary folder");
    let mut paths: Vec<std::path::PathBuf> = (0..30)
        .map(|i| {
            let path = dir.path().join(format!("f{i}.bin"));
            std::fs::write(&path, noise(500 + i * 11, 1000 + i as u64)).expect("write");
            path
        })
        .collect();
    let twin = dir.path().join("twin.bin");
    std::fs::copy(&paths[0], &twin).expect("copy");
    paths.push(twin);
    let large = dir.path().join("large.bin");
    std::fs::write(&large, noise(1024 * 1024 + 3, 4)).expect("write");
    paths.push(large);
    let total: u64 = paths.iter().map(|p| std::fs::metadata(p).expect("size").len()).sum();
    runtime().block_on(async {
        c.ensure().await.expect("created");
        let counted = AtomicU64::new(0);
        let (files, up) = upload_paths(&c, &paths, &options(), &|p| {
            let (Progress::Sent(n) | Progress::Skipped(n)) = p;
            counted.fetch_add(n, Ordering::Relaxed);
        })
        .await
        .expect("uploaded");
        assert_eq!(counted.load(Ordering::Relaxed), total, "every byte of every file once");
        for (file, path) in files.iter().zip(&paths) {
            assert_eq!(file, &hash_file(path).expect("hashed"));
        }
        assert_eq!((up.files_sent, up.files_skipped), (31, 1), "the twin is not sent");
        assert_eq!(up.blobs[0], up.blobs[30]);
        let (_, again) = upload_paths(&c, &paths, &options(), &|_| {}).await.expect("again");
        assert_eq!((again.bytes_sent, again.files_skipped), (0, 32));
    });
}
