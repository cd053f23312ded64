//! Against a fake registry on 127.0.0.1 (a random port): repositories under `anon/` answer
//! anyone, `bearer/` and `oauth/` want a token from the fake's `/token` (which wants basic
//! credentials; `oauth/` answers `access_token`), `basic/` wants basic credentials, `bare/`
//! answers without the digest header, `slow/` never answers. Tag `v1` (and `latest` under
//! `anon/`) exists; any other tag is a 404.

use super::*;
use base64::Engine;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::sync::{Arc, Mutex};

const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const TOKEN: &str = "tok-123";
const USER: &str = "alice";
const PASSWORD: &str = "s3cret";
const MANIFEST: &str = r#"{"schemaVersion":2}"#;

struct Fake {
    port: u16,
    /// `METHOD path?query` of each request, in order.
    seen: Arc<Mutex<Vec<String>>>,
}

impl Fake {
    async fn start() -> Fake {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("the fake registry binds 127.0.0.1");
        let port = listener.local_addr().expect("its address").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let log = log.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let log = log.clone();
                        async move { Ok::<_, std::convert::Infallible>(answer(&req, port, &log).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Fake { port, seen }
    }

    fn image(&self, rest: &str) -> String {
        format!("127.0.0.1:{}/{rest}", self.port)
    }

    fn login(&self, password: &str) -> Login {
        Login {
            server: format!("http://127.0.0.1:{}/", self.port),
            username: USER.into(),
            password: password.into(),
        }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().expect("the request log").clone()
    }
}

fn basic() -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"))
    )
}

async fn answer(req: &Request<Incoming>, port: u16, log: &Mutex<Vec<String>>) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    log.lock().expect("the request log").push(format!(
        "{} {path}{}",
        req.method(),
        if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        }
    ));
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let reply = |status: u16, headers: &[(&str, String)], body: &str| {
        let mut b = Response::builder().status(status);
        for (k, v) in headers {
            b = b.header(*k, v.as_str());
        }
        b.body(Full::new(Bytes::from(body.to_string()))).expect("a response")
    };
    if path == "/token" {
        let service_ok = query.contains("service=fake-registry");
        if auth != basic() || !service_ok {
            return reply(401, &[], r#"{"errors":[{"code":"UNAUTHORIZED"}]}"#);
        }
        let field = if query.contains("oauth%2Fapp") {
            "access_token"
        } else {
            "token"
        };
        return reply(200, &[], &format!(r#"{{"{field}":"{TOKEN}"}}"#));
    }
    let Some((repo, tag)) = path.strip_prefix("/v2/").and_then(|p| p.split_once("/manifests/")) else {
        return reply(404, &[], "");
    };
    let bearer_challenge = format!(
        r#"Bearer realm="http://127.0.0.1:{port}/token",service="fake-registry",scope="repository:{repo}:pull""#
    );
    let (wanted, challenge) = match repo.split('/').next().unwrap_or("") {
        "bearer" | "oauth" => (Some(format!("Bearer {TOKEN}")), bearer_challenge),
        "basic" => (Some(basic()), r#"Basic realm="fake-registry""#.to_string()),
        "slow" => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            (None, String::new())
        }
        _ => (None, String::new()),
    };
    if wanted.is_some_and(|w| w != auth) {
        return reply(401, &[("www-authenticate", challenge)], "");
    }
    let known = tag == "v1" || (tag == "latest" && repo.starts_with("anon/"));
    if !known {
        return reply(404, &[], r#"{"errors":[{"code":"MANIFEST_UNKNOWN"}]}"#);
    }
    let body = if req.method() == hyper::Method::GET {
        MANIFEST
    } else {
        ""
    };
    if repo.starts_with("bare/") {
        return reply(200, &[], body);
    }
    reply(200, &[("docker-content-digest", DIGEST.to_string())], body)
}

fn client() -> Client {
    Client::builder().no_proxy().build().expect("an HTTP client")
}

async fn ask(images: &[String], logins: &[Login]) -> (HashMap<String, String>, Vec<String>) {
    digests(images, logins, &client()).await
}

#[tokio::test]
async fn an_anonymous_tag_gives_its_digest_once() {
    let fake = Fake::start().await;
    let image = fake.image("anon/app:v1");
    let latest = fake.image("anon/app");
    let (found, notes) = ask(&[image.clone(), latest.clone(), image.clone()], &[]).await;
    assert_eq!(found.get(&image).map(String::as_str), Some(DIGEST));
    assert_eq!(found.get(&latest).map(String::as_str), Some(DIGEST));
    assert!(notes.is_empty(), "{notes:?}");
    let mut seen = fake.seen();
    seen.sort();
    assert_eq!(
        seen,
        ["HEAD /v2/anon/app/manifests/latest", "HEAD /v2/anon/app/manifests/v1"]
    );
}

#[tokio::test]
async fn a_bearer_token_is_fetched_with_the_login() {
    let fake = Fake::start().await;
    let image = fake.image("bearer/app:v1");
    let oauth = fake.image("oauth/app:v1");
    let (found, notes) = ask(&[image.clone(), oauth.clone()], &[fake.login(PASSWORD)]).await;
    assert_eq!(found.get(&image).map(String::as_str), Some(DIGEST), "{notes:?}");
    assert_eq!(found.get(&oauth).map(String::as_str), Some(DIGEST), "{notes:?}");
    let seen = fake.seen();
    assert!(
        seen.contains(&"GET /token?service=fake-registry&scope=repository%3Abearer%2Fapp%3Apull".to_string()),
        "{seen:?}"
    );
}

#[tokio::test]
async fn a_token_service_that_refuses_leaves_the_image_out() {
    let fake = Fake::start().await;
    let image = fake.image("bearer/app:v1");
    let (found, notes) = ask(std::slice::from_ref(&image), &[]).await;
    assert!(found.is_empty());
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert!(notes[0].contains(&format!("`{image}`")), "{notes:?}");
    assert!(notes[0].contains("no user name and password"), "{notes:?}");
    let (found, notes) = ask(std::slice::from_ref(&image), &[fake.login("wrong")]).await;
    assert!(found.is_empty());
    assert!(notes[0].contains("refused the credentials"), "{notes:?}");
    assert!(!notes[0].contains("wrong"), "a password in a note: {notes:?}");
}

#[tokio::test]
async fn basic_auth_is_answered_with_the_login() {
    let fake = Fake::start().await;
    let image = fake.image("basic/app:v1");
    let (found, notes) = ask(std::slice::from_ref(&image), &[fake.login(PASSWORD)]).await;
    assert_eq!(found.get(&image).map(String::as_str), Some(DIGEST), "{notes:?}");
    let (found, notes) = ask(std::slice::from_ref(&image), &[]).await;
    assert!(found.is_empty());
    assert!(
        notes[0].contains(&format!("`{image}`")) && notes[0].contains("HTTP 401"),
        "{notes:?}"
    );
}

#[tokio::test]
async fn an_unknown_tag_is_left_out_with_a_note() {
    let fake = Fake::start().await;
    let image = fake.image("anon/app:v9");
    let (found, notes) = ask(std::slice::from_ref(&image), &[]).await;
    assert!(found.is_empty());
    assert_eq!(
        notes,
        [format!(
            "cannot learn the digest of image `{image}`: registry `127.0.0.1:{}` has no tag `v9` of `anon/app` (HTTP 404)",
            fake.port
        )]
    );
}

#[tokio::test]
async fn a_digest_reference_needs_no_request() {
    let fake = Fake::start().await;
    let pinned = format!("sha256:{}", "ab".repeat(32));
    let image = fake.image(&format!("anon/app:v1@{pinned}"));
    let (found, notes) = ask(std::slice::from_ref(&image), &[]).await;
    assert_eq!(found.get(&image), Some(&pinned));
    assert!(notes.is_empty(), "{notes:?}");
    assert!(fake.seen().is_empty(), "{:?}", fake.seen());
}

#[tokio::test]
async fn without_the_header_the_manifest_is_hashed() {
    let fake = Fake::start().await;
    let image = fake.image("bare/app:v1");
    let (found, notes) = ask(std::slice::from_ref(&image), &[]).await;
    let hash = Sha256::digest(MANIFEST.as_bytes());
    let want = format!("sha256:{}", hash.iter().map(|b| format!("{b:02x}")).collect::<String>());
    assert_eq!(found.get(&image), Some(&want), "{notes:?}");
    assert_eq!(
        fake.seen(),
        ["HEAD /v2/bare/app/manifests/v1", "GET /v2/bare/app/manifests/v1"]
    );
}

#[tokio::test]
async fn a_registry_that_does_not_answer_is_asked_once() {
    let dead = Fake::start().await;
    let alive = Fake::start().await;
    let images = [
        dead.image("slow/a:v1"),
        dead.image("slow/b:v1"),
        alive.image("anon/app:v1"),
    ];
    let limits = Limits {
        timeout: Duration::from_millis(300),
        at_once: 1,
    };
    let started = std::time::Instant::now();
    let (found, notes) = digests_within(&images, &[], &client(), limits).await;
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(found.keys().collect::<Vec<_>>(), [&images[2]]);
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(
        notes.iter().all(|n| n.contains("gave no answer within 0.3 s")),
        "{notes:?}"
    );
    assert!(notes.iter().any(|n| n.contains("asked once")), "{notes:?}");
    assert_eq!(dead.seen(), ["HEAD /v2/slow/a/manifests/v1"]);
}

#[tokio::test]
async fn an_invalid_reference_is_not_asked_for() {
    let (found, notes) = ask(&["Ubuntu:24.04".to_string()], &[]).await;
    assert!(found.is_empty());
    assert!(notes[0].contains("not a valid image reference"), "{notes:?}");
}

#[test]
fn docker_hub_names_are_normalised() {
    let url = |r: &str| manifest_url(&ImageRef::parse(r)).expect("a URL").to_string();
    let hub = "https://registry-1.docker.io/v2/library/ubuntu/manifests";
    assert_eq!(url("ubuntu"), format!("{hub}/latest"));
    assert_eq!(url("ubuntu:24.04"), format!("{hub}/24.04"));
    assert_eq!(url("docker.io/library/ubuntu:24.04"), format!("{hub}/24.04"));
    assert_eq!(url("index.docker.io/ubuntu:24.04"), format!("{hub}/24.04"));
    assert_eq!(
        url("biocontainers/bwa:v0.7.17_cv1"),
        "https://registry-1.docker.io/v2/biocontainers/bwa/manifests/v0.7.17_cv1"
    );
    assert_eq!(
        url("myacr.azurecr.io/tf/tf:latest-gpu"),
        "https://myacr.azurecr.io/v2/tf/tf/manifests/latest-gpu"
    );
    assert_eq!(
        url("localhost:5000/app"),
        "http://localhost:5000/v2/app/manifests/latest"
    );
    assert_eq!(
        url("127.0.0.1:5000/app:v1"),
        "http://127.0.0.1:5000/v2/app/manifests/v1"
    );
    assert_eq!(url("[::1]:5000/app:v1"), "http://[::1]:5000/v2/app/manifests/v1");
    assert_eq!(url("10.0.0.4:5000/app:v1"), "https://10.0.0.4:5000/v2/app/manifests/v1");
}

#[test]
fn token_realms_get_credentials_only_over_https_or_here() {
    let allowed = |u: &str| realm_allowed(&Url::parse(u).expect("a URL"));
    assert!(allowed("https://auth.docker.io/token"));
    assert!(allowed("http://127.0.0.1:5000/token"));
    assert!(allowed("http://localhost/token"));
    assert!(allowed("http://[::1]:8080/token"));
    assert!(!allowed("http://auth.example.com/token"));
    assert!(!allowed("http://10.0.0.4/token"));
    assert!(!allowed("ftp://auth.example.com/token"));
}

#[test]
fn a_login_prints_without_its_password() {
    let shown = format!(
        "{:?}",
        Login {
            server: "myacr.azurecr.io".into(),
            username: "u".into(),
            password: "hunter2".into(),
        }
    );
    assert!(!shown.contains("hunter2"), "{shown}");
}
