//! Shared access signatures for Batch, least privilege and never account-wide: `r` on one
//! blob (an input file), `rl` on a container (a prefix of inputs, which Batch lists), `cw` on
//! a container (outputs). With the account key, a service SAS signed here (the storage crates
//! build only user delegation SAS); with Microsoft Entra ID, a user delegation SAS from
//! `azure_storage_sas` over a key from Get User Delegation Key, which lives at most 7 days.
//! `spr=https`, except for an emulator on this machine.

use super::account::{Auth, StorageAccount};
use super::fault::{with_retry, Fault};
use super::shared_key::AccountKey;
use crate::exec::error::StorageError;
use azure_core::http::{RequestContent, XmlFormat};
use azure_core::time::OffsetDateTime;
use azure_storage_blob::models::KeyInfo;
use azure_storage_blob::{BlobServiceClient, BlobServiceClientOptions};
use azure_storage_common::models::UserDelegationKey;
use azure_storage_sas::{SasBuilder, SasProtocol};
use reqwest::Url;
use std::time::{Duration, SystemTime};

/// The longest a user delegation key (and so its SAS) can live, from when it is asked for
/// ("Get User Delegation Key": the expiry "must be within 7 days of the current time").
pub const MAX_DELEGATION: Duration = Duration::from_secs(7 * 24 * 3600);

/// The service SAS version signed here (its string-to-sign has been stable since 2020-12-06).
const SERVICE_SAS_VERSION: &str = "2022-11-02";

/// Keys are asked to start this much earlier, for clocks that run behind.
const SKEW: Duration = Duration::from_secs(300);

/// A SAS token (the query, without `?`). `Debug` hides it; nothing prints it but
/// [`Sas::expose`] and [`Sas::on`].
#[derive(Clone, PartialEq, Eq)]
pub struct Sas(String);

impl std::fmt::Debug for Sas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<sas>")
    }
}

impl Sas {
    /// The token itself, for a request body sent to Batch.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// `url?token` (for a URL without a query).
    pub fn on(&self, url: &Url) -> String {
        format!("{url}?{}", self.0)
    }
}

/// Signs SAS for one account until a given time. Made by [`StorageAccount::sas_signer`].
pub struct SasSigner {
    account: String,
    https_only: bool,
    kind: Kind,
}

enum Kind {
    Key(AccountKey),
    /// The key and when it stops working.
    Delegation(Box<UserDelegationKey>, OffsetDateTime),
}

impl std::fmt::Debug for SasSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.kind {
            Kind::Key(_) => "service SAS (account key)",
            Kind::Delegation(..) => "user delegation SAS (Entra ID)",
        };
        f.debug_struct("SasSigner")
            .field("account", &self.account)
            .field("kind", &kind)
            .finish_non_exhaustive()
    }
}

impl StorageAccount {
    /// A signer for SAS that expire by `until`. With the account key this asks nothing of
    /// the service. With Entra ID it gets a user delegation key valid until `until` (the
    /// identity needs `Storage Blob Data Contributor`, or `Storage Blob Delegator` and a data
    /// role, on the account); `until` more than [`MAX_DELEGATION`] from now is
    /// [`StorageError::DelegationLimit`], before any request.
    pub async fn sas_signer(&self, until: SystemTime) -> Result<SasSigner, StorageError> {
        let kind = match &self.auth {
            Auth::Key(key) => Kind::Key(key.clone()),
            Auth::Entra(_) => {
                let now = SystemTime::now();
                let limit = now + MAX_DELEGATION;
                if until > limit {
                    return Err(StorageError::DelegationLimit { wanted: until, limit });
                }
                let expiry = OffsetDateTime::from(until);
                let key = self
                    .user_delegation_key(OffsetDateTime::from(now - SKEW), expiry)
                    .await?;
                Kind::Delegation(Box::new(key), expiry)
            }
        };
        Ok(SasSigner {
            account: self.name.clone(),
            https_only: !self.is_loopback(),
            kind,
        })
    }

    async fn user_delegation_key(
        &self,
        start: OffsetDateTime,
        expiry: OffsetDateTime,
    ) -> Result<UserDelegationKey, StorageError> {
        let fault = |e| Fault::of(e, &self.name, self.via());
        with_retry(&self.retry, || async {
            let options = BlobServiceClientOptions {
                client_options: self.client_options(),
                ..Default::default()
            };
            let service = BlobServiceClient::new(self.endpoint.clone(), None, Some(options)).map_err(fault)?;
            let info = KeyInfo {
                start: Some(start.replace_nanosecond(0).unwrap_or(start)),
                expiry: Some(expiry.replace_nanosecond(0).unwrap_or(expiry)),
                delegated_user_tid: None,
            };
            let body: RequestContent<KeyInfo, XmlFormat> = info.try_into().map_err(fault)?;
            let reply = service.get_user_delegation_key(body, None).await.map_err(fault)?;
            reply.into_model().map_err(fault)
        })
        .await
    }
}

impl SasSigner {
    /// `sp=r` on blob `blob` of `container`: what a task's resource file needs.
    pub fn blob_sas(&self, container: &str, blob: &str, expiry: SystemTime) -> Result<Sas, StorageError> {
        self.sign(container, Some(blob), "r", expiry)
    }

    /// `sp=rl` on `container`: what a resource file of a container and a blob prefix needs
    /// (a SAS cannot be narrowed to a prefix; Batch lists the container with it).
    pub fn prefix_sas(&self, container: &str, expiry: SystemTime) -> Result<Sas, StorageError> {
        self.sign(container, None, "rl", expiry)
    }

    /// `sp=cw` on `container`: what a task's output files need (write, never read or list).
    pub fn output_sas(&self, container: &str, expiry: SystemTime) -> Result<Sas, StorageError> {
        self.sign(container, None, "cw", expiry)
    }

    /// When SAS from this signer stop working at the latest: the user delegation key's expiry;
    /// `None` with the account key (a service SAS lives as long as asked).
    pub fn valid_until(&self) -> Option<SystemTime> {
        match &self.kind {
            Kind::Key(_) => None,
            Kind::Delegation(_, expiry) => Some((*expiry).into()),
        }
    }

    fn sign(&self, container: &str, blob: Option<&str>, sp: &str, expiry: SystemTime) -> Result<Sas, StorageError> {
        let se = OffsetDateTime::from(expiry);
        match &self.kind {
            Kind::Key(key) => Ok(self.service_sas(key, container, blob, sp, se)),
            Kind::Delegation(_, limit) if se > *limit => Err(StorageError::DelegationLimit {
                wanted: expiry,
                limit: (*limit).into(),
            }),
            Kind::Delegation(udk, _) => {
                let protocol = if self.https_only {
                    SasProtocol::Https
                } else {
                    SasProtocol::HttpsAndHttp
                };
                let builder = SasBuilder::new(self.account.clone(), udk, se)
                    .map_err(|e| StorageError::Credential(format!("the user delegation key is incomplete: {e}")))?
                    .protocol(protocol);
                let token = match (blob, sp) {
                    (Some(blob), _) => builder.blob(container, blob).read().build(),
                    (None, "rl") => builder.container(container).read().list().build(),
                    (None, _) => builder.container(container).create().write().build(),
                };
                Ok(Sas(token))
            }
        }
    }

    /// A service SAS ("Create a service SAS", version 2020-12-06 and later): the signature
    /// covers sp, st, se, the canonical resource, si, sip, spr, sv, sr, the snapshot time, ses
    /// and the five response headers, one per line.
    fn service_sas(&self, key: &AccountKey, container: &str, blob: Option<&str>, sp: &str, se: OffsetDateTime) -> Sas {
        let se = iso8601(se);
        let spr = if self.https_only { "https" } else { "https,http" };
        let (sr, resource) = match blob {
            Some(b) => ("b", format!("/blob/{}/{container}/{b}", self.account)),
            None => ("c", format!("/blob/{}/{container}", self.account)),
        };
        let to_sign = [
            sp,
            "",
            &se,
            &resource,
            "",
            "",
            spr,
            SERVICE_SAS_VERSION,
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
        let sig = key.sign(&to_sign);
        let pairs = [
            ("sv", SERVICE_SAS_VERSION),
            ("sr", sr),
            ("sp", sp),
            ("se", &se),
            ("spr", spr),
            ("sig", &sig),
        ];
        let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect();
        Sas(query.join("&"))
    }
}

/// Percent-encoding of a query value: all but RFC 3986's unreserved characters.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `YYYY-MM-DDTHH:MM:SSZ` (UTC, as `OffsetDateTime::from(SystemTime)` gives), as SAS times are
/// written.
fn iso8601(t: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}
