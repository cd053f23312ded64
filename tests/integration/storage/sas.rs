//! SAS against Azurite: each kind grants what it says and nothing more; service SAS with the
//! account key, user delegation SAS with Microsoft Entra ID (HTTPS, `--oauth basic`).

use super::{account, entra_account, runtime, sas_client, unique};
use crate::azurite::Azurite;
use azure_core::Bytes;
use batchflow::exec::cloud::blob::{Container, SasSigner, MAX_DELEGATION};
use batchflow::exec::error::{StorageError, Via};
use std::time::{Duration, SystemTime};

/// What `reqwest` gets for a request made with the SAS alone: the status.
async fn status(http: &reqwest::Client, method: reqwest::Method, url: String, body: &'static [u8]) -> u16 {
    http.request(method, url)
        .header("x-ms-version", "2026-04-06")
        .header("x-ms-blob-type", "BlockBlob")
        .body(body)
        .send()
        .await
        .expect("Azurite answers")
        .status()
        .as_u16()
}

/// Read, prefix and output SAS of `signer` for `c`, checked by what each can and cannot do.
async fn grants_least_privilege(http: &reqwest::Client, c: &Container, signer: &SasSigner) {
    use reqwest::Method;
    let in_an_hour = SystemTime::now() + Duration::from_secs(3600);
    c.put("cas/in.txt", Bytes::from_static(b"input"), None)
        .await
        .expect("put");

    let read = signer.blob_sas(c.name(), "cas/in.txt", in_an_hour).expect("a blob SAS");
    assert!(
        read.expose().contains("sp=r&") || read.expose().contains("sp=r"),
        "{}",
        read.expose()
    );
    assert_eq!(
        status(http, Method::GET, read.on(&c.blob_url("cas/in.txt")), b"").await,
        200
    );
    assert_eq!(
        status(http, Method::PUT, read.on(&c.blob_url("cas/in.txt")), b"x").await,
        403,
        "read only"
    );
    assert_eq!(
        status(http, Method::GET, read.on(&c.blob_url("cas/other.txt")), b"").await,
        403,
        "one blob"
    );
    let forged = format!(
        "{}?{}",
        c.blob_url("cas/in.txt"),
        read.expose().replace("sig=", "sig=A")
    );
    assert_eq!(
        status(http, Method::GET, forged, b"").await,
        403,
        "the signature is checked"
    );

    let prefix = signer.prefix_sas(c.name(), in_an_hour).expect("a prefix SAS");
    let list = format!("{}?restype=container&comp=list&{}", c.url(), prefix.expose());
    assert_eq!(status(http, Method::GET, list, b"").await, 200, "lists");
    assert_eq!(
        status(http, Method::GET, prefix.on(&c.blob_url("cas/in.txt")), b"").await,
        200,
        "reads"
    );
    assert_eq!(
        status(http, Method::PUT, prefix.on(&c.blob_url("runs/x")), b"x").await,
        403,
        "no write"
    );

    let out = signer.output_sas(c.name(), in_an_hour).expect("an output SAS");
    assert_eq!(
        status(http, Method::PUT, out.on(&c.blob_url("runs/r/t/out.txt")), b"out").await,
        201
    );
    assert_eq!(
        status(http, Method::GET, out.on(&c.blob_url("cas/in.txt")), b"").await,
        403,
        "no read"
    );
    let list = format!("{}?restype=container&comp=list&{}", c.url(), out.expose());
    assert_eq!(status(http, Method::GET, list, b"").await, 403, "no list");
    assert_eq!(format!("{out:?}"), "<sas>", "Debug hides a SAS");
}

#[test]
fn service_sas_signed_with_the_account_key() {
    let az = Azurite::shared();
    let c = account(az).container(&unique("sas"));
    runtime().block_on(async {
        c.ensure().await.expect("created");
        let signer = c
            .account()
            .sas_signer(SystemTime::now() + Duration::from_secs(30 * 86_400))
            .await
            .expect("a signer");
        assert_eq!(signer.valid_until(), None, "a service SAS lives as long as asked");
        let sas = signer.blob_sas(c.name(), "b", SystemTime::now()).expect("a SAS");
        assert!(
            sas.expose().contains("spr=https%2Chttp"),
            "http allowed on loopback only: {}",
            sas.expose()
        );
        grants_least_privilege(&sas_client(az), &c, &signer).await;
    });
}

#[test]
fn user_delegation_sas_with_entra_id() {
    let az = Azurite::shared_https();
    let account = entra_account(az);
    assert_eq!(account.via(), Via::Entra);
    let c = account.container(&unique("udk"));
    runtime().block_on(async {
        c.ensure().await.expect("created with a bearer token");
        let until = SystemTime::now() + Duration::from_secs(2 * 86_400);
        let signer = c.account().sas_signer(until).await.expect("a user delegation key");
        let limit = signer.valid_until().expect("a delegation key expires");
        assert!(limit.duration_since(until).unwrap_or_default() < Duration::from_secs(1));
        let sas = signer.blob_sas(c.name(), "b", until).expect("a SAS");
        assert!(
            sas.expose().contains("skoid="),
            "signed with the delegation key: {sas:?}"
        );
        grants_least_privilege(&sas_client(az), &c, &signer).await;

        let late = signer.blob_sas(c.name(), "b", until + Duration::from_secs(3600));
        assert!(
            matches!(late, Err(StorageError::DelegationLimit { .. })),
            "a SAS outliving its key"
        );
        let too_long = c
            .account()
            .sas_signer(SystemTime::now() + MAX_DELEGATION + Duration::from_secs(60))
            .await;
        let err = too_long.expect_err("more than 7 days");
        assert!(err.to_string().contains("at most 7 days"), "{err}");
    });
}
