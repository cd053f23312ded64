//! A fake Azure Batch data-plane service (api-versions 2025-06-01 and 2024-02-01.19.0) for the
//! tests and the benchmark: an HTTP/1.1 server (hyper, multi-threaded tokio runtime on its own
//! thread) on 127.0.0.1 at a random port.
//!
//! It serves the operations the azure backend uses (see `api.rs`), checks every request body
//! against the strict schema of the api-version the request names (`crate::schema`; another
//! api-version is refused as Batch refuses it), moves pools, nodes and tasks through Batch's
//! states (`state.rs`), honours task dependencies, and injects faults on demand ([`Faults`]).
//! [`FakeBatch::snapshot`] tells a test what the service saw. With [`Config::run_tasks`] its
//! nodes really run the tasks (`node/`): resource files fetched, the command run in a working
//! directory, output files uploaded.
//!
//! Shared by the integration tests (`mod fake_batch;` in `main.rs`) and the `fake-batch`
//! example (`bin.rs`, which uses only part of it).

mod account_api;
mod api;
// For the tests' assertions; the fake-batch program does not name it.
#[allow(unused_imports)]
pub use api::NodeUserSeen;
mod auth;
pub mod catalog;
mod files;
pub mod handle;
mod node;
pub mod odata;
mod pool_api;
mod state;

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{HeaderMap, Method, Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use state::Sim;
use std::collections::{BTreeMap, HashMap};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How the service behaves.
#[derive(Clone, Debug)]
pub struct Config {
    /// The account name (SharedKey signatures name it).
    pub account: String,
    /// When set, requests must carry a valid `SharedKey` signature with this (decoded) key;
    /// when not, any `Authorization: Bearer <token>`.
    pub shared_key: Option<Vec<u8>>,
    /// From a resize (or pool creation) to `allocationState: steady`.
    pub allocation_delay: Duration,
    /// How long a task runs.
    pub task_duration: Duration,
    /// Added to every reply.
    pub latency: Duration,
    /// Worker threads of the server's runtime; 0: as many as cores (2 to 8).
    pub threads: usize,
    /// Seed of the fault dice; 0: from the clock.
    pub seed: u64,
    /// A request body of this many bytes or more is answered 413 `RequestBodyTooLarge`;
    /// Batch's limit is "less than 1MB".
    pub max_body_bytes: usize,
    /// Nodes really run their tasks (`node/`): every resource file is fetched with its URL,
    /// the command line runs in a working directory under a temporary node folder, output
    /// files are uploaded through their container URL and SAS, and `GET …/files/…` reads the
    /// real files. A task then takes as long as it takes (`task_duration` is not used) and
    /// exits as its command does (`Faults::failing_tasks` is not used). Off by default.
    pub run_tasks: bool,
    /// A PEM certificate the nodes trust besides the system's (an HTTPS Azurite's).
    pub node_ca_pem: Option<String>,
    /// `GET /supportedimages` (default: [`catalog::supported_images`]).
    pub supported_images: Vec<Value>,
    /// Its page size: small, so that readers follow `odata.nextLink`.
    pub supported_images_page: usize,
    /// Active jobs of other runs that `GET /jobs` lists.
    pub extra_active_jobs: u32,
    /// Shortest time between two `enableautoscale` calls on one pool; Batch's is 30 seconds
    /// ("You cannot call this API for the same Pool more than once every 30 seconds").
    pub enable_autoscale_spacing: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            account: "fakeacct".into(),
            shared_key: None,
            allocation_delay: Duration::from_millis(50),
            task_duration: Duration::from_millis(5),
            latency: Duration::ZERO,
            threads: 0,
            seed: 0,
            max_body_bytes: api::MAX_BODY_BYTES,
            run_tasks: false,
            node_ca_pem: None,
            supported_images: catalog::supported_images(),
            supported_images_page: 2,
            extra_active_jobs: 0,
            enable_autoscale_spacing: Duration::ZERO,
        }
    }
}

/// Faults to inject; [`FakeBatch::set_faults`] changes them at any time. Probabilities are per
/// request (per task for `task_server_error`), drawn in this order: throttle, else server
/// error, else dropped connection; `slow` is drawn on its own.
#[derive(Clone, Debug)]
pub struct Faults {
    /// 429 `ServerBusy` with `Retry-After: retry_after_secs`; nothing applied.
    pub throttle: f64,
    pub retry_after_secs: u64,
    /// 500 `InternalError` and 503 `ServerBusy` (with `Retry-After`), alternately; nothing applied.
    pub server_error: f64,
    /// The connection closes without a reply, after the request was read: half of the time
    /// before the request is applied, half after (the client cannot tell which).
    pub drop_connection: f64,
    /// An extra `slow_delay` before the reply (after the request was applied).
    pub slow: f64,
    pub slow_delay: Duration,
    /// Per task of an add: `servererror` result, task not created.
    pub task_server_error: f64,
    /// A pool's first allocation stops this many nodes short of its target (`resizeErrors`:
    /// `AllocationFailed`); later resizes (to the same target) succeed.
    pub pool_short_by: u32,
    /// Start tasks of nodes that start from now on fail (exit code 1).
    pub failing_start_task: bool,
    /// Tasks whose id starts with the prefix exit with that code.
    pub failing_tasks: Vec<(String, i32)>,
}

impl Default for Faults {
    fn default() -> Faults {
        Faults {
            throttle: 0.0,
            retry_after_secs: 1,
            server_error: 0.0,
            drop_connection: 0.0,
            slow: 0.0,
            slow_delay: Duration::from_millis(200),
            task_server_error: 0.0,
            pool_short_by: 0,
            failing_start_task: false,
            failing_tasks: Vec::new(),
        }
    }
}

/// One task id as the service saw it.
#[derive(Clone, Debug)]
pub struct TaskSeen {
    /// Times a create was applied (1 for a task that exists, 0 for one that never got in).
    pub created: u32,
    /// Times the id was in an add request that reached the service logic (not the ones
    /// throttled, failed with 500/503 or dropped before being applied).
    pub add_attempts: u32,
    /// Dependencies, `taskIdRanges` expanded.
    pub depends_on: Vec<String>,
    /// `active`, `running`, `completed`; `notcreated` for ids never created.
    pub state: String,
    pub exit_code: Option<i32>,
    /// The task as added (the last attempt for ids never created).
    pub body: Value,
}

/// What the service saw, for assertions.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    /// Every pool ever created, as `GET /pools/{id}` shows it (the request body plus the state
    /// fields); deleted pools have `"state": "deleted"`.
    pub pools: Vec<Value>,
    /// Every job, as `GET /jobs/{id}` shows it (`"state": "deleted"` once deleted).
    pub jobs: Vec<Value>,
    /// Tasks by job id, then task id.
    pub tasks: BTreeMap<String, BTreeMap<String, TaskSeen>>,
    /// Every request body that failed validation: `METHOD /path?query: error`.
    pub schema_errors: Vec<String>,
    pub requests: u64,
    pub faults_injected: u64,
    /// Injected faults by kind: `throttle`, `server_error`, `drop_before_apply`,
    /// `drop_after_apply`, `slow`, `task_server_error`.
    pub fault_counts: BTreeMap<String, u64>,
    /// Every request (the first million): (`METHOD /path?query`, `client-request-id` or "",
    /// whether it repeats an earlier request with the same id, method, URL and body).
    pub client_request_ids: Vec<(String, String, bool)>,
    pub requests_without_client_request_id: u64,
    /// Requests that repeated an earlier one's `client-request-id` for the same request.
    pub retried_requests: u64,
    /// A `client-request-id` used again for a different request (method, URL or body).
    pub client_request_id_conflicts: Vec<String>,
    /// Requests for operations the fake does not have (answered 404 `ResourceNotFound`).
    pub unexpected_requests: Vec<String>,
    /// Every error reply the service logic gave (not the injected faults): (request, status, code).
    pub error_replies: Vec<(String, u16, String)>,
    /// Every node user added, and whether it was deleted since.
    pub node_users: Vec<api::NodeUserSeen>,
}

/// The running service; dropping it stops the server.
pub struct FakeBatch {
    shared: Arc<Shared>,
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeBatch {
    /// Binds 127.0.0.1 on a free port and serves from a background thread.
    pub fn start(config: Config) -> FakeBatch {
        Self::start_on(config, 0)
    }

    /// As [`FakeBatch::start`], on a given port (0: any free one).
    pub fn start_on(config: Config, port: u16) -> FakeBatch {
        // The validators of every body of every api-version, compiled once, at start.
        for version in crate::schema::Version::ALL {
            for body in crate::schema::Body::ALL {
                version.validator(version.model(body));
            }
        }
        let listener =
            std::net::TcpListener::bind(("127.0.0.1", port)).expect("the fake Batch service binds 127.0.0.1");
        listener.set_nonblocking(true).expect("a non-blocking listener");
        let addr = listener.local_addr().expect("the listener's address");
        let url = format!("http://{addr}");
        let threads = match config.threads {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8)),
            n => n,
        };
        let seed = match config.seed {
            0 => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0x5EED, |d| d.as_nanos() as u64 ^ u64::from(addr.port())),
            s => s,
        };
        let (launch, launches) = tokio::sync::mpsc::unbounded_channel();
        let nodes = config.run_tasks.then(|| {
            let nodes = node::Nodes::new(&config.account, &url, config.node_ca_pem.as_deref());
            (Arc::new(nodes), launch)
        });
        let shared = Arc::new(Shared {
            sim: Mutex::new(Sim::new(
                url.clone(),
                config.allocation_delay,
                config.task_duration,
                config.run_tasks,
            )),
            nodes,
            log: Mutex::new(Log::default()),
            faults: Mutex::new(Arc::new(Faults::default())),
            rng: AtomicU64::new(seed),
            requests: AtomicU64::new(0),
            faults_injected: AtomicU64::new(0),
            server_errors: AtomicU64::new(0),
            base: url.clone(),
            config,
        });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = shared.clone();
        let thread = std::thread::Builder::new()
            .name("fake-batch".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(threads)
                    .thread_name("fake-batch-worker")
                    .enable_all()
                    .build()
                    .expect("the fake Batch service's runtime");
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
                    tokio::spawn(ticker(serving.clone()));
                    tokio::spawn(run_tasks(serving.clone(), launches));
                    tokio::select! {
                        () = accept(listener, serving) => {}
                        _ = stopped => {}
                    }
                });
                runtime.shutdown_background();
            })
            .expect("the fake Batch service's thread starts");
        FakeBatch {
            shared,
            url,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        self.url.clone()
    }

    pub fn account(&self) -> String {
        self.shared.config.account.clone()
    }

    /// `AZ_BATCH_TASK_DIR` of the task's last run on a node (with `run_tasks`): `stdout.txt`,
    /// `stderr.txt`, `fileuploadout.txt`, `wd/`.
    pub fn task_dir(&self, job: &str, task: &str) -> Option<PathBuf> {
        let faults = self.shared.faults();
        self.shared
            .with_sim(&faults, |sim, _| self.shared.task_dir(sim, job, task))
    }

    pub fn set_faults(&self, faults: Faults) {
        *self.shared.faults.lock().unwrap_or_else(|e| e.into_inner()) = Arc::new(faults);
    }

    pub fn snapshot(&self) -> Snapshot {
        let faults = self.shared.faults();
        let (pools, jobs, tasks, node_users) = self.shared.with_sim(&faults, |sim, _| {
            let mut tasks: BTreeMap<String, BTreeMap<String, TaskSeen>> = BTreeMap::new();
            for job in &sim.jobs {
                let mut seen = BTreeMap::new();
                for t in &job.tasks {
                    seen.insert(
                        t.id.clone(),
                        TaskSeen {
                            created: t.created_count,
                            add_attempts: t.add_attempts,
                            depends_on: t.deps.clone(),
                            state: t.state.as_str().to_string(),
                            exit_code: t.exit_code,
                            body: t.body.clone(),
                        },
                    );
                }
                for (id, attempts, body) in job.not_created.values() {
                    seen.insert(
                        id.clone(),
                        TaskSeen {
                            created: 0,
                            add_attempts: *attempts,
                            depends_on: Vec::new(),
                            state: "notcreated".into(),
                            exit_code: None,
                            body: body.clone(),
                        },
                    );
                }
                // A job id used again after a deletion: the later job wins.
                tasks.insert(job.id.clone(), seen);
            }
            (sim.snapshot_pools(), sim.snapshot_jobs(), tasks, sim.users.clone())
        });
        let log = self.shared.log();
        Snapshot {
            pools,
            jobs,
            tasks,
            schema_errors: log.schema_errors.clone(),
            requests: self.shared.requests.load(Relaxed),
            faults_injected: self.shared.faults_injected.load(Relaxed),
            fault_counts: log.fault_counts.clone(),
            client_request_ids: log.ids_seen.clone(),
            requests_without_client_request_id: log.without_id,
            retried_requests: log.retried,
            client_request_id_conflicts: log.conflicts.clone(),
            unexpected_requests: log.unexpected.clone(),
            error_replies: log.errors.clone(),
            node_users,
        }
    }
}

impl Drop for FakeBatch {
    fn drop(&mut self) {
        if self.shared.nodes.is_some() {
            let faults = self.shared.faults();
            self.shared.with_sim(&faults, |sim, _| sim.cancel_all_runs());
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------

/// State shared by the connections.
pub struct Shared {
    config: Config,
    base: String,
    sim: Mutex<Sim>,
    /// With `run_tasks`: the nodes, and where the simulation's launches go.
    nodes: Option<(Arc<node::Nodes>, tokio::sync::mpsc::UnboundedSender<node::Launch>)>,
    log: Mutex<Log>,
    faults: Mutex<Arc<Faults>>,
    rng: AtomicU64,
    requests: AtomicU64,
    faults_injected: AtomicU64,
    server_errors: AtomicU64,
}

#[derive(Default)]
struct Log {
    schema_errors: Vec<String>,
    unexpected: Vec<String>,
    errors: Vec<(String, u16, String)>,
    /// client-request-id → (hash of method, URL and body; the request).
    ids: HashMap<String, (u64, String)>,
    ids_seen: Vec<(String, String, bool)>,
    without_id: u64,
    retried: u64,
    conflicts: Vec<String>,
    fault_counts: BTreeMap<String, u64>,
}

/// At most this many entries in the logs that grow with every request.
const LOG_CAP: usize = 1_000_000;

impl Shared {
    fn faults(&self) -> Arc<Faults> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn log(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` on the simulation, brought up to now first; then hands the tasks that started
    /// to the nodes (with `run_tasks`).
    fn with_sim<R>(&self, faults: &Faults, f: impl FnOnce(&mut Sim, Instant) -> R) -> R {
        let mut sim = self.sim.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        sim.advance(now, faults);
        let r = f(&mut sim, now);
        if let Some((_, launch)) = &self.nodes {
            for l in sim.launches.drain(..) {
                let _ = launch.send(l);
            }
        }
        r
    }

    /// `AZ_BATCH_TASK_DIR` of the task's last run on a node; None without `run_tasks`.
    fn task_dir(&self, sim: &Sim, job: &str, task: &str) -> Option<PathBuf> {
        let (nodes, _) = self.nodes.as_ref()?;
        let j = sim.job(job).ok()?;
        let t = sim.task(j, task).ok()?;
        let (pool, node) = sim.task_ran_on(j, t)?;
        Some(node::task_dir(
            nodes.root(),
            &pool,
            &node,
            &sim.jobs[j].id,
            &sim.jobs[j].tasks[t].id,
        ))
    }

    /// splitmix64 over an atomic counter: lock-free dice shared by all connections.
    fn random(&self) -> u64 {
        let mut z = self
            .rng
            .fetch_add(0x9E37_79B9_7F4A_7C15, Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn roll(&self, p: f64) -> bool {
        p > 0.0 && (p >= 1.0 || ((self.random() >> 11) as f64 / (1u64 << 53) as f64) < p)
    }

    /// Rolls for a fault of `kind` with probability `p`, counting it when it happens.
    fn chance(&self, p: f64, kind: &str) -> bool {
        let hit = self.roll(p);
        if hit {
            self.faults_injected.fetch_add(1, Relaxed);
            *self.log().fault_counts.entry(kind.to_string()).or_default() += 1;
        }
        hit
    }

    fn shuffle<T>(&self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.random() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }

    fn request_id(&self) -> String {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.random().to_le_bytes());
        bytes[8..].copy_from_slice(&self.random().to_le_bytes());
        uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
    }

    /// Notes the request's `client-request-id`: missing, new, a retry, or reused for another request.
    fn note_request(&self, req: &Req) {
        let id = req
            .headers
            .get("client-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .map(str::to_string);
        let what = req.what();
        let hash = id.as_ref().map(|_| {
            let mut h = DefaultHasher::new();
            req.method.as_str().hash(&mut h);
            req.raw.hash(&mut h);
            req.body.hash(&mut h);
            h.finish()
        });
        let mut log = self.log();
        let (id, retry) = match (id, hash) {
            (Some(id), Some(hash)) => {
                let retry = match log.ids.get(&id) {
                    None => {
                        log.ids.insert(id.clone(), (hash, what.clone()));
                        false
                    }
                    Some((h, _)) if *h == hash => true,
                    Some((_, first)) => {
                        let conflict = format!("client-request-id {id}: first `{first}`, then `{what}`");
                        log.conflicts.push(conflict);
                        false
                    }
                };
                if retry {
                    log.retried += 1;
                }
                (id, retry)
            }
            _ => {
                log.without_id += 1;
                (String::new(), false)
            }
        };
        if log.ids_seen.len() < LOG_CAP {
            log.ids_seen.push((what, id, retry));
        }
    }

    fn process(&self, req: &Req, faults: &Faults) -> Reply {
        let reply = api::handle(self, req, faults);
        if reply.status >= 400 {
            let mut log = self.log();
            if log.errors.len() < LOG_CAP {
                log.errors
                    .push((req.what(), reply.status, reply.code.clone().unwrap_or_default()));
            }
        }
        reply
    }
}

/// Plays due events every 2 ms, so the state moves on between requests too.
async fn ticker(shared: Arc<Shared>) {
    let mut every = tokio::time::interval(Duration::from_millis(2));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        every.tick().await;
        let faults = shared.faults();
        shared.with_sim(&faults, |_, _| ());
    }
}

/// Runs each launched task on its node, then tells the simulation how it ended.
async fn run_tasks(shared: Arc<Shared>, mut launches: tokio::sync::mpsc::UnboundedReceiver<node::Launch>) {
    let Some((nodes, _)) = &shared.nodes else {
        return;
    };
    let nodes = nodes.clone();
    while let Some(l) = launches.recv().await {
        let (shared, nodes) = (shared.clone(), nodes.clone());
        tokio::spawn(async move {
            let outcome = node::run(&nodes, &l).await;
            let faults = shared.faults();
            shared.with_sim(&faults, |sim, now| sim.run_finished(l.job, l.task, l.run, outcome, now));
        });
    }
}

async fn accept(listener: tokio::net::TcpListener, shared: Arc<Shared>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // Out of file descriptors and the like: try again shortly.
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| serve(shared.clone(), req));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// The error a service returns to make hyper close the connection without a reply.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by the fake Batch service")
    }
}

impl std::error::Error for Dropped {}

enum Fault {
    Throttle,
    ServerError,
    DropBefore,
    DropAfter,
}

async fn serve(shared: Arc<Shared>, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Dropped> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map_err(|_| Dropped)?.to_bytes();
    shared.requests.fetch_add(1, Relaxed);
    let req = Req::new(&shared, parts.method, &parts.uri, parts.headers, body);
    shared.note_request(&req);
    let faults = shared.faults();
    let fault = if shared.chance(faults.throttle, "throttle") {
        Some(Fault::Throttle)
    } else if shared.chance(faults.server_error, "server_error") {
        Some(Fault::ServerError)
    } else if shared.roll(faults.drop_connection) {
        let fault = if shared.roll(0.5) {
            Fault::DropBefore
        } else {
            Fault::DropAfter
        };
        let kind = match fault {
            Fault::DropBefore => "drop_before_apply",
            _ => "drop_after_apply",
        };
        shared.chance(1.0, kind);
        Some(fault)
    } else {
        None
    };
    let mut delay = shared.config.latency;
    if shared.chance(faults.slow, "slow") {
        delay += faults.slow_delay;
    }
    let reply = match fault {
        Some(Fault::Throttle) => api::throttled(&shared, &req, &faults),
        Some(Fault::ServerError) => {
            let busy = shared.server_errors.fetch_add(1, Relaxed) % 2 == 1;
            api::server_error(&shared, &req, &faults, busy)
        }
        Some(Fault::DropBefore) => {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            return Err(Dropped);
        }
        Some(Fault::DropAfter) | None => shared.process(&req, &faults),
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if matches!(fault, Some(Fault::DropAfter)) {
        return Err(Dropped);
    }
    Ok(reply.into_response(&req))
}

/// A request, read in full.
pub struct Req {
    pub method: Method,
    /// The path, percent-decoded.
    pub path: String,
    /// The path as sent (not decoded).
    pub raw_path: String,
    /// Path and query as sent.
    pub raw: String,
    pub segments: Vec<String>,
    /// Decoded query parameters.
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub request_id: String,
}

impl Req {
    fn new(shared: &Shared, method: Method, uri: &hyper::Uri, headers: HeaderMap, body: Bytes) -> Req {
        let raw_path = uri.path().to_string();
        let path = odata::decode(&raw_path, false);
        let segments = raw_path
            .trim_start_matches('/')
            .split('/')
            .map(|s| odata::decode(s, false))
            .collect();
        Req {
            method,
            path,
            raw: uri
                .path_and_query()
                .map_or_else(|| raw_path.clone(), |pq| pq.as_str().to_string()),
            raw_path,
            segments,
            query: uri.query().map(odata::parse_query).unwrap_or_default(),
            headers,
            body,
            request_id: shared.request_id(),
        }
    }

    /// A query parameter; names compare case-insensitively.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `METHOD /path?query`
    pub fn what(&self) -> String {
        format!("{} {}", self.method, self.raw)
    }
}

/// A reply before it becomes an HTTP response.
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    /// The Batch error code of an error reply.
    pub code: Option<String>,
}

impl Reply {
    pub fn json(status: u16, v: &Value) -> Reply {
        Reply {
            status,
            body: serde_json::to_vec(v).unwrap_or_default(),
            content_type: "application/json;odata=minimalmetadata",
            headers: Vec::new(),
            code: None,
        }
    }

    pub fn empty(status: u16) -> Reply {
        Reply {
            status,
            body: Vec::new(),
            content_type: "",
            headers: Vec::new(),
            code: None,
        }
    }

    pub fn text(text: String) -> Reply {
        Reply {
            status: 200,
            body: text.into_bytes(),
            content_type: "application/octet-stream",
            headers: Vec::new(),
            code: None,
        }
    }

    pub fn header(mut self, name: &'static str, value: String) -> Reply {
        self.headers.push((name, value));
        self
    }

    fn into_response(self, req: &Req) -> Response<Full<Bytes>> {
        let mut builder = Response::builder()
            .status(self.status)
            .header("request-id", req.request_id.as_str());
        if !self.content_type.is_empty() {
            builder = builder.header("Content-Type", self.content_type);
        }
        let echo = req
            .headers
            .get("return-client-request-id")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if echo {
            if let Some(id) = req.headers.get("client-request-id") {
                builder = builder.header("client-request-id", id.clone());
            }
        }
        for (k, v) in self.headers {
            builder = builder.header(k, v);
        }
        builder
            .body(Full::new(Bytes::from(self.body)))
            .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
    }
}
