//! A fake of the Azure Resource Manager endpoints batchflow reads and writes, and of the
//! Retail Prices API, on 127.0.0.1 at a random port (hyper on its own thread, as the fake Batch
//! service): subscriptions, the Batch account (listed and read), the region's Batch VM sizes,
//! pools (listed, created with identities, read, deleted), gallery images, managed images and
//! user-assigned identities, and `GET /api/retail/prices`.
//!
//! It checks what it receives (a bearer token, each resource type's api-version, a pool body's
//! shape: `properties` with `vmSize`, `deploymentConfiguration` and exactly one of the scale
//! settings, `identity` of type `UserAssigned` naming identities that exist, no unknown fields)
//! and injects faults on demand ([`ArmFaults`]): 429 with `Retry-After`, 403 on the Batch
//! account's resources, latency. Lists come in pages (`nextLink`, `NextPageLink`). Pools created
//! here are pools of the fake Batch service ([`BatchHandle`]), so the run sees them there.
//!
//! Shapes follow the REST specs' examples (see `api.rs`, `pools.rs`, `catalog.rs`).

mod account;
mod api;
pub mod catalog;
mod pools;
mod prices;

use crate::fake_batch::handle::BatchHandle;
use crate::fake_batch::{odata, FakeBatch};
pub use account::FakeAccount;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{HeaderMap, Request, Response};
use hyper_util::rt::TokioIo;
pub use pools::as_batch;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// What the fake holds.
#[derive(Clone, Debug)]
pub struct ArmConfig {
    pub subscription: String,
    pub resource_group: String,
    pub account: String,
    /// The Batch account's `accountEndpoint`: the fake Batch service's `host:port`.
    pub account_endpoint: String,
    pub location: String,
    /// The account's `properties` (quotas), without `accountEndpoint`.
    pub properties: Value,
    /// Pools the account has besides those on the fake Batch service (ARM pool JSON).
    pub existing_pools: Vec<Value>,
    pub skus: Vec<Value>,
    /// `{"id", "location", "targetRegions": [names]}`
    pub gallery_images: Vec<Value>,
    /// `{"id", "location"}`
    pub managed_images: Vec<Value>,
    pub identities: Vec<String>,
    pub prices: Vec<Value>,
    /// Items per page of ARM lists and of the prices API.
    pub page_size: usize,
    pub latency: Duration,
}

impl ArmConfig {
    /// The catalog's account, for the Batch service `batch`.
    pub fn for_batch(batch: &FakeBatch) -> ArmConfig {
        ArmConfig {
            subscription: catalog::SUBSCRIPTION.into(),
            resource_group: catalog::RESOURCE_GROUP.into(),
            account: batch.account(),
            account_endpoint: batch.url().trim_start_matches("http://").to_string(),
            location: catalog::LOCATION.into(),
            properties: catalog::account_properties(),
            existing_pools: Vec::new(),
            skus: catalog::skus(),
            gallery_images: catalog::gallery_images(),
            managed_images: Vec::new(),
            identities: catalog::identities(),
            prices: catalog::prices(),
            page_size: 3,
            latency: Duration::ZERO,
        }
    }

    /// Applies a test's overrides (a fixture folder's `account.json`): quota fields of
    /// `properties` by name, and `pools`, `skus`, `galleryImages`, `managedImages`,
    /// `identities`, `location`. `images`, `activeJobs` and `forbid` are the caller's (the Batch
    /// service's and the faults').
    pub fn apply(&mut self, overrides: &Value) {
        let Some(map) = overrides.as_object() else { return };
        for (key, value) in map {
            match key.as_str() {
                "pools" => self.existing_pools = arm_pools(value),
                "skus" => self.skus = value.as_array().cloned().unwrap_or_default(),
                "galleryImages" => self.gallery_images = value.as_array().cloned().unwrap_or_default(),
                "managedImages" => self.managed_images = value.as_array().cloned().unwrap_or_default(),
                "identities" => {
                    self.identities = value
                        .as_array()
                        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
                        .unwrap_or_default()
                }
                "location" => self.location = value.as_str().unwrap_or(catalog::LOCATION).to_string(),
                "images" | "activeJobs" | "forbid" | "forbidPaths" | "batchSharedKey" => {}
                quota => self.properties[quota] = value.clone(),
            }
        }
    }

    /// The account's ARM id.
    pub fn account_id(&self) -> String {
        format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Batch/batchAccounts/{}",
            self.subscription, self.resource_group, self.account
        )
    }
}

/// `{"name", "vmSize", "currentDedicatedNodes"}` shorthands as ARM pools.
fn arm_pools(value: &Value) -> Vec<Value> {
    value
        .as_array()
        .map(|all| {
            all.iter()
                .map(|p| {
                    serde_json::json!({
                        "name": p["name"],
                        "type": "Microsoft.Batch/batchAccounts/pools",
                        "properties": {
                            "provisioningState": "Succeeded",
                            "allocationState": "Steady",
                            "vmSize": p["vmSize"],
                            "currentDedicatedNodes": p["currentDedicatedNodes"].as_u64().unwrap_or(0),
                            "currentLowPriorityNodes": p["currentLowPriorityNodes"].as_u64().unwrap_or(0)
                        }
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Faults to inject; [`FakeArm::set_faults`] changes them at any time.
#[derive(Clone, Debug, Default)]
pub struct ArmFaults {
    /// The next this many requests are answered 429 with `Retry-After`.
    pub throttle_next: u32,
    pub retry_after_secs: u64,
    /// Reads and writes of `Microsoft.Batch` resources are answered 403 `AuthorizationFailed`.
    pub forbid: bool,
    /// Requests whose path contains one of these (any case) are answered 403 too.
    pub forbid_paths: Vec<String>,
}

/// What the fake saw.
#[derive(Clone, Debug, Default)]
pub struct ArmSnapshot {
    /// `METHOD /path?query`, in order.
    pub requests: Vec<String>,
    /// Requests refused for what they carried: `METHOD /path: why`.
    pub refused: Vec<String>,
    pub throttled: u32,
    /// ARM pool bodies received, by pool name.
    pub pool_bodies: BTreeMap<String, Value>,
    /// Whether each pool create carried `If-None-Match: *`.
    pub if_none_match: Vec<bool>,
}

pub(crate) struct State {
    config: ArmConfig,
    faults: Mutex<ArmFaults>,
    log: Mutex<ArmSnapshot>,
    batch: BatchHandle,
    base: String,
}

impl State {
    fn log(&self) -> MutexGuard<'_, ArmSnapshot> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn faults(&self) -> MutexGuard<'_, ArmFaults> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub struct FakeArm {
    state: Arc<State>,
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeArm {
    /// Binds 127.0.0.1 on a free port; pools it creates go to `batch`.
    pub fn start(config: ArmConfig, batch: &FakeBatch) -> FakeArm {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).expect("the fake ARM binds 127.0.0.1");
        listener.set_nonblocking(true).expect("a non-blocking listener");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        let state = Arc::new(State {
            config,
            faults: Mutex::new(ArmFaults {
                retry_after_secs: 1,
                ..ArmFaults::default()
            }),
            log: Mutex::new(ArmSnapshot::default()),
            batch: batch.handle(),
            base: url.clone(),
        });
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = state.clone();
        let thread = std::thread::Builder::new()
            .name("fake-arm".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("the fake ARM's runtime");
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
                    tokio::select! {
                        () = accept(listener, serving) => {}
                        _ = stopped => {}
                    }
                });
                runtime.shutdown_background();
            })
            .expect("the fake ARM's thread starts");
        FakeArm {
            state,
            url,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`: both `BATCHFLOW_ARM_ENDPOINT` and `BATCHFLOW_PRICES_ENDPOINT`.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    pub fn set_faults(&self, faults: ArmFaults) {
        *self.state.faults() = faults;
    }

    pub fn snapshot(&self) -> ArmSnapshot {
        self.state.log().clone()
    }
}

impl Drop for FakeArm {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn accept(listener: tokio::net::TcpListener, state: Arc<State>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        };
        let state = state.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| serve(state.clone(), req));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// A request, read in full.
pub(crate) struct Req {
    pub method: String,
    /// Path segments, percent-decoded.
    pub segments: Vec<String>,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Req {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn what(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// A reply: status, JSON body, extra headers.
pub(crate) struct Reply {
    pub status: u16,
    pub body: Value,
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn json(status: u16, body: Value) -> Reply {
        Reply {
            status,
            body,
            headers: Vec::new(),
        }
    }

    /// ARM's error shape: `{"error": {"code", "message"}}`.
    pub fn error(status: u16, code: &str, message: &str) -> Reply {
        Reply::json(status, serde_json::json!({"error": {"code": code, "message": message}}))
    }

    pub fn header(mut self, name: &'static str, value: String) -> Reply {
        self.headers.push((name, value));
        self
    }
}

async fn serve(
    state: Arc<State>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let raw = parts.uri.path().to_string();
    let req = Req {
        method: parts.method.as_str().to_string(),
        segments: raw
            .trim_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| odata::decode(s, false))
            .collect(),
        path: odata::decode(&raw, false),
        query: parts.uri.query().map(odata::parse_query).unwrap_or_default(),
        headers: parts.headers,
        body,
    };
    state.log().requests.push(format!(
        "{} {}",
        req.method,
        parts.uri.path_and_query().map_or(raw.as_str(), |pq| pq.as_str())
    ));
    let latency = state.config.latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let reply = api::handle(&state, &req);
    if reply.status == 400 || reply.status == 401 {
        let why = reply.body["error"]["message"].as_str().unwrap_or("").to_string();
        state.log().refused.push(format!("{}: {why}", req.what()));
    }
    let mut builder = Response::builder()
        .status(reply.status)
        .header("Content-Type", "application/json; charset=utf-8")
        .header("x-ms-request-id", uuid::Uuid::new_v4().to_string());
    for (k, v) in reply.headers {
        builder = builder.header(k, v);
    }
    let bytes = if reply.body.is_null() {
        Vec::new()
    } else {
        serde_json::to_vec(&reply.body).unwrap_or_default()
    };
    Ok(builder
        .body(Full::new(Bytes::from(bytes)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()))))
}
