//! Checks a request's `Authorization`: Batch's SharedKey signature (batch-api-notes §9) when the
//! fake has an account key, else any `Bearer` token.

use base64::Engine;
use hmac::{Hmac, Mac};
use hyper::HeaderMap;
use sha2::Sha256;
use std::time::{Duration, SystemTime};

/// The standard headers the signature covers, in order (their values, empty when absent).
const SIGNED_HEADERS: [&str; 11] = [
    "content-encoding",
    "content-language",
    "content-length",
    "content-md5",
    "content-type",
    "date",
    "if-modified-since",
    "if-match",
    "if-none-match",
    "if-unmodified-since",
    "range",
];

/// How far `ocp-date` may be from the fake's clock.
const MAX_SKEW: Duration = Duration::from_secs(15 * 60);

fn header<'h>(headers: &'h HeaderMap, name: &str) -> &'h str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

/// The string Batch signs: the verb, the standard headers (a zero `Content-Length` counts as
/// absent), the non-empty `ocp-*` headers sorted by lowercase name, then `/account/path` and
/// each non-empty query parameter sorted by lowercase name as `\nname:value`. `path` and the
/// query values are decoded.
pub fn string_to_sign(
    method: &str,
    path: &str,
    query: &[(String, String)],
    headers: &HeaderMap,
    account: &str,
) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(method);
    out.push('\n');
    for name in SIGNED_HEADERS {
        let v = header(headers, name);
        if !(name == "content-length" && v == "0") {
            out.push_str(v);
        }
        out.push('\n');
    }
    let mut ocp: Vec<(String, &str)> = headers
        .iter()
        .filter(|(k, _)| k.as_str().starts_with("ocp-"))
        .filter_map(|(k, v)| Some((k.as_str().to_ascii_lowercase(), v.to_str().ok()?)))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    ocp.sort();
    for (k, v) in ocp {
        out.push_str(&k);
        out.push(':');
        out.push_str(v);
        out.push('\n');
    }
    out.push('/');
    out.push_str(account);
    out.push_str(path);
    let mut q: Vec<(String, &str)> = query
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str()))
        .collect();
    q.sort();
    for (k, v) in q {
        out.push('\n');
        out.push_str(&k);
        out.push(':');
        out.push_str(v);
    }
    out
}

/// `base64(HMAC-SHA256(key, text))`.
pub fn sign(key: &[u8], text: &str) -> String {
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(text.as_bytes());
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

/// Ok, or why the request is not authenticated (the message of a 403 AuthenticationFailed).
pub fn check(
    key: Option<&[u8]>,
    account: &str,
    method: &str,
    path: &str,
    query: &[(String, String)],
    headers: &HeaderMap,
) -> Result<(), String> {
    let authorization = header(headers, "authorization");
    let Some(key) = key else {
        return match authorization.strip_prefix("Bearer ") {
            Some(token) if !token.trim().is_empty() => Ok(()),
            _ => Err(format!(
                "this fake account takes `Authorization: Bearer <token>`; the request has `{}`",
                authorization.split(':').next().unwrap_or("")
            )),
        };
    };
    let Some(credential) = authorization.strip_prefix("SharedKey ") else {
        return Err("the request has no `Authorization: SharedKey account:signature` header".into());
    };
    let Some((who, signature)) = credential.split_once(':') else {
        return Err("the SharedKey credential is not `account:signature`".into());
    };
    if who != account {
        return Err(format!("the request is signed for account `{who}`, not `{account}`"));
    }
    let date = match header(headers, "ocp-date") {
        "" => header(headers, "date"),
        d => d,
    };
    let Ok(when) = httpdate::parse_http_date(date) else {
        return Err(format!(
            "the request's ocp-date/Date `{date}` is missing or not an RFC 1123 date"
        ));
    };
    let now = SystemTime::now();
    let skew = now
        .duration_since(when)
        .or_else(|_| when.duration_since(now))
        .unwrap_or_default();
    if skew > MAX_SKEW {
        return Err(format!("the request's date `{date}` is more than 15 minutes off"));
    }
    let text = string_to_sign(method, path, query, headers, account);
    if sign(key, &text) != signature {
        return Err(format!(
            "Server failed to authenticate the request. The MAC signature found in the request is not the same as any computed signature. Server used following string to sign: {text:?}"
        ));
    }
    Ok(())
}
