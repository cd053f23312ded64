//! The plan's staging placeholders filled in, as a body is sent (see `plan::staging`):
//! `<repo:PATH>` becomes the URL of the blob holding that file's content with a read SAS,
//! `<blob:C/P>` a blob's URL with a read SAS, `<container:C>` a container's URL with a read
//! and list SAS, `<outputs:C>` a container's URL with a create and write SAS, `<run>` the run's
//! id. SAS are minted here and exist only in what is sent: never in the plan, the run folder
//! or a message.

use crate::exec::cloud::blob::{SasSigner, StorageAccount};
use crate::exec::error::RunError;
use std::collections::HashMap;
use std::time::SystemTime;

/// What the storage placeholders stand for in one run.
pub struct Signed {
    pub account: StorageAccount,
    pub signer: SasSigner,
    /// When every SAS of the run expires.
    pub expiry: SystemTime,
    /// Repository path → its content's blob in `container` (`cas/<sha256>`).
    pub cas: HashMap<String, String>,
    /// The container repository files were uploaded to.
    pub container: String,
}

/// Fills placeholders for one run. Without [`Signed`] (a local run), only `<run>` can be
/// filled; the local backend reads the other inputs itself.
pub struct Links {
    pub run_id: String,
    pub signed: Option<Signed>,
}

impl std::fmt::Debug for Links {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Links")
            .field("run_id", &self.run_id)
            .field("signed", &self.signed.is_some())
            .finish()
    }
}

/// The placeholders a plan body may hold, by their opening.
const OPENINGS: [&str; 4] = ["<repo:", "<blob:", "<container:", "<outputs:"];

impl Links {
    /// `text` with every placeholder filled in. A storage placeholder without storage is
    /// refused (the run checks before it starts that it has what its plan needs).
    pub fn fill(&self, text: &str) -> Result<String, RunError> {
        if !text.contains('<') {
            return Ok(text.to_string());
        }
        let mut out = String::with_capacity(text.len() + 256);
        let mut rest = text;
        while let Some(at) = rest.find('<') {
            out.push_str(&rest[..at]);
            let here = &rest[at..];
            if let Some(after) = here.strip_prefix("<run>") {
                out.push_str(&self.run_id);
                rest = after;
                continue;
            }
            let opening = OPENINGS.iter().find(|o| here.starts_with(**o));
            match (opening, here.find('>')) {
                (Some(opening), Some(end)) => {
                    out.push_str(&self.one(opening, &here[opening.len()..end])?);
                    rest = &here[end + 1..];
                }
                _ => {
                    out.push('<');
                    rest = &here[1..];
                }
            }
        }
        out.push_str(rest);
        Ok(out)
    }

    /// One storage placeholder's URL with its SAS.
    fn one(&self, opening: &str, inner: &str) -> Result<String, RunError> {
        let Some(s) = &self.signed else {
            return Err(RunError::Refused(format!(
                "`{opening}{inner}>` needs a storage account and none is configured"
            )));
        };
        let sas = |r: Result<_, _>| r.map_err(|e| RunError::storage("sign a shared access signature", e));
        match opening {
            "<repo:" => {
                let blob = s.cas.get(inner).ok_or_else(|| {
                    RunError::Refused(format!("the repository file `{inner}` was not uploaded before the run"))
                })?;
                let token = sas(s.signer.blob_sas(&s.container, blob, s.expiry))?;
                Ok(token.on(&s.account.blob_url(&s.container, blob)))
            }
            "<blob:" => {
                let (container, blob) = inner.split_once('/').unwrap_or((inner, ""));
                let token = sas(s.signer.blob_sas(container, blob, s.expiry))?;
                Ok(token.on(&s.account.blob_url(container, blob)))
            }
            "<container:" => {
                let token = sas(s.signer.prefix_sas(inner, s.expiry))?;
                Ok(token.on(&s.account.container_url(inner)))
            }
            _ => {
                let token = sas(s.signer.output_sas(inner, s.expiry))?;
                Ok(token.on(&s.account.container_url(inner)))
            }
        }
    }
}

/// Whether `text` holds a placeholder only storage can fill.
pub fn needs_storage(text: &str) -> bool {
    OPENINGS.iter().any(|o| text.contains(o))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local() -> Links {
        Links {
            run_id: "20261204-0001".into(),
            signed: None,
        }
    }

    #[test]
    fn the_run_id_fills_in_without_storage() {
        let l = local();
        assert_eq!(
            l.fill(r#"{"path":"runs/<run>/a/b","x":"<secret:S>","y":"a < b"}"#)
                .expect("filled"),
            r#"{"path":"runs/20261204-0001/a/b","x":"<secret:S>","y":"a < b"}"#
        );
    }

    #[test]
    fn storage_placeholders_need_storage() {
        let e = local().fill(r#"{"u":"<repo:data/s1.fq>"}"#).expect_err("refused");
        assert!(e.to_string().contains("storage account"), "{e}");
        assert!(needs_storage("<outputs:batchflow>"));
        assert!(!needs_storage("runs/<run>/x <secret:A>"));
    }

    #[test]
    fn every_placeholder_gets_a_url_and_its_own_sas() {
        let account = StorageAccount::from_connection_string(
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;",
        )
        .expect("an emulator's connection string");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime");
        let signer = rt
            .block_on(account.sas_signer(SystemTime::now()))
            .expect("a key signs without asking the service");
        let links = Links {
            run_id: "r1".into(),
            signed: Some(Signed {
                account,
                signer,
                expiry: SystemTime::now(),
                cas: HashMap::from([("data/s1.fq".to_string(), "cas/abc".to_string())]),
                container: "batchflow".into(),
            }),
        };
        let body = r#"["<repo:data/s1.fq>","<blob:refs/x.bin>","<container:refs>","<outputs:batchflow>"]"#;
        let filled: Vec<String> = serde_json::from_str(&links.fill(body).expect("filled")).expect("JSON");
        let base = "http://127.0.0.1:10000/devstoreaccount1";
        let expect = [
            (format!("{base}/batchflow/cas/abc?"), "sp=r"),
            (format!("{base}/refs/x.bin?"), "sp=r"),
            (format!("{base}/refs?"), "sp=rl"),
            (format!("{base}/batchflow?"), "sp=cw"),
        ];
        for (url, (start, permission)) in filled.iter().zip(expect) {
            assert!(url.starts_with(&start), "{url}");
            assert!(url.split(['?', '&']).any(|p| p == permission), "{url}");
        }
        assert!(links.fill("<repo:missing>").is_err());
    }
}
