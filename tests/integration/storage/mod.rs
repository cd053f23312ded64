//! The storage layer (`batchflow::exec::cloud::blob`) against Azurite: the client, SAS, the
//! content-addressed upload and atomic download engines, and their faults (through `proxy`).

mod client;
mod engine;
mod faults;
mod sas;
mod transfer;

use crate::azurite::Azurite;
use batchflow::exec::cloud::blob::StorageAccount;
use batchflow::exec::cloud::retry::RetryPolicy;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A runtime for one test.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Quick retries, so fault tests do not wait.
pub fn quick_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 6,
        base: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
        max_total: Duration::from_secs(30),
    }
}

/// The account of `az` through its connection string, as a user would configure it.
pub fn account(az: &Azurite) -> StorageAccount {
    let env = HashMap::from([("AZURE_STORAGE_CONNECTION_STRING".to_string(), az.connection_string())]);
    let account = StorageAccount::from_env(&env)
        .expect("the connection string parses")
        .expect("an account");
    let account = match az.ca_pem() {
        Some(pem) => account.with_root_certificate(pem.as_bytes()).expect("the certificate"),
        None => account,
    };
    account.with_retry(quick_retry())
}

/// The account of an HTTPS `--oauth basic` Azurite with Microsoft Entra ID: the account and
/// its endpoint by name (`AZURE_STORAGE_SERVICE_ENDPOINT`), a bearer token as is.
pub fn entra_account(az: &Azurite) -> StorageAccount {
    let env = HashMap::from([
        ("AZURE_STORAGE_ACCOUNT".to_string(), crate::azurite::ACCOUNT.to_string()),
        ("AZURE_STORAGE_SERVICE_ENDPOINT".to_string(), az.blob_endpoint()),
        ("BATCHFLOW_ACCESS_TOKEN".to_string(), crate::azurite::token()),
    ]);
    let account = StorageAccount::from_env(&env)
        .expect("the environment parses")
        .expect("an account");
    let pem = az.ca_pem().expect("an HTTPS Azurite");
    account
        .with_root_certificate(pem.as_bytes())
        .expect("the certificate")
        .with_retry(quick_retry())
}

/// A plain HTTP client trusting `az`'s certificate, for requests made with a SAS alone.
pub fn sas_client(az: &Azurite) -> reqwest::Client {
    let mut b = reqwest::Client::builder();
    if let Some(pem) = az.ca_pem() {
        b = b.add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).expect("PEM"));
    }
    b.build().expect("an HTTP client")
}

/// A container name no other test uses.
pub fn unique(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!("{prefix}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// `len` bytes of deterministic noise (xorshift from `seed`).
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}
