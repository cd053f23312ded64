//! `mounts { NAME { KIND = SOURCE ... } }` in a pool: the file systems Batch mounts on every
//! node under `$AZ_BATCH_NODE_MOUNTS_DIR/NAME`. One attribute names the kind and where the file
//! system is (`azure_files`, `nfs`, `cifs`, `blobfuse`); the kind's schema says what else the
//! mount takes.

use super::schema::{self, Fields, Schema};
use super::{typed, Lowerer};
use crate::ast::{Attr, Entry, Nested};
use crate::diagnostics::{Code, Diagnostic};
use crate::graph::{AttrSpans, BlobAuth, Mount, MountKind};
use crate::source::{Span, Spanned};

/// The attributes that name a mount's kind, with the kind's schema.
const KINDS: [(&str, &Schema); 4] = [
    ("azure_files", &schema::AZURE_FILES_MOUNT),
    ("nfs", &schema::NFS_MOUNT),
    ("cifs", &schema::CIFS_MOUNT),
    ("blobfuse", &schema::BLOBFUSE_MOUNT),
];

/// How blobfuse may reach its container; exactly one is given.
const BLOB_AUTH: [&str; 3] = ["sas", "key", "identity"];

impl Lowerer<'_> {
    /// The mounts of a pool's `mounts` block, in the order written.
    pub(super) fn mounts(&mut self, block: &Nested) -> Vec<Mount> {
        let mut out = Vec::new();
        for entry in &block.body.entries {
            let span = match entry {
                Entry::Nested(n) => {
                    out.extend(self.mount(n));
                    continue;
                }
                Entry::Attr(a) => a.key.span,
                Entry::Task(t) => t.name.span,
            };
            self.sink.push(
                Diagnostic::new(Code::BF008, span, "a `mounts` block holds one block per mount")
                    .with_help("write each mount as `NAME { nfs = \"10.0.0.4:/exports/data\" }`; it is mounted at $AZ_BATCH_NODE_MOUNTS_DIR/NAME"),
            );
        }
        out
    }

    fn mount(&mut self, n: &Nested) -> Option<Mount> {
        let name = &n.name.name;
        let named: Vec<(&Attr, &'static str, &'static Schema)> = n
            .body
            .entries
            .iter()
            .filter_map(|e| match e {
                Entry::Attr(a) if a.key_expr.is_none() => {
                    KINDS.iter().find(|(k, _)| *k == a.key.name).map(|(k, s)| (a, *k, *s))
                }
                _ => None,
            })
            .collect();
        let (kind, schema) = match named.as_slice() {
            [] => {
                self.sink.push(
                    Diagnostic::new(Code::BF007, n.name.span, format!("mount `{name}` does not say what it mounts"))
                        .with_help("give one of `azure_files = \"https://ACCOUNT.file.core.windows.net/SHARE\"`, `nfs = \"HOST:/PATH\"`, `cifs = \"//HOST/SHARE\"` or `blobfuse = \"https://ACCOUNT.blob.core.windows.net/CONTAINER\"`"),
                );
                return None;
            }
            [(_, kind, schema)] => (*kind, *schema),
            [(_, first, _), (second, other, _), ..] => {
                self.sink.push(
                    Diagnostic::new(
                        Code::BF008,
                        second.key.span,
                        format!("mount `{name}` is both `{first}` and `{other}`"),
                    )
                    .with_help("give each file system a mount of its own"),
                );
                return None;
            }
        };
        let f = Fields::collect(&n.body, schema, n.name.span, &mut self.sink);
        let mut attrs = AttrSpans::default();
        for (attr, a) in &f.attrs {
            attrs.insert(attr, a.span);
        }
        let text = |lw: &mut Self, key: &str| lw.typed(&f, key, &[], typed::string).map(|s| s.to_string());
        let source = text(self, kind)?;
        let options = text(self, "options");
        let kind = match kind {
            "azure_files" => {
                let from_url = self.url_parts(
                    &f,
                    kind,
                    &source,
                    FILE_SERVICE,
                    "https://ACCOUNT.file.core.windows.net/SHARE",
                );
                let account = match text(self, "account") {
                    Some(a) => a,
                    None => from_url?.0,
                };
                MountKind::AzureFiles {
                    url: source,
                    account,
                    key: text(self, "key")?,
                }
            }
            "nfs" => MountKind::Nfs {
                source: self.source_form(&f, kind, source, nfs_source, "HOST:/PATH")?,
            },
            "cifs" => MountKind::Cifs {
                source: self.source_form(&f, kind, source, cifs_source, "//HOST/SHARE")?,
                username: text(self, "username")?,
                password: text(self, "password")?,
            },
            _ => {
                let (account, container) = self.url_parts(
                    &f,
                    kind,
                    &source,
                    BLOB_SERVICE,
                    "https://ACCOUNT.blob.core.windows.net/CONTAINER",
                )?;
                MountKind::Blobfuse {
                    account,
                    container,
                    auth: self.blob_auth(&f, n.name.span)?,
                }
            }
        };
        Some(Mount {
            name: Spanned::new(name.clone(), n.name.span),
            span: n.span,
            attrs,
            kind,
            options,
        })
    }

    /// The account (the host's first label) and the share or container (the path's first
    /// segment) of an `https://` URL of one of `services`; BF006 when `url` is not one.
    fn url_parts(
        &mut self,
        f: &Fields<'_>,
        attr: &str,
        url: &str,
        services: &[&str],
        form: &str,
    ) -> Option<(String, String)> {
        if let Some(parts) = account_and_path(url, services) {
            return Some(parts);
        }
        let span = f.attr(attr).map_or_else(Span::default, |a| a.value.span);
        self.sink.push(
            Diagnostic::new(Code::BF006, span, format!("`{attr}` must be a URL `{form}`"))
                .with_help("write the URL of the share or container on the account's endpoint for it (`file` for Azure Files, `blob` for blobfuse), without a query; a SAS token goes in `sas`, a key in `key`"),
        );
        self.failed.insert(span);
        None
    }

    /// An NFS or CIFS source in the form its mount command takes; BF006 otherwise.
    fn source_form(
        &mut self,
        f: &Fields<'_>,
        attr: &str,
        source: String,
        valid: fn(&str) -> bool,
        form: &str,
    ) -> Option<String> {
        if valid(&source) {
            return Some(source);
        }
        let span = f.attr(attr).map_or_else(Span::default, |a| a.value.span);
        self.sink.push(
            Diagnostic::new(
                Code::BF006,
                span,
                format!("`{attr}` must be a share `{form}`, found \"{source}\""),
            )
            .with_help(format!(
                "name the server and the exported path, like `{attr} = \"{}\"`",
                example(attr)
            )),
        );
        self.failed.insert(span);
        None
    }

    /// Exactly one of `sas`, `key` and `identity`.
    fn blob_auth(&mut self, f: &Fields<'_>, owner: Span) -> Option<BlobAuth> {
        let given: Vec<&str> = BLOB_AUTH.into_iter().filter(|k| f.attr(k).is_some()).collect();
        match given.as_slice() {
            [one] => {
                let value = self.typed(f, one, &[], typed::string)?.to_string();
                Some(match *one {
                    "sas" => BlobAuth::Sas(value),
                    "key" => BlobAuth::Key(value),
                    _ => BlobAuth::Identity(value),
                })
            }
            [] => {
                self.sink.push(
                    Diagnostic::new(Code::BF007, owner, "this blobfuse mount has no `sas`, `key` or `identity`")
                        .with_help("give `sas = secret(\"NAME\")` (a SAS token for the container), `key = secret(\"NAME\")` (the account key) or `identity = \"/subscriptions/…/userAssignedIdentities/NAME\"`"),
                );
                None
            }
            [first, second, ..] => {
                let span = f.attr(second).map_or(owner, |a| a.key.span);
                self.sink.push(
                    Diagnostic::new(
                        Code::BF008,
                        span,
                        format!("`{first}` and `{second}` both say how blobfuse reaches the container"),
                    )
                    .with_help("keep one of `sas`, `key` and `identity`: Batch takes exactly one"),
                );
                None
            }
        }
    }
}

/// The storage endpoints a kind mounts from: an Azure Files URL of a blob endpoint (or the
/// reverse) names a share or container the node cannot mount.
const FILE_SERVICE: &[&str] = &["file"];
const BLOB_SERVICE: &[&str] = &["blob", "dfs"];

/// `https://ACCOUNT.SERVICE.DOMAIN/NAME[/...][/]` without a query, `SERVICE` one of
/// `services`: (`ACCOUNT`, `NAME`).
fn account_and_path(url: &str, services: &[&str]) -> Option<(String, String)> {
    let rest = url.strip_prefix("https://")?;
    if rest.contains(['?', '#']) {
        return None;
    }
    let (host, path) = rest.split_once('/')?;
    let (account, domain) = host.split_once('.')?;
    let (service, suffix) = domain.split_once('.')?;
    let first = path.split('/').next().unwrap_or_default();
    let valid = !account.is_empty()
        && services.iter().any(|s| service.eq_ignore_ascii_case(s))
        && !suffix.is_empty()
        && !first.is_empty();
    valid.then(|| (account.to_string(), first.to_string()))
}

/// `HOST:/PATH`, as mount.nfs takes a remote target ("servername:/path/to/share").
fn nfs_source(source: &str) -> bool {
    source
        .rsplit_once(":/")
        .is_some_and(|(host, _)| !host.trim().is_empty() && !host.contains(char::is_whitespace))
}

/// `//HOST/SHARE[/...]`, the UNC form mount.cifs takes ("//server/share").
fn cifs_source(source: &str) -> bool {
    source
        .strip_prefix("//")
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(host, share)| !host.is_empty() && !share.split('/').next().unwrap_or_default().is_empty())
}

fn example(kind: &str) -> &'static str {
    if kind == "nfs" {
        "10.0.0.4:/exports/scratch"
    } else {
        "//files.contoso.com/projects"
    }
}

#[cfg(test)]
mod tests {
    use super::{account_and_path, cifs_source, nfs_source, BLOB_SERVICE, FILE_SERVICE};

    #[test]
    fn nfs_and_cifs_sources_name_a_server_and_a_path() {
        assert!(nfs_source("10.0.0.4:/exports/scratch"));
        assert!(nfs_source("acct.file.core.windows.net:/acct/share"));
        assert!(nfs_source("[fd00::4]:/exports"));
        assert!(!nfs_source(""));
        assert!(!nfs_source("/exports/scratch"));
        assert!(!nfs_source(":/exports"));
        assert!(cifs_source("//files.contoso.com/projects"));
        assert!(cifs_source("//10.0.0.5/share/sub"));
        assert!(!cifs_source("files.contoso.com/projects"));
        assert!(!cifs_source("//files.contoso.com"));
        assert!(!cifs_source("//files.contoso.com/"));
        assert!(!cifs_source(""));
    }

    #[test]
    fn a_url_of_the_other_storage_service_is_refused() {
        assert!(account_and_path("https://acct.blob.core.windows.net/share", FILE_SERVICE).is_none());
        assert!(account_and_path("https://acct.file.core.windows.net/raw", BLOB_SERVICE).is_none());
        assert!(account_and_path("https://acct.dfs.core.windows.net/raw", BLOB_SERVICE).is_some());
        assert!(account_and_path("https://acct.file.core.chinacloudapi.cn/share", FILE_SERVICE).is_some());
    }

    #[test]
    fn accounts_and_containers_come_from_the_url() {
        let parts = |u: &str| {
            account_and_path(u, FILE_SERVICE)
                .or_else(|| account_and_path(u, BLOB_SERVICE))
                .map(|(a, p)| format!("{a} {p}"))
        };
        assert_eq!(
            parts("https://refstore.file.core.windows.net/genomes").as_deref(),
            Some("refstore genomes")
        );
        assert_eq!(
            parts("https://reads.blob.core.windows.net/raw/").as_deref(),
            Some("reads raw")
        );
        assert_eq!(parts("https://reads.blob.core.windows.net/").as_deref(), None);
        assert_eq!(parts("https://reads.blob.core.windows.net/raw?sv=x").as_deref(), None);
        assert_eq!(parts("http://reads.blob.core.windows.net/raw").as_deref(), None);
        assert_eq!(parts("reads/raw").as_deref(), None);
    }
}
