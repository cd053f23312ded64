//! A fault-injecting HTTP proxy in front of an HTTP Azurite, for what Azurite cannot do on
//! request: throttle (503 with `x-ms-error-code: ServerBusy`), drop connections, die after N
//! uploaded bytes (as an uploading process killed mid-way), cut a response short, refuse
//! with a 403 of a given code (a missing role). It forwards everything else unchanged (path,
//! query, headers, body), so SharedKey signatures and SAS stay valid through it.

use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Bytes, Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

/// What to do to the next requests. Counters count down as faults are served.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// The next this-many requests are answered 503 `ServerBusy`, without reaching Azurite.
    pub busy: u32,
    /// The next this-many requests lose their connection without an answer.
    pub drop: u32,
    /// Once this many request-body bytes have been forwarded, every later request with a body
    /// loses its connection: what the service sees of an upload killed mid-way.
    pub cut_after_bytes: Option<u64>,
    /// The next this-many GET replies are cut halfway, the connection then dropped.
    pub truncate: u32,
    /// Every request is answered 403 with this `x-ms-error-code`.
    pub deny: Option<String>,
}

/// What the proxy saw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub requests: u64,
    /// Faults served (503s, drops, cuts, 403s).
    pub injected: u64,
    /// Body bytes of Put Block requests forwarded to Azurite.
    pub block_bytes: u64,
    /// Body bytes of every request forwarded.
    pub body_bytes: u64,
}

struct Shared {
    upstream: String,
    http: reqwest::Client,
    faults: Mutex<Faults>,
    requests: AtomicU64,
    injected: AtomicU64,
    block_bytes: AtomicU64,
    body_bytes: AtomicU64,
    /// Requests being served (a request the client gave up on counts until its forward ends).
    in_flight: AtomicU64,
}

/// Counts a request in flight for as long as it is served, cancelled or not.
struct Serving(Arc<Shared>);

impl Drop for Serving {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Relaxed);
    }
}

pub struct Proxy {
    shared: Arc<Shared>,
    port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    /// A proxy to `upstream` (`http://127.0.0.1:PORT`) on a free port of 127.0.0.1.
    pub fn start(upstream: &str) -> Proxy {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("the proxy binds 127.0.0.1");
        listener.set_nonblocking(true).expect("a non-blocking listener");
        let port = listener.local_addr().expect("the proxy's address").port();
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder().build().expect("an HTTP client"),
            faults: Mutex::new(Faults::default()),
            requests: AtomicU64::new(0),
            injected: AtomicU64::new(0),
            block_bytes: AtomicU64::new(0),
            body_bytes: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
        });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = shared.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("the proxy's runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
                tokio::select! {
                    () = accept(listener, serving) => {}
                    _ = stopped => {}
                }
            });
            runtime.shutdown_background();
        });
        Proxy {
            shared,
            port,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The emulator account's blob endpoint through the proxy.
    pub fn blob_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/{}", self.port, crate::azurite::ACCOUNT)
    }

    /// The emulator account's connection string through the proxy.
    pub fn connection_string(&self) -> String {
        format!(
            "AccountName={};AccountKey={};BlobEndpoint={}",
            crate::azurite::ACCOUNT,
            crate::azurite::KEY,
            self.blob_endpoint()
        )
    }

    pub fn set(&self, faults: Faults) {
        *self.shared.faults.lock().unwrap_or_else(|e| e.into_inner()) = faults;
    }

    /// Waits until no request is being served: what a client abandoned has reached Azurite or
    /// never will.
    pub fn wait_idle(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while self.shared.in_flight.load(Relaxed) > 0 {
            assert!(std::time::Instant::now() < deadline, "the proxy never became idle");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// What it saw since it started or since the last call.
    pub fn take_stats(&self) -> Stats {
        let s = &self.shared;
        Stats {
            requests: s.requests.swap(0, Relaxed),
            injected: s.injected.swap(0, Relaxed),
            block_bytes: s.block_bytes.swap(0, Relaxed),
            body_bytes: s.body_bytes.swap(0, Relaxed),
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept(listener: tokio::net::TcpListener, shared: Arc<Shared>) {
    while let Ok((stream, _)) = listener.accept().await {
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| serve(shared.clone(), req));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Makes hyper close the connection without a reply (or mid-body).
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by the proxy")
    }
}

impl std::error::Error for Dropped {}

type Body = BoxBody<Bytes, Dropped>;

fn full(bytes: Bytes) -> Body {
    Full::new(bytes).map_err(|never| match never {}).boxed()
}

enum Fault {
    Busy,
    Drop,
    Deny(String),
    Truncate,
}

/// Decides this request's fault, counting it down.
fn fault_for(shared: &Shared, body_len: u64, get: bool) -> Option<Fault> {
    let mut f = shared.faults.lock().unwrap_or_else(|e| e.into_inner());
    let fault = if let Some(code) = &f.deny {
        Some(Fault::Deny(code.clone()))
    } else if f.busy > 0 {
        f.busy -= 1;
        Some(Fault::Busy)
    } else if f.drop > 0 {
        f.drop -= 1;
        Some(Fault::Drop)
    } else if f
        .cut_after_bytes
        .is_some_and(|n| body_len > 0 && shared.body_bytes.load(Relaxed) + body_len > n)
    {
        Some(Fault::Drop)
    } else if body_len > 0 && f.cut_after_bytes.is_some() {
        // Counted here, under the lock, so parallel uploads cannot pass the limit together.
        shared.body_bytes.fetch_add(body_len, Relaxed);
        None
    } else if get && f.truncate > 0 {
        f.truncate -= 1;
        Some(Fault::Truncate)
    } else {
        None
    };
    if fault.is_some() {
        shared.injected.fetch_add(1, Relaxed);
    }
    fault
}

fn error_reply(status: u16, code: &str) -> Response<Body> {
    let xml = format!("<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code><Message>injected by the test proxy</Message></Error>");
    Response::builder()
        .status(status)
        .header("x-ms-error-code", code)
        .header("content-type", "application/xml")
        .body(full(Bytes::from(xml)))
        .unwrap_or_else(|_| Response::new(full(Bytes::new())))
}

async fn serve(shared: Arc<Shared>, request: Request<Incoming>) -> Result<Response<Body>, Dropped> {
    shared.in_flight.fetch_add(1, Relaxed);
    let _serving = Serving(Arc::clone(&shared));
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map_err(|_| Dropped)?.to_bytes();
    shared.requests.fetch_add(1, Relaxed);
    let fault = fault_for(&shared, body.len() as u64, parts.method == hyper::Method::GET);
    match &fault {
        Some(Fault::Busy) => return Ok(error_reply(503, "ServerBusy")),
        Some(Fault::Deny(code)) => return Ok(error_reply(403, code)),
        Some(Fault::Drop) => return Err(Dropped),
        _ => {}
    }
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let method = reqwest::Method::from_bytes(parts.method.as_str().as_bytes()).map_err(|_| Dropped)?;
    let mut forward = shared.http.request(method, format!("{}{path}", shared.upstream));
    for (name, value) in &parts.headers {
        if !matches!(name.as_str(), "host" | "content-length" | "connection") {
            forward = forward.header(name.as_str(), value.as_bytes());
        }
    }
    let reply = forward.body(body.clone()).send().await.map_err(|_| Dropped)?;
    if shared
        .faults
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .cut_after_bytes
        .is_none()
    {
        shared.body_bytes.fetch_add(body.len() as u64, Relaxed);
    }
    let query = parts.uri.query().unwrap_or("");
    if query.contains("comp=block") && !query.contains("comp=blocklist") {
        shared.block_bytes.fetch_add(body.len() as u64, Relaxed);
    }
    let mut out = Response::builder().status(reply.status().as_u16());
    for (name, value) in reply.headers() {
        if !matches!(name.as_str(), "transfer-encoding" | "connection") {
            out = out.header(name.as_str(), value.as_bytes());
        }
    }
    let bytes = reply.bytes().await.map_err(|_| Dropped)?;
    let body = match fault {
        Some(Fault::Truncate) if bytes.len() > 1 => {
            let half = bytes.slice(..bytes.len() / 2);
            let frames = futures::stream::iter(vec![Ok(Frame::data(half)), Err(Dropped)]);
            StreamBody::new(frames).boxed()
        }
        _ => full(bytes),
    };
    out.body(body).map_err(|_| Dropped)
}
