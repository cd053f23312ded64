//! Faults between the client and Azurite (through `storage_proxy`): throttling and dropped
//! connections are retried, an upload killed mid-way resumes without resending staged
//! blocks, a 403 names what is missing, a cut download is retried and a failed one leaves
//! nothing behind.

use super::transfer::small_blocks;
use super::{noise, quick_retry, runtime, unique};
use crate::azurite::{token, Azurite, ACCOUNT};
use crate::storage_proxy::{Faults, Proxy};
use azure_core::Bytes;
use batchflow::exec::cloud::blob::{hash_file, upload_files, StorageAccount, UploadOptions};
use batchflow::exec::error::{RunError, StorageError};
use std::collections::HashMap;

fn through(proxy: &Proxy) -> StorageAccount {
    let env = HashMap::from([("AZURE_STORAGE_CONNECTION_STRING".to_string(), proxy.connection_string())]);
    StorageAccount::from_env(&env)
        .expect("parses")
        .expect("an account")
        .with_retry(quick_retry())
}

fn proxy() -> Proxy {
    let az = Azurite::shared();
    Proxy::start(&format!("http://127.0.0.1:{}", az.port))
}

#[test]
fn throttling_and_dropped_connections_are_retried() {
    let proxy = proxy();
    let c = through(&proxy).container(&unique("busy"));
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("f.bin");
    std::fs::write(&path, noise(10_000, 7)).expect("write");
    let file = hash_file(&path).expect("hashed");
    runtime().block_on(async {
        proxy.set(Faults {
            busy: 3,
            ..Faults::default()
        });
        c.ensure().await.expect("created after three 503 ServerBusy");
        proxy.set(Faults {
            drop: 2,
            ..Faults::default()
        });
        let up = upload_files(&c, std::slice::from_ref(&file), &UploadOptions::default(), &|_| {})
            .await
            .expect("uploaded through two dropped connections");
        assert_eq!(up.bytes_sent, 10_000);
        assert_eq!(proxy.take_stats().injected, 5);

        proxy.set(Faults {
            busy: 1000,
            ..Faults::default()
        });
        let err = c.properties("cas/x").await.expect_err("throttled for good");
        assert_eq!((err.status(), err.code()), (Some(503), Some("ServerBusy")), "{err}");
        assert_eq!(proxy.take_stats().requests, u64::from(quick_retry().max_attempts));
    });
}

#[test]
fn an_upload_killed_midway_resumes_without_resending_staged_blocks() {
    let proxy = proxy();
    let c = through(&proxy).container(&unique("resume"));
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("large.bin");
    let data = noise(3 * 1024 * 1024 + 777, 11);
    std::fs::write(&path, &data).expect("write");
    let file = hash_file(&path).expect("hashed");
    let options = UploadOptions {
        blocks: small_blocks(),
        ..UploadOptions::default()
    };
    runtime().block_on(async {
        c.ensure().await.expect("created");
        proxy.take_stats();
        proxy.set(Faults {
            cut_after_bytes: Some(1024 * 1024),
            ..Faults::default()
        });
        let err = upload_files(&c, std::slice::from_ref(&file), &options, &|_| {})
            .await
            .expect_err("the upload dies after 1 MiB");
        assert!(matches!(err, StorageError::Transport(_)), "{err:?}");
        // Blocks the upload abandoned may still be on their way to Azurite: let them land.
        proxy.wait_idle();
        let first = proxy.take_stats();
        assert!(first.block_bytes > 0 && first.body_bytes <= 1024 * 1024, "{first:?}");
        assert_eq!(
            c.properties(&file.cas_name()).await.expect("probe"),
            None,
            "not committed"
        );

        proxy.set(Faults::default());
        proxy.take_stats();
        let up = upload_files(&c, std::slice::from_ref(&file), &options, &|_| {})
            .await
            .expect("resumed");
        let second = proxy.take_stats();
        // Which blocks Azurite staged before the cut depends on timing; none is sent twice,
        // and no more is reused than went through before it.
        assert!(
            up.bytes_skipped > 0 && up.bytes_skipped <= first.body_bytes,
            "the staged blocks are not sent again: {up:?} after {first:?}"
        );
        assert_eq!(up.bytes_sent + up.bytes_skipped, data.len() as u64);
        assert_eq!(
            second.block_bytes, up.bytes_sent,
            "only the missing blocks went over the wire"
        );
        let back = dir.path().join("back.bin");
        c.download_blob(&file.cas_name(), &back, &|_| {})
            .await
            .expect("downloaded");
        assert!(
            std::fs::read(&back).expect("read") == data,
            "the resumed blob is the file"
        );
    });
}

#[test]
fn a_403_names_the_missing_role_or_key() {
    let proxy = proxy();
    proxy.set(Faults {
        deny: Some("AuthorizationPermissionMismatch".into()),
        ..Faults::default()
    });
    let env = HashMap::from([
        ("AZURE_STORAGE_ACCOUNT".to_string(), ACCOUNT.to_string()),
        ("AZURE_STORAGE_SERVICE_ENDPOINT".to_string(), proxy.blob_endpoint()),
        ("BATCHFLOW_ACCESS_TOKEN".to_string(), token()),
    ]);
    let entra = StorageAccount::from_env(&env).expect("parses").expect("an account");
    let wrong_key = {
        let az = Azurite::shared();
        let cs = az.connection_string().replace(crate::azurite::KEY, "d3Jvbmcga2V5");
        let env = HashMap::from([("AZURE_STORAGE_CONNECTION_STRING".to_string(), cs)]);
        StorageAccount::from_env(&env).expect("parses").expect("an account")
    };
    runtime().block_on(async {
        let err = entra.container("denied").ensure().await.expect_err("403");
        let shown = RunError::storage("create container `denied`", err).problem(None);
        let text = format!("{shown:?}");
        assert!(
            text.contains("needs `Storage Blob Data Contributor` on account `devstoreaccount1`"),
            "{text}"
        );
        let err = wrong_key.container("denied").ensure().await.expect_err("a wrong key");
        assert_eq!(err.status(), Some(403), "Azurite's own 403: {err}");
        assert!(err.to_string().contains("account key is wrong"), "{err}");
        assert!(!err.to_string().contains("d3Jvbmcga2V5"));
    });
}

#[test]
fn a_cut_download_is_retried_and_a_failed_one_leaves_nothing() {
    let proxy = proxy();
    let c = through(&proxy).container(&unique("cut"));
    let dir = tempfile::tempdir().expect("a temporary folder");
    let data = noise(1024 * 1024, 5);
    runtime().block_on(async {
        c.ensure().await.expect("created");
        c.put("runs/out.bin", Bytes::from(data.clone()), None)
            .await
            .expect("put");
        proxy.set(Faults {
            truncate: 1,
            ..Faults::default()
        });
        let dest = dir.path().join("ok/out.bin");
        c.download_blob("runs/out.bin", &dest, &|_| {}).await.expect("retried");
        assert!(std::fs::read(&dest).expect("read") == data);
        assert_eq!(proxy.take_stats().injected, 1);

        proxy.set(Faults {
            truncate: 1000,
            ..Faults::default()
        });
        let dest = dir.path().join("failed/out.bin");
        let err = c
            .download_blob("runs/out.bin", &dest, &|_| {})
            .await
            .expect_err("cut every time");
        assert!(matches!(err, StorageError::Transport(_)), "{err:?}");
        let left: Vec<_> = std::fs::read_dir(dir.path().join("failed"))
            .expect("the folder")
            .flatten()
            .collect();
        assert!(left.is_empty(), "no partial file: {left:?}");
    });
}
