//! Output destinations (`outputFiles[].destination.container.containerUrl`): a blob container
//! Batch can write to (BF216) on a blob endpoint (BF217). Whether the URL uses https is BF213's.

use super::runnables::{self, Runnable};
use crate::diagnostics::{Code, Diagnostic};
use crate::graph::Workflow;
use crate::stdlib::blob_endpoint;
use crate::value::has_secret;

pub fn check(wf: &Workflow, out: &mut Vec<Diagnostic>) {
    for r in runnables::all(wf) {
        // Repository and `az://` destinations are the run's to write, with a SAS it makes.
        let urls = || {
            r.each(|s| Some(&s.outputs)).flat_map(|files| {
                files
                    .iter()
                    .filter(|f| f.location == crate::graph::Location::Url)
                    .map(|f| &*f.url)
            })
        };
        // One diagnostic per rule and task: a sweep repeats the same mistake per instance.
        if let Some(d) = urls().find_map(|u| not_blob(&r, u)) {
            out.push(d);
        }
        if let Some(d) = urls().find_map(|u| not_writable(&r, u)) {
            out.push(d);
        }
    }
}

/// The parts of a URL the rules look at.
#[derive(Debug, PartialEq, Eq)]
struct Url<'a> {
    scheme: &'a str,
    host: &'a str,
    /// Without the leading `/`.
    path: &'a str,
    query: Option<&'a str>,
}

/// `scheme://[user@]host[:port]/path?query#fragment`; `None` when there is no `://`.
fn parse(url: &str) -> Option<Url<'_>> {
    let (scheme, rest) = url.split_once("://")?;
    let rest = rest.split('#').next().unwrap_or(rest);
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = before_query.split_once('/').unwrap_or((before_query, ""));
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let host = if authority.starts_with('[') {
        authority.split_inclusive(']').next().unwrap_or(authority)
    } else {
        authority.split(':').next().unwrap_or(authority)
    };
    Some(Url {
        scheme,
        host,
        path,
        query,
    })
}

fn is_loopback(host: &str) -> bool {
    ["localhost", "127.0.0.1", "[::1]"]
        .iter()
        .any(|h| host.eq_ignore_ascii_case(h))
}

/// BF217: a destination that is not an Azure Blob Storage container.
fn not_blob(r: &Runnable<'_>, url: &str) -> Option<Diagnostic> {
    let u = parse(url)?;
    if has_secret(u.host) || has_secret(u.scheme) {
        return None;
    }
    let http = u.scheme.eq_ignore_ascii_case("https") || u.scheme.eq_ignore_ascii_case("http");
    let (message, help) =
        if !http {
            (
            format!("output destination `{url}` is a `{}://` URL, not an Azure Blob Storage container", u.scheme),
            "Batch uploads outputs only to Azure Blob Storage: `https://ACCOUNT.blob.core.windows.net/CONTAINER?SAS`",
        )
        } else if is_loopback(u.host) {
            if u.path.split('/').filter(|s| !s.is_empty()).count() >= 2 {
                return None;
            }
            (
            format!("output destination `{url}` is on `{}` without an account in its path", u.host),
            "a storage emulator such as Azurite names the account first: `http://127.0.0.1:10000/ACCOUNT/CONTAINER`",
        )
        } else if blob_endpoint(u.host).is_some() {
            return None;
        } else {
            (
                format!(
                    "output destination `{url}` is not on an Azure Blob Storage endpoint (`{}`)",
                    u.host
                ),
                "Batch uploads outputs only to blob containers: `https://ACCOUNT.blob.core.windows.net/CONTAINER?SAS` \
             (`.blob.core.usgovcloudapi.net`, `.blob.core.chinacloudapi.cn` in sovereign clouds)",
            )
        };
    Some(Diagnostic::new(Code::BF217, r.span_of("outputs"), message).with_help(help))
}

/// BF216: a blob container URL that carries no SAS: batchflow sends no identity for outputs,
/// so a SAS with write permission is the only way Batch can upload.
fn not_writable(r: &Runnable<'_>, url: &str) -> Option<Diagnostic> {
    let u = parse(url)?;
    if has_secret(u.host) || !(blob_endpoint(u.host).is_some() || is_loopback(u.host)) || carries_sas(url, &u) {
        return None;
    }
    let base = url.split('?').next().unwrap_or(url);
    let message = match u.query {
        Some(q) if !q.is_empty() => format!("the query of output container `{url}` has no `sig=`: it is not a SAS, so Batch cannot write to the container"),
        _ => format!("output container `{url}` has no SAS, so Batch cannot write to it"),
    };
    Some(
        Diagnostic::new(Code::BF216, r.span_of("outputs"), message).with_help(format!(
            "append a SAS token with write permission, kept in a secret: \"{base}?${{secret(\"SAS\")}}\""
        )),
    )
}

/// A SAS is a query with a `sig=` parameter, or a `secret()` that is the query (`?<secret:SAS>`,
/// or a placeholder ending the URL, whose value may start with `?`).
fn carries_sas(url: &str, u: &Url<'_>) -> bool {
    let placeholder = |s: &str| s.starts_with("<secret:") && s.ends_with('>') && s.matches('>').count() == 1;
    let in_query = u.query.is_some_and(|q| {
        q.split('&')
            .any(|p| p.get(..4).is_some_and(|k| k.eq_ignore_ascii_case("sig=")) || placeholder(p.trim()))
    });
    let before_query = url.split('?').next().unwrap_or(url);
    let ends_with_secret = before_query
        .rfind("<secret:")
        .is_some_and(|i| placeholder(&before_query[i..]));
    in_query || ends_with_secret
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split() {
        let u = parse("https://user@Acct.blob.core.windows.net:443/c/d?sv=1&sig=x#f").expect("url");
        assert_eq!(
            (u.scheme, u.host, u.path, u.query),
            ("https", "Acct.blob.core.windows.net", "c/d", Some("sv=1&sig=x"))
        );
        let e = parse("http://[::1]:10000/devstoreaccount1/c").expect("url");
        assert_eq!((e.host, e.path), ("[::1]", "devstoreaccount1/c"));
        assert_eq!(parse("<secret:URL>"), None);
    }

    #[test]
    fn sas_forms() {
        let sas = |url: &str| parse(url).is_some_and(|u| carries_sas(url, &u));
        assert!(sas("https://a.blob.core.windows.net/c?sv=2024&sig=abc"));
        assert!(sas("https://a.blob.core.windows.net/c?sv=2024&sig=<secret:SIG>"));
        assert!(sas("https://a.blob.core.windows.net/c?<secret:SAS>"));
        assert!(sas("https://a.blob.core.windows.net/c<secret:SAS_WITH_QUESTION_MARK>"));
        assert!(!sas("https://a.blob.core.windows.net/c"));
        assert!(!sas("https://a.blob.core.windows.net/c?sv=2024&se=2026"));
        assert!(!sas("https://a.blob.core.windows.net/c?token=<secret:T>"));
        assert!(!sas("https://a.blob.core.windows.net/<secret:C>/x"));
    }
}
