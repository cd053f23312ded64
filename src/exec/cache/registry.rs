//! The digest a container registry gives an image tag, for the task cache's keys: a task that
//! runs `app:latest` gets a new key once `latest` names another image. The requests are those
//! of the OCI distribution spec (v1.1, which grew out of the Docker
//! Registry HTTP API v2), with Docker's token authentication (distribution's
//! `docs/spec/auth/token.md`).
//!
//! Bounded: a few seconds a request, a handful of images at once, each image asked once.
//! Anything uncertain leaves the image out with a note, and its tasks' keys name the image as
//! written. Passwords and tokens go into request headers only; notes quote no header and no
//! response body.

use super::challenge::Challenge;
use crate::image_ref::{normalize_host, validate, ImageRef};
use futures::stream::{self, StreamExt};
use reqwest::header::{HeaderMap, ACCEPT, WWW_AUTHENTICATE};
use reqwest::{Client, Method, Response, StatusCode, Url};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

/// Credentials for one registry, as a task body's `containerSettings.registry` gives them.
#[derive(Clone)]
pub struct Login {
    pub server: String,
    pub username: String,
    pub password: String,
}

/// Without the password.
impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("server", &self.server)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// Every manifest type a tag can name, multi-platform ones first: a multi-platform image is
/// then named by its index, the digest `docker pull` records, not by one platform's manifest
/// (spec, "Pulling manifests": "The client SHOULD include an Accept header indicating which
/// manifest content types it supports").
const MANIFEST_TYPES: &str = "application/vnd.oci.image.index.v1+json, \
     application/vnd.docker.distribution.manifest.list.v2+json, \
     application/vnd.docker.distribution.manifest.v2+json, \
     application/vnd.oci.image.manifest.v1+json";

/// Spec, "Checking if content exists in the registry": "A HEAD request to an existing blob or
/// manifest URL MUST return `200 OK`. A successful response SHOULD contain the digest of the
/// uploaded blob in the header `Docker-Content-Digest`" (later versions: MUST).
const DIGEST_HEADER: &str = "docker-content-digest";

/// Spec, "Pushing Manifests": "Client and registry implementations SHOULD expect to be able
/// to support manifest pushes of at least 4 megabytes"; a token answer is far smaller.
const MAX_BODY: usize = 4 << 20;

#[derive(Clone, Copy, Debug)]
struct Limits {
    /// For each request, its body included (the caller's client may be shared: no client-wide
    /// timeout is assumed).
    pub timeout: Duration,
    /// Images asked at once.
    pub at_once: usize,
}

const LIMITS: Limits = Limits {
    timeout: Duration::from_secs(5),
    at_once: 4,
};

/// The digest (`sha256:...`) of each image reference that a registry could name; an image
/// the registry does not answer for (unreachable, denied, unknown tag, managed identity) is
/// left out, with why in the notes.
pub async fn digests(images: &[String], logins: &[Login], http: &Client) -> (HashMap<String, String>, Vec<String>) {
    digests_within(images, logins, http, LIMITS).await
}

async fn digests_within(
    images: &[String],
    logins: &[Login],
    http: &Client,
    limits: Limits,
) -> (HashMap<String, String>, Vec<String>) {
    let mut seen = HashSet::new();
    let unique: Vec<&str> = images.iter().map(String::as_str).filter(|i| seen.insert(*i)).collect();
    let shared = Shared {
        http,
        logins,
        limits,
        down: Mutex::new(HashMap::new()),
    };
    let shared = &shared;
    let answers: Vec<(&str, Result<String, String>)> = stream::iter(unique)
        .map(|image| async move { (image, digest_of(image, shared).await) })
        .buffer_unordered(limits.at_once.max(1))
        .collect()
        .await;
    let mut found = HashMap::new();
    let mut notes = Vec::new();
    for (image, answer) in answers {
        match answer {
            Ok(digest) => {
                found.insert(image.to_string(), digest);
            }
            Err(why) => notes.push(format!("cannot learn the digest of image `{image}`: {why}")),
        }
    }
    notes.sort();
    (found, notes)
}

/// How a request proves who asks.
enum Auth<'a> {
    None,
    Basic(&'a Login),
    Bearer(String),
}

/// What the images' lookups share.
struct Shared<'a> {
    http: &'a Client,
    logins: &'a [Login],
    limits: Limits,
    /// Registries that could not be reached or gave no answer in time, with why: their
    /// other images are not asked (a dead registry costs one timeout, not one per image).
    down: Mutex<HashMap<String, String>>,
}

/// One image's requests.
struct Asker<'a> {
    http: &'a Client,
    limits: Limits,
    image: &'a ImageRef,
    login: Option<&'a Login>,
    down: &'a Mutex<HashMap<String, String>>,
}

async fn digest_of(image: &str, shared: &Shared<'_>) -> Result<String, String> {
    if let Err(e) = validate(image) {
        return Err(format!("it is not a valid image reference ({})", e.message()));
    }
    let r = ImageRef::parse(image);
    // A digest reference names its image already: nothing to ask.
    if let Some(digest) = r.digest() {
        return Ok(digest.to_string());
    }
    if let Some(why) = shared.down.lock().ok().and_then(|d| d.get(&r.host).cloned()) {
        return Err(format!("{why} (asked once, for an earlier image)"));
    }
    let asker = Asker {
        http: shared.http,
        limits: shared.limits,
        image: &r,
        login: shared.logins.iter().find(|l| normalize_host(&l.server) == r.host),
        down: &shared.down,
    };
    asker.ask(&manifest_url(&r)?).await
}

impl Asker<'_> {
    /// `HEAD /v2/<name>/manifests/<tag>` (spec, "Checking if content exists in the registry",
    /// endpoint end-3); after a 401, once more with what its challenge asks for.
    async fn ask(&self, url: &Url) -> Result<String, String> {
        let mut auth = Auth::None;
        let mut resp = self.send(Method::HEAD, url, &auth).await?;
        if resp.status() == StatusCode::UNAUTHORIZED {
            auth = self.authorize(resp.headers()).await?;
            resp = self.send(Method::HEAD, url, &auth).await?;
        }
        if resp.status().is_success() {
            if let Some(d) = header_digest(resp.headers()) {
                return Ok(d);
            }
        } else if resp.status() != StatusCode::METHOD_NOT_ALLOWED {
            return Err(self.refused(resp.status()));
        }
        // Without the header (spec, "Legacy Docker support HTTP headers": "These headers
        // are OPTIONAL"), or where HEAD is not served: GET, and its header or the hash of the
        // manifest's own bytes, which is what a manifest digest is of.
        let resp = self.send(Method::GET, url, &auth).await?;
        if !resp.status().is_success() {
            return Err(self.refused(resp.status()));
        }
        if let Some(d) = header_digest(resp.headers()) {
            return Ok(d);
        }
        let body = self.body(resp, "the manifest").await?;
        let hash = Sha256::digest(&body);
        Ok(format!("sha256:{}", crate::exec::cloud::blob::hex(&hash)))
    }

    async fn send(&self, method: Method, url: &Url, auth: &Auth<'_>) -> Result<Response, String> {
        let mut req = self
            .http
            .request(method, url.clone())
            .header(ACCEPT, MANIFEST_TYPES)
            .timeout(self.limits.timeout);
        req = match auth {
            Auth::None => req,
            Auth::Basic(l) => req.basic_auth(&l.username, Some(&l.password)),
            Auth::Bearer(token) => req.bearer_auth(token),
        };
        req.send().await.map_err(|e| self.failed(&self.registry(), &e))
    }

    /// What a 401's `WWW-Authenticate` asks for: a token from its realm (token.md, "How to
    /// authenticate"), or the login itself (`Basic`, RFC 7617).
    async fn authorize(&self, headers: &HeaderMap) -> Result<Auth<'_>, String> {
        let challenges: Vec<Challenge> = headers
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(Challenge::parse)
            .collect();
        if let Some(bearer) = challenges.iter().find(|c| c.scheme.eq_ignore_ascii_case("bearer")) {
            return self.token(bearer).await.map(Auth::Bearer);
        }
        match self.login {
            Some(login) if challenges.iter().any(|c| c.scheme.eq_ignore_ascii_case("basic")) => Ok(Auth::Basic(login)),
            Some(_) => Err(format!(
                "{} asks for credentials in a way batchflow does not answer (HTTP 401)",
                self.registry()
            )),
            None => Err(self.refused(StatusCode::UNAUTHORIZED)),
        }
    }

    /// A bearer token for pulling the image (token.md, "Requesting a Token": `GET realm` with
    /// `service` and each `scope`; "Token Response Fields": `token`, or `access_token`).
    async fn token(&self, challenge: &Challenge) -> Result<String, String> {
        let realm = challenge
            .param("realm")
            .ok_or_else(|| format!("{} names no token realm", self.registry()))?;
        let mut url =
            Url::parse(realm).map_err(|_| format!("{} names a token realm that is not a URL", self.registry()))?;
        if !realm_allowed(&url) {
            return Err(format!(
                "{} sends for its token to `{}` over plain http, where credentials would travel unencrypted",
                self.registry(),
                url.host_str().unwrap_or("")
            ));
        }
        let pull = format!("repository:{}:pull", self.image.path);
        let scopes = challenge.param("scope").unwrap_or(&pull);
        {
            let mut query = url.query_pairs_mut();
            if let Some(service) = challenge.param("service") {
                query.append_pair("service", service);
            }
            for scope in scopes.split(' ').filter(|s| !s.is_empty()) {
                query.append_pair("scope", scope);
            }
        }
        let mut req = self.http.get(url).timeout(self.limits.timeout);
        if let Some(l) = self.login {
            req = req.basic_auth(&l.username, Some(&l.password));
        }
        let service = format!("the token service of {}", self.registry());
        let resp = req.send().await.map_err(|e| self.failed(&service, &e))?;
        if !resp.status().is_success() {
            return Err(match resp.status().as_u16() {
                401 | 403 => self.refused(resp.status()),
                code => format!("{service} answered HTTP {code}"),
            });
        }
        let body = self.body(resp, &service).await?;
        let answer: serde_json::Value =
            serde_json::from_slice(&body).map_err(|_| format!("{service} answered with something other than JSON"))?;
        ["token", "access_token"]
            .iter()
            .find_map(|k| {
                answer
                    .get(k)
                    .and_then(serde_json::Value::as_str)
                    .filter(|t| !t.is_empty())
            })
            .map(str::to_string)
            .ok_or_else(|| format!("{service} answered without a token"))
    }

    /// The body, up to [`MAX_BODY`].
    async fn body(&self, mut resp: Response, what: &str) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.failed(what, &e))? {
            if out.len() + chunk.len() > MAX_BODY {
                return Err(format!("{what} is larger than {} MiB", MAX_BODY >> 20));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }

    fn registry(&self) -> String {
        format!("registry `{}`", self.image.host)
    }

    /// Why an answer with `status` gives no digest.
    fn refused(&self, status: StatusCode) -> String {
        let registry = self.registry();
        let code = status.as_u16();
        match (code, self.login) {
            (404, _) => format!(
                "{registry} has no tag `{}` of `{}` (HTTP 404)",
                self.image.tag, self.image.path
            ),
            (401 | 403, None) => {
                format!("{registry} wants credentials, and no user name and password are given for it (HTTP {code})")
            }
            (401 | 403, Some(_)) => format!("{registry} refused the credentials given for it (HTTP {code})"),
            _ => format!("{registry} answered HTTP {code}"),
        }
    }

    /// A request that got no answer, said without its URL (a short reason reads better); a
    /// registry that cannot be reached, or gave no answer in time, is not asked again.
    fn failed(&self, what: &str, e: &reqwest::Error) -> String {
        let unreachable = if e.is_timeout() {
            Some(format!(
                "{what} gave no answer within {} s",
                self.limits.timeout.as_secs_f32()
            ))
        } else if e.is_connect() {
            Some(format!("{what} cannot be reached"))
        } else {
            None
        };
        if let Some(why) = unreachable {
            if let Ok(mut down) = self.down.lock() {
                down.insert(self.image.host.clone(), why.clone());
            }
            return why;
        }
        if e.is_redirect() {
            format!("{what} redirects too often")
        } else {
            format!("the request to {what} failed")
        }
    }
}

/// `https://HOST/v2/<name>/manifests/<tag>`; Docker Hub answers at `registry-1.docker.io`
/// (as `docker pull` asks it), a registry on this machine over plain http (Docker trusts
/// loopback registries without TLS).
fn manifest_url(r: &ImageRef) -> Result<Url, String> {
    let base = match r.host.as_str() {
        "docker.io" => "https://registry-1.docker.io".to_string(),
        host if is_loopback(host) => format!("http://{host}"),
        host => format!("https://{host}"),
    };
    Url::parse(&format!("{base}/v2/{}/manifests/{}", r.path, r.tag))
        .map_err(|_| format!("registry `{}` cannot be written as a URL", r.host))
}

/// Whether `host` (with or without `:port`, IPv6 in brackets) is this machine.
fn is_loopback(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => host.split(':').next().unwrap_or(""),
    };
    name.eq_ignore_ascii_case("localhost") || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A token realm gets credentials: over https only, or to this machine.
fn realm_allowed(url: &Url) -> bool {
    url.scheme() == "https" || (url.scheme() == "http" && url.host_str().is_some_and(is_loopback))
}

/// A `sha256:` digest from the digest header; another algorithm is left to the body's hash.
fn header_digest(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(DIGEST_HEADER)?.to_str().ok()?.trim();
    let hex = value.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))).then(|| value.to_string())
}

#[cfg(test)]
#[path = "registry_tests.rs"]
mod tests;
