//! Storage's SharedKey scheme, written here because the Rust blob crate authorizes only with
//! Entra tokens or a SAS already in the URL: an HMAC-SHA256, with the account key, of the
//! verb, eleven standard headers, the `x-ms-*` headers and the resource ("Authorize with Shared
//! Key", Blob service, version 2009-09-19 and later).

use base64::Engine;
use hmac::{Hmac, Mac};
use reqwest::Url;
use sha2::Sha256;
use std::collections::BTreeMap;

/// An account key, decoded. `Debug` shows nothing of it.
#[derive(Clone)]
pub struct AccountKey(Vec<u8>);

impl std::fmt::Debug for AccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccountKey(<secret>)")
    }
}

impl AccountKey {
    /// `key` as the portal shows it (base64).
    pub fn new(key: &str) -> Result<AccountKey, String> {
        base64::engine::general_purpose::STANDARD
            .decode(key.trim())
            .map(AccountKey)
            .map_err(|_| "the storage account key is not base64".to_string())
    }

    /// base64(HMAC-SHA256(key, text)): the signature of a request or of a service SAS.
    pub fn sign(&self, text: &str) -> String {
        // HMAC takes keys of any length: this cannot fail.
        match Hmac::<Sha256>::new_from_slice(&self.0) {
            Ok(mut mac) => {
                mac.update(text.as_bytes());
                base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
            }
            Err(_) => String::new(),
        }
    }
}

/// The parts of a request the signature covers.
pub struct Signed<'a> {
    pub method: &'a str,
    pub url: &'a Url,
    /// Every header, names in any case.
    pub headers: &'a [(String, String)],
    /// The body's length (0 for none).
    pub content_length: u64,
}

const STANDARD: [&str; 10] = [
    "content-encoding",
    "content-language",
    "",
    "content-md5",
    "content-type",
    "date",
    "if-modified-since",
    "if-match",
    "if-none-match",
    "if-unmodified-since",
];

/// The string storage recomputes: the verb; Content-Encoding, -Language, -Length (empty when
/// 0), -MD5, -Type, Date, If-Modified-Since, If-Match, If-None-Match, If-Unmodified-Since,
/// Range; then `x-ms-*` headers sorted as `name:value\n`; then `/account/path` (the path as
/// encoded in the URL) and each query parameter, decoded, names lowercase and sorted, as
/// `\nname:value[,value]`.
pub fn string_to_sign(account: &str, r: &Signed<'_>) -> String {
    let header = |name: &str| {
        r.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map_or("", |(_, v)| v.trim())
    };
    let mut out = String::with_capacity(256);
    out.push_str(r.method);
    out.push('\n');
    for name in STANDARD {
        if name.is_empty() {
            if r.content_length > 0 {
                out.push_str(&r.content_length.to_string());
            }
        } else {
            out.push_str(header(name));
        }
        out.push('\n');
    }
    out.push_str(header("range"));
    out.push('\n');
    let ms: BTreeMap<String, &str> = r
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim()))
        .filter(|(k, _)| k.starts_with("x-ms-"))
        .collect();
    for (k, v) in ms {
        out.push_str(&format!("{k}:{v}\n"));
    }
    out.push('/');
    out.push_str(account);
    out.push_str(r.url.path());
    let mut query: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in r.url.query_pairs() {
        query.entry(k.to_ascii_lowercase()).or_default().push(v.into_owned());
    }
    for (k, mut values) in query {
        values.sort();
        out.push_str(&format!("\n{k}:{}", values.join(",")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_of_a_put_block() {
        let url =
            Url::parse("http://127.0.0.1:10000/devstoreaccount1/c/cas/ab?comp=block&blockid=QUE%3D").expect("a URL");
        let headers = vec![
            ("Content-Type".to_string(), "application/octet-stream".to_string()),
            ("x-ms-version".to_string(), "2026-04-06".to_string()),
            ("x-ms-date".to_string(), "Mon, 23 Nov 2026 12:00:00 GMT".to_string()),
            ("x-ms-client-request-id".to_string(), "id1".to_string()),
        ];
        let r = Signed {
            method: "PUT",
            url: &url,
            headers: &headers,
            content_length: 5,
        };
        assert_eq!(
            string_to_sign("devstoreaccount1", &r),
            "PUT\n\n\n5\n\napplication/octet-stream\n\n\n\n\n\n\nx-ms-client-request-id:id1\nx-ms-date:Mon, 23 Nov 2026 12:00:00 GMT\nx-ms-version:2026-04-06\n/devstoreaccount1/devstoreaccount1/c/cas/ab\nblockid:QUE=\ncomp:block"
        );
    }

    #[test]
    fn the_key_never_shows() {
        let k = AccountKey::new("c2VjcmV0").expect("base64");
        assert_eq!(format!("{k:?}"), "AccountKey(<secret>)");
        assert!(AccountKey::new("not base64!").is_err());
    }
}
