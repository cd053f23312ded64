//! Azure Blob Storage endpoints (`stdlib/blob-endpoints.csv`): the host suffixes of the
//! clouds' blob services, for output destinations (BF217).

use std::sync::OnceLock;

const CSV: &str = include_str!("../../stdlib/blob-endpoints.csv");

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobEndpoint {
    /// `blob.core.windows.net`: an account's host is `ACCOUNT.` + this.
    pub suffix: String,
    pub cloud: String,
}

fn table() -> &'static [BlobEndpoint] {
    static TABLE: OnceLock<Vec<BlobEndpoint>> = OnceLock::new();
    TABLE.get_or_init(|| parse(CSV).unwrap_or_default())
}

fn parse(text: &str) -> Result<Vec<BlobEndpoint>, String> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let r = record.map_err(|e| format!("blob-endpoints.csv row {}: {e}", i + 2))?;
        let field = |n: usize| r.get(n).unwrap_or("").trim().to_string();
        rows.push(BlobEndpoint {
            suffix: field(0).to_ascii_lowercase(),
            cloud: field(1),
        });
    }
    Ok(rows)
}

pub fn blob_endpoints() -> &'static [BlobEndpoint] {
    table()
}

/// The blob service a host belongs to: `acct.blob.core.windows.net` (any case).
pub fn blob_endpoint(host: &str) -> Option<&'static BlobEndpoint> {
    table().iter().find(|e| {
        // `ACCOUNT.` + suffix, compared ignoring case.
        let Some(at) = host.len().checked_sub(e.suffix.len() + 1) else {
            return false;
        };
        at > 0
            && host.as_bytes().get(at) == Some(&b'.')
            && host
                .get(at + 1..)
                .is_some_and(|end| end.eq_ignore_ascii_case(&e.suffix))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_parses_completely() {
        let rows = parse(CSV).expect("blob-endpoints.csv parses");
        assert_eq!(rows.len(), blob_endpoints().len());
        assert!(rows.iter().any(|r| r.suffix == "blob.core.windows.net"));
    }

    #[test]
    fn hosts_match_whole_labels() {
        assert!(blob_endpoint("Acct.Blob.Core.Windows.Net").is_some());
        assert!(blob_endpoint("acct.z12.blob.storage.azure.net").is_some());
        assert!(blob_endpoint("acct.blob.core.usgovcloudapi.net").is_some());
        assert!(blob_endpoint("blob.core.windows.net").is_none());
        assert!(blob_endpoint("evilblob.core.windows.net").is_none());
        assert!(blob_endpoint("acct.dfs.core.windows.net").is_none());
    }
}
