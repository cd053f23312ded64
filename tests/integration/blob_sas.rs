//! SAS tokens for Azurite, made by the tests themselves (not by the code under test) and signed
//! with the emulator's well-known key, and the few blob calls tests make with them.
//!
//! - A service SAS ("Create a service SAS", learn.microsoft.com/rest/api/storageservices/
//!   create-service-sas), version 2022-11-02: the string to sign is `sp`, `st`, `se`, the
//!   canonical resource `/blob/{account}/{container}[/{blob}]`, `si`, `sip`, `spr`, `sv`, `sr`,
//!   the snapshot time, `ses`, then `rscc`, `rscd`, `rsce`, `rscl`, `rsct`, joined by newlines,
//!   HMAC-SHA256 with the account key.
//! - An account SAS, only to create containers (a service SAS cannot): `account`, `sp`, `ss`,
//!   `srt`, `st`, `se`, `sip`, `spr`, `sv`, `ses`, each followed by a newline.

use crate::azurite::{Azurite, ACCOUNT, KEY};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const VERSION: &str = "2022-11-02";
/// An expiry far ahead, and one long past.
pub const FUTURE: &str = "2099-01-01T00:00:00Z";
pub const PAST: &str = "2001-01-01T00:00:00Z";

fn sign(text: &str, key: &str) -> String {
    let key = base64::engine::general_purpose::STANDARD
        .decode(key)
        .expect("the key is base64");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("any key length");
    mac.update(text.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Percent-encodes a query value.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A service SAS (the query, without `?`) for a container (`blob` None) or one blob, signed
/// with `key` (Azurite's unless a test wants a wrong one).
pub fn service_sas_with_key(container: &str, blob: Option<&str>, permissions: &str, expiry: &str, key: &str) -> String {
    let resource = match blob {
        Some(b) => format!("/blob/{ACCOUNT}/{container}/{b}"),
        None => format!("/blob/{ACCOUNT}/{container}"),
    };
    let sr = if blob.is_some() { "b" } else { "c" };
    let text = [
        permissions,
        "",
        expiry,
        &resource,
        "",
        "",
        "",
        VERSION,
        sr,
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ]
    .join("\n");
    format!(
        "sv={VERSION}&sr={sr}&sp={}&se={}&sig={}",
        enc(permissions),
        enc(expiry),
        enc(&sign(&text, key))
    )
}

pub fn service_sas(container: &str, blob: Option<&str>, permissions: &str, expiry: &str) -> String {
    service_sas_with_key(container, blob, permissions, expiry, KEY)
}

fn account_sas(permissions: &str, resource_types: &str) -> String {
    let text = format!("{ACCOUNT}\n{permissions}\nb\n{resource_types}\n\n{FUTURE}\n\n\n{VERSION}\n\n");
    format!(
        "sv={VERSION}&ss=b&srt={resource_types}&sp={permissions}&se={}&sig={}",
        enc(FUTURE),
        enc(&sign(&text, KEY))
    )
}

/// Blob calls to an Azurite, authorised by SAS.
pub struct Blobs<'a> {
    az: &'a Azurite,
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
}

impl<'a> Blobs<'a> {
    /// Trusts an HTTPS Azurite's certificate.
    pub fn new(az: &'a Azurite) -> Blobs<'a> {
        let mut http = reqwest::Client::builder();
        if let Some(pem) = az.ca_pem() {
            http =
                http.add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).expect("a PEM certificate"));
        }
        Blobs {
            az,
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime"),
            http: http.build().expect("an HTTP client"),
        }
    }

    /// `http://127.0.0.1:PORT/devstoreaccount1/{container}?{sas}`
    pub fn container_url(&self, container: &str, sas: &str) -> String {
        format!("{}/{container}?{sas}", self.az.blob_endpoint())
    }

    /// The blob's URL with `sas` (the name is plain: tests use URL-safe names).
    pub fn blob_url(&self, container: &str, blob: &str, sas: &str) -> String {
        format!("{}/{container}/{blob}?{sas}", self.az.blob_endpoint())
    }

    fn send(&self, req: reqwest::RequestBuilder) -> (u16, Vec<u8>) {
        self.rt.block_on(async {
            let resp = req
                .header("x-ms-version", VERSION)
                .send()
                .await
                .expect("Azurite answers");
            let status = resp.status().as_u16();
            (status, resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default())
        })
    }

    pub fn create_container(&self, container: &str) {
        let url = format!(
            "{}/{container}?restype=container&{}",
            self.az.blob_endpoint(),
            account_sas("c", "c")
        );
        let (status, body) = self.send(self.http.put(url));
        assert_eq!(
            status,
            201,
            "create container {container}: {}",
            String::from_utf8_lossy(&body)
        );
    }

    pub fn put(&self, container: &str, blob: &str, bytes: &[u8]) {
        let sas = service_sas(container, None, "cw", FUTURE);
        let req = self
            .http
            .put(self.blob_url(container, blob, &sas))
            .header("x-ms-blob-type", "BlockBlob")
            .body(bytes.to_vec());
        let (status, body) = self.send(req);
        assert_eq!(
            status,
            201,
            "put {container}/{blob}: {}",
            String::from_utf8_lossy(&body)
        );
    }

    /// The blob's bytes; None when it does not exist.
    pub fn get(&self, container: &str, blob: &str) -> Option<Vec<u8>> {
        let sas = service_sas(container, None, "r", FUTURE);
        let (status, body) = self.send(self.http.get(self.blob_url(container, blob, &sas)));
        match status {
            200 => Some(body),
            404 => None,
            s => panic!("get {container}/{blob}: {s} {}", String::from_utf8_lossy(&body)),
        }
    }

    /// The blob as text; panics when it does not exist.
    pub fn text(&self, container: &str, blob: &str) -> String {
        let bytes = self.get(container, blob).unwrap_or_else(|| {
            panic!(
                "no blob {container}/{blob}; the container has {:?}",
                self.list(container)
            )
        });
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The names of every blob in the container (one page: the tests' containers are small).
    pub fn list(&self, container: &str) -> Vec<String> {
        let sas = service_sas(container, None, "rl", FUTURE);
        let url = format!("{}&restype=container&comp=list", self.container_url(container, &sas));
        let (status, body) = self.send(self.http.get(url));
        let xml = String::from_utf8_lossy(&body).into_owned();
        assert_eq!(status, 200, "list {container}: {xml}");
        xml.split("<Name>")
            .skip(1)
            .filter_map(|s| s.split("</Name>").next())
            .map(str::to_string)
            .collect()
    }
}

/// A container name of its own for a test (Azurite is shared by the tests of a process).
pub fn unique_container(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
        .chars()
        .take(63)
        .collect()
}
