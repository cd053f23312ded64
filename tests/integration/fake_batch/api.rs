//! The Batch operations the fake serves: routing, checks of the request (auth, api-version,
//! query parameters, body against the schema of the request's api-version), and the replies.

use super::odata::{self, Filter};
use super::state::{fail, Added, Failure, Sim};
use super::{auth, files, Faults, Reply, Req, Shared};
use crate::schema::{Body, Version};
use serde_json::{json, Value};
use std::collections::HashSet;

mod users;
pub use users::NodeUserSeen;

/// "The total serialized size of this collection must be less than 1MB."
pub const MAX_BODY_BYTES: usize = 1_000_000;
/// "The maximum count of Tasks is 100."
pub const MAX_COLLECTION_TASKS: usize = 100;
/// `maxresults`: at most 1000 items per page (the default).
const MAX_RESULTS: usize = 1000;

/// The operations, with their path parameters.
enum Route<'a> {
    AddPool,
    GetPool(&'a str),
    PoolExists(&'a str),
    DeletePool(&'a str),
    ResizePool(&'a str),
    ListPools,
    PatchPool(&'a str),
    EnableAutoScale(&'a str),
    DisableAutoScale(&'a str),
    ListNodes(&'a str),
    GetNode(&'a str, &'a str),
    NodeFile(&'a str, &'a str, &'a str),
    AddNodeUser(&'a str, &'a str),
    DeleteNodeUser(&'a str, &'a str, &'a str),
    RemoteLogin(&'a str, &'a str),
    AddJob,
    GetJob(&'a str),
    PatchJob(&'a str),
    DeleteJob(&'a str),
    TerminateJob(&'a str),
    AddCollection(&'a str),
    AddTask(&'a str),
    ListTasks(&'a str),
    TaskCounts(&'a str),
    GetTask(&'a str, &'a str),
    Reactivate(&'a str, &'a str),
    /// The file's path under the task folder: one or more segments.
    TaskFile(&'a str, &'a str, &'a [&'a str]),
    SupportedImages,
    ListJobs,
    ListJobSchedules,
}

fn route<'a>(method: &str, segs: &'a [&'a str]) -> Option<Route<'a>> {
    Some(match (method, segs) {
        ("POST", ["pools"]) => Route::AddPool,
        ("GET", ["pools", p]) => Route::GetPool(p),
        ("HEAD", ["pools", p]) => Route::PoolExists(p),
        ("DELETE", ["pools", p]) => Route::DeletePool(p),
        ("POST", ["pools", p, "resize"]) => Route::ResizePool(p),
        ("GET", ["pools"]) => Route::ListPools,
        ("PATCH", ["pools", p]) => Route::PatchPool(p),
        ("POST", ["pools", p, "enableautoscale"]) => Route::EnableAutoScale(p),
        ("POST", ["pools", p, "disableautoscale"]) => Route::DisableAutoScale(p),
        ("GET", ["pools", p, "nodes"]) => Route::ListNodes(p),
        ("GET", ["pools", p, "nodes", n]) => Route::GetNode(p, n),
        ("GET", ["pools", p, "nodes", n, "files", "startup", f]) => Route::NodeFile(p, n, f),
        ("POST", ["pools", p, "nodes", n, "users"]) => Route::AddNodeUser(p, n),
        ("DELETE", ["pools", p, "nodes", n, "users", u]) => Route::DeleteNodeUser(p, n, u),
        ("GET", ["pools", p, "nodes", n, "remoteloginsettings"]) => Route::RemoteLogin(p, n),
        ("POST", ["jobs"]) => Route::AddJob,
        ("GET", ["jobs"]) => Route::ListJobs,
        ("GET", ["jobschedules"]) => Route::ListJobSchedules,
        ("GET", ["supportedimages"]) => Route::SupportedImages,
        ("GET", ["jobs", j]) => Route::GetJob(j),
        ("PATCH", ["jobs", j]) => Route::PatchJob(j),
        ("DELETE", ["jobs", j]) => Route::DeleteJob(j),
        ("POST", ["jobs", j, "terminate"]) => Route::TerminateJob(j),
        ("POST", ["jobs", j, "addtaskcollection"]) => Route::AddCollection(j),
        ("POST", ["jobs", j, "tasks"]) => Route::AddTask(j),
        ("GET", ["jobs", j, "tasks"]) => Route::ListTasks(j),
        ("GET", ["jobs", j, "taskcounts"]) => Route::TaskCounts(j),
        ("GET", ["jobs", j, "tasks", t]) => Route::GetTask(j, t),
        ("POST", ["jobs", j, "tasks", t, "reactivate"]) => Route::Reactivate(j, t),
        ("GET", ["jobs", j, "tasks", t, "files", f @ ..]) if !f.is_empty() => Route::TaskFile(j, t, f),
        _ => return None,
    })
}

/// The query parameters an operation takes besides `api-version` and `timeout`.
fn extra_params(r: &Route<'_>) -> &'static [&'static str] {
    match r {
        Route::ListNodes(_) | Route::ListTasks(_) | Route::ListJobs | Route::ListJobSchedules | Route::ListPools => {
            &["maxresults", "$filter", "$select", "$expand", "$skiptoken"]
        }
        Route::SupportedImages => &["maxresults", "$filter", "$skiptoken"],
        Route::GetPool(_) | Route::GetNode(..) | Route::GetJob(_) | Route::GetTask(..) => &["$select", "$expand"],
        _ => &[],
    }
}

/// A Batch error reply: `{"odata.metadata", "code", "message": {"lang", "value"}, "values"?}`.
pub fn error(shared: &Shared, req: &Req, status: u16, code: &str, message: &str) -> Reply {
    error_with(shared, req, status, code, message, Vec::new())
}

fn error_with(
    shared: &Shared,
    req: &Req,
    status: u16,
    code: &str,
    message: &str,
    values: Vec<(&str, String)>,
) -> Reply {
    let mut body = json!({
        "odata.metadata": format!("{}/$metadata#Microsoft.Azure.Batch.Protocol.Entities.Container.errors/@Element", shared.base),
        "code": code,
        "message": {
            "lang": "en-US",
            "value": format!("{message}\nRequestId:{}\nTime:{}", req.request_id, odata::rfc3339(std::time::SystemTime::now())),
        },
    });
    if !values.is_empty() {
        body["values"] = values.into_iter().map(|(k, v)| json!({"key": k, "value": v})).collect();
    }
    let mut reply = Reply::json(status, &body);
    reply.code = Some(code.to_string());
    reply
}

fn failure(shared: &Shared, req: &Req, f: Failure) -> Reply {
    error(shared, req, f.status, f.code, &f.message)
}

/// The fault replies: 429 (throttled) and 500/503.
pub fn throttled(shared: &Shared, req: &Req, faults: &Faults) -> Reply {
    error(
        shared,
        req,
        429,
        "ServerBusy",
        "The server is currently unable to receive requests. Please retry your request.",
    )
    .header("Retry-After", faults.retry_after_secs.to_string())
}

pub fn server_error(shared: &Shared, req: &Req, faults: &Faults, busy: bool) -> Reply {
    if busy {
        error(
            shared,
            req,
            503,
            "ServerBusy",
            "The server is currently unable to receive requests. Please retry your request.",
        )
        .header("Retry-After", faults.retry_after_secs.to_string())
    } else {
        error(
            shared,
            req,
            500,
            "InternalError",
            "Server encountered an internal error. Please try again after some time.",
        )
    }
}

/// Answers one request (faults already decided).
pub fn handle(shared: &Shared, req: &Req, faults: &Faults) -> Reply {
    if let Err(message) = auth::check(
        shared.config.shared_key.as_deref(),
        &shared.config.account,
        req.method.as_str(),
        &req.path,
        &req.query,
        &req.headers,
    ) {
        return error(shared, req, 403, "AuthenticationFailed", &message);
    }
    match req.param("api-version") {
        None => {
            return error_with(
                shared,
                req,
                400,
                "MissingRequiredQueryParameter",
                "A query parameter that's mandatory for this request is not specified.",
                vec![("QueryParameterName", "api-version".into())],
            )
        }
        // "UnsupportedRequestVersion | BadRequest (400) | The specified request version is not
        // supported." (learn.microsoft.com/rest/api/batchservice/batch-status-and-error-codes,
        // Batch Service Error Codes); `values` as that page's example names a query parameter.
        Some(v) if Version::from_name(v).is_none() => {
            return error_with(
                shared,
                req,
                400,
                "UnsupportedRequestVersion",
                "The specified request version is not supported.",
                vec![
                    ("QueryParameterName", "api-version".into()),
                    ("QueryParameterValue", v.to_string()),
                ],
            )
        }
        Some(_) => {}
    }
    let segs: Vec<&str> = req.segments.iter().map(String::as_str).collect();
    let Some(r) = route(req.method.as_str(), &segs) else {
        shared.log().unexpected.push(req.what());
        return error(
            shared,
            req,
            404,
            "ResourceNotFound",
            &format!("The fake Batch service has no operation `{} {}`.", req.method, req.path),
        );
    };
    let allowed = extra_params(&r);
    for (name, _) in &req.query {
        let lower = name.to_ascii_lowercase();
        if lower != "api-version" && lower != "timeout" && !allowed.contains(&lower.as_str()) {
            return error_with(
                shared,
                req,
                400,
                "UnsupportedQueryParameter",
                "One of the query parameters specified in the request URI is not supported.",
                vec![("QueryParameterName", name.clone())],
            );
        }
    }
    let limit = shared.config.max_body_bytes;
    if req.body.len() >= limit {
        return error(
            shared,
            req,
            413,
            "RequestBodyTooLarge",
            &format!(
                "The request body is too large and exceeds the maximum permissible limit ({} bytes; the limit is under {limit}).",
                req.body.len()
            ),
        );
    }
    let result: Result<Reply> = match r {
        Route::AddPool => add_pool(shared, req, faults),
        Route::GetPool(p) => get_pool(shared, req, faults, p),
        Route::PoolExists(p) => shared.with_sim(faults, |sim, _| -> Result<Reply> {
            sim.pool(p)?;
            Ok(Reply::empty(200))
        }),
        Route::DeletePool(p) => shared.with_sim(faults, |sim, now| -> Result<Reply> {
            sim.delete_pool(p, now)?;
            Ok(Reply::empty(202))
        }),
        Route::ResizePool(p) => body(shared, req, Body::ResizePool).and_then(|b| {
            shared.with_sim(faults, |sim, now| -> Result<Reply> {
                sim.resize_pool(p, &b, now, faults)?;
                let i = sim.pool(p)?;
                let (etag, modified) = sim.pool_etag(i);
                Ok(Reply::empty(202)
                    .header(
                        "DataServiceId",
                        format!("{}/pools/{}/resize", shared.base, sim.pools[i].id),
                    )
                    .header("ETag", etag)
                    .header("Last-Modified", modified))
            })
        }),
        Route::ListPools => super::pool_api::list_pools(shared, req, faults),
        Route::PatchPool(p) => {
            body(shared, req, Body::PatchPool).and_then(|b| super::pool_api::patch_pool(shared, faults, p, &b))
        }
        Route::EnableAutoScale(p) => body(shared, req, Body::EnableAutoScale)
            .and_then(|b| super::pool_api::enable_autoscale(shared, faults, p, &b)),
        Route::DisableAutoScale(p) => super::pool_api::disable_autoscale(shared, faults, p),
        Route::ListNodes(p) => list_nodes(shared, req, faults, p),
        Route::GetNode(p, n) => shared.with_sim(faults, |sim, _| -> Result<Reply> {
            let i = sim.pool(p)?;
            let k = sim.find_node(i, n)?;
            let mut v = sim.node_json(i, k);
            v["odata.metadata"] = json!(format!("{}/$metadata#nodes/@Element", shared.base));
            Ok(Reply::json(200, &odata::select(v, select(req).as_deref())))
        }),
        Route::NodeFile(p, n, f) => files::node_file(shared, faults, p, n, f).map_err(Handled::from),
        Route::AddNodeUser(p, n) => users::add(shared, req, faults, p, n),
        Route::DeleteNodeUser(p, n, u) => users::delete(shared, faults, p, n, u),
        Route::RemoteLogin(p, n) => users::remote_login(shared, faults, p, n),
        Route::AddJob => add_job(shared, req, faults),
        Route::GetJob(j) => shared.with_sim(faults, |sim, _| -> Result<Reply> {
            let j = sim.job(j)?;
            let mut v = sim.job_json(j);
            v["odata.metadata"] = json!(format!("{}/$metadata#jobs/@Element", shared.base));
            let (etag, modified) = sim.job_etag(j);
            Ok(Reply::json(200, &odata::select(v, select(req).as_deref()))
                .header("ETag", etag)
                .header("Last-Modified", modified))
        }),
        Route::PatchJob(j) => body(shared, req, Body::PatchJob).and_then(|b| {
            shared.with_sim(faults, |sim, now| -> Result<Reply> {
                sim.patch_job(j, &b, now)?;
                let j = sim.job(j)?;
                let (etag, modified) = sim.job_etag(j);
                Ok(Reply::empty(200)
                    .header("DataServiceId", format!("{}/jobs/{}", shared.base, sim.jobs[j].id))
                    .header("ETag", etag)
                    .header("Last-Modified", modified))
            })
        }),
        Route::DeleteJob(j) => shared.with_sim(faults, |sim, now| -> Result<Reply> {
            sim.delete_job(j, now)?;
            Ok(Reply::empty(202))
        }),
        Route::TerminateJob(j) => optional_body(shared, req, Body::TerminateJob).and_then(|b| {
            let reason = b
                .as_ref()
                .and_then(|b| b["terminateReason"].as_str().map(str::to_string));
            shared.with_sim(faults, |sim, now| -> Result<Reply> {
                sim.terminate_job(j, reason.as_deref(), now)?;
                let j = sim.job(j)?;
                let (etag, modified) = sim.job_etag(j);
                Ok(Reply::empty(202)
                    .header("DataServiceId", format!("{}/jobs/{}", shared.base, sim.jobs[j].id))
                    .header("ETag", etag)
                    .header("Last-Modified", modified))
            })
        }),
        Route::AddCollection(j) => add_collection(shared, req, faults, j),
        Route::AddTask(j) => add_one_task(shared, req, faults, j),
        Route::ListTasks(j) => list_tasks(shared, req, faults, j),
        Route::TaskCounts(j) => shared.with_sim(faults, |sim, _| -> Result<Reply> {
            let j = sim.job(j)?;
            let mut v = sim.task_counts(j);
            v["odata.metadata"] = json!(format!("{}/$metadata#taskcounts/@Element", shared.base));
            Ok(Reply::json(200, &v))
        }),
        Route::GetTask(j, t) => shared.with_sim(faults, |sim, _| -> Result<Reply> {
            let j = sim.job(j)?;
            let t = sim.task(j, t)?;
            let sel = select(req);
            let mut v = sim.task_json(j, t, sel.as_deref());
            v["odata.metadata"] = json!(format!("{}/$metadata#tasks/@Element", shared.base));
            let (etag, modified) = sim.task_etag(j, t);
            Ok(Reply::json(200, &v)
                .header("ETag", etag)
                .header("Last-Modified", modified))
        }),
        Route::Reactivate(j, t) => shared.with_sim(faults, |sim, now| -> Result<Reply> {
            sim.reactivate(j, t, now)?;
            let jj = sim.job(j)?;
            let tt = sim.task(jj, t)?;
            let (etag, modified) = sim.task_etag(jj, tt);
            Ok(Reply::empty(204)
                .header(
                    "DataServiceId",
                    format!(
                        "{}/jobs/{}/tasks/{}",
                        shared.base, sim.jobs[jj].id, sim.jobs[jj].tasks[tt].id
                    ),
                )
                .header("ETag", etag)
                .header("Last-Modified", modified))
        }),
        Route::TaskFile(j, t, f) => files::task_file(shared, faults, j, t, &f.join("/")).map_err(Handled::from),
        Route::SupportedImages => super::account_api::supported_images(shared, req),
        Route::ListJobs => super::account_api::list_jobs(shared, req, faults),
        Route::ListJobSchedules => super::account_api::list_job_schedules(shared, req),
    };
    match result {
        Ok(reply) => reply,
        Err(Handled::Failure(f)) => failure(shared, req, f),
        Err(Handled::Reply(r)) => *r,
    }
}

/// Why a handler did not succeed: a Batch error, or a reply already made.
pub enum Handled {
    Failure(Failure),
    Reply(Box<Reply>),
}

impl From<Failure> for Handled {
    fn from(f: Failure) -> Handled {
        Handled::Failure(f)
    }
}

pub(super) type Result<T> = std::result::Result<T, Handled>;

fn select(req: &Req) -> Option<Vec<String>> {
    odata::select_list(req.param("$select"))
}

/// Records a request body the schema (or Batch) rejects, and the 400 to answer.
fn bad_body(shared: &Shared, req: &Req, code: &str, problem: &str) -> Handled {
    shared.log().schema_errors.push(format!("{}: {problem}", req.what()));
    let mut short: String = problem.chars().take(500).collect();
    if short.len() < problem.len() {
        short.push_str("...");
    }
    Handled::Reply(Box::new(error_with(
        shared,
        req,
        400,
        code,
        &format!("The request body is invalid: {}", short.replace('\n', " ")),
        vec![("Reason", problem.to_string())],
    )))
}

/// The api-version of a request (`handle` refused the ones without a schema).
fn version(req: &Req) -> Version {
    req.param("api-version")
        .and_then(Version::from_name)
        .unwrap_or(Version::DEFAULT)
}

/// The request's body as a valid `kind`: parsed and checked against the strict schema of the
/// request's api-version.
pub(super) fn body(shared: &Shared, req: &Req, kind: Body) -> Result<Value> {
    match optional_body(shared, req, kind)? {
        Some(v) => Ok(v),
        None => Err(bad_body(
            shared,
            req,
            "InvalidRequestBody",
            &format!("the request has no body; it takes a {}", version(req).model(kind)),
        )),
    }
}

fn optional_body(shared: &Shared, req: &Req, kind: Body) -> Result<Option<Value>> {
    if req.body.is_empty() {
        return Ok(None);
    }
    let v: Value = serde_json::from_slice(&req.body)
        .map_err(|e| bad_body(shared, req, "InvalidRequestBody", &format!("the body is not JSON: {e}")))?;
    check_schema(shared, req, kind, &v)?;
    Ok(Some(v))
}

fn check_schema(shared: &Shared, req: &Req, kind: Body, v: &Value) -> Result<()> {
    let version = version(req);
    let errors = version.schema_errors(version.model(kind), v);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(bad_body(shared, req, "InvalidRequestBody", &errors.join("; ")))
    }
}

fn add_pool(shared: &Shared, req: &Req, faults: &Faults) -> Result<Reply> {
    let b = body(shared, req, Body::CreatePool)?;
    shared.with_sim(faults, |sim, now| -> Result<Reply> {
        let i = sim.add_pool(b, now, faults)?;
        let (etag, modified) = sim.pool_etag(i);
        Ok(Reply::empty(201)
            .header("DataServiceId", format!("{}/pools/{}", shared.base, sim.pools[i].id))
            .header("ETag", etag)
            .header("Last-Modified", modified))
    })
}

fn get_pool(shared: &Shared, req: &Req, faults: &Faults, p: &str) -> Result<Reply> {
    shared.with_sim(faults, |sim, _| -> Result<Reply> {
        let i = sim.pool(p)?;
        let mut v = sim.pool_json(i);
        v["odata.metadata"] = json!(format!("{}/$metadata#pools/@Element", shared.base));
        let (etag, modified) = sim.pool_etag(i);
        Ok(Reply::json(200, &odata::select(v, select(req).as_deref()))
            .header("ETag", etag)
            .header("Last-Modified", modified))
    })
}

fn add_job(shared: &Shared, req: &Req, faults: &Faults) -> Result<Reply> {
    let b = body(shared, req, Body::CreateJob)?;
    shared.with_sim(faults, |sim, now| -> Result<Reply> {
        let j = sim.add_job(b, now)?;
        let (etag, modified) = sim.job_etag(j);
        Ok(Reply::empty(201)
            .header("DataServiceId", format!("{}/jobs/{}", shared.base, sim.jobs[j].id))
            .header("ETag", etag)
            .header("Last-Modified", modified))
    })
}

fn batch_error(code: &str, message: &str) -> Value {
    json!({"code": code, "message": {"lang": "en-US", "value": message}})
}

fn add_collection(shared: &Shared, req: &Req, faults: &Faults, job: &str) -> Result<Reply> {
    let v: Value = match serde_json::from_slice(&req.body) {
        Ok(v) => v,
        Err(e) if req.body.is_empty() => {
            return Err(bad_body(
                shared,
                req,
                "InvalidRequestBody",
                &format!(
                    "the request has no body; it takes a {} ({e})",
                    version(req).model(Body::CreateTaskCollection)
                ),
            ))
        }
        Err(e) => {
            return Err(bad_body(
                shared,
                req,
                "InvalidRequestBody",
                &format!("the body is not JSON: {e}"),
            ))
        }
    };
    let count = v["value"].as_array().map_or(0, Vec::len);
    if count > MAX_COLLECTION_TASKS {
        return Err(bad_body(
            shared,
            req,
            "InvalidPropertyValue",
            &format!("the collection has {count} tasks; at most {MAX_COLLECTION_TASKS} are allowed"),
        ));
    }
    check_schema(shared, req, Body::CreateTaskCollection, &v)?;
    let tasks = match v {
        Value::Object(mut m) => match m.remove("value") {
            Some(Value::Array(tasks)) => tasks,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    let mut results: Vec<Value> = shared.with_sim(faults, |sim, now| -> Result<Vec<Value>> {
        let j = sim.job_for_adding(job)?;
        let mut seen = HashSet::new();
        let mut out = Vec::with_capacity(tasks.len());
        for t in tasks {
            let server_error = shared.chance(faults.task_server_error, "task_server_error");
            let (id, added) = sim.add_task(j, t, &mut seen, server_error, now);
            out.push(add_result(shared, sim, j, &id, added));
        }
        sim.dispatch_job(j, now);
        Ok(out)
    })?;
    shared.shuffle(&mut results);
    Ok(Reply::json(
        200,
        &json!({
            "odata.metadata": format!("{}/$metadata#taskaddresult", shared.base),
            "value": results,
        }),
    ))
}

fn add_result(shared: &Shared, sim: &Sim, j: usize, id: &str, added: Added) -> Value {
    match added {
        Added::Created(t) => {
            let (etag, _) = sim.task_etag(j, t);
            json!({
                "status": "success",
                "taskId": id,
                "eTag": etag,
                "lastModified": sim.task_last_modified(j, t),
                "location": format!("{}/jobs/{}/tasks/{id}", shared.base, sim.jobs[j].id),
            })
        }
        Added::ClientError(code, message) => {
            json!({"status": "clienterror", "taskId": id, "error": batch_error(code, &message)})
        }
        Added::ServerError => json!({
            "status": "servererror",
            "taskId": id,
            "error": batch_error("InternalError", "Server encountered an internal error. Please try again after some time."),
        }),
    }
}

fn add_one_task(shared: &Shared, req: &Req, faults: &Faults, job: &str) -> Result<Reply> {
    let b = body(shared, req, Body::CreateTask)?;
    shared.with_sim(faults, |sim, now| -> Result<Reply> {
        let j = sim.job_for_adding(job)?;
        let server_error = shared.chance(faults.task_server_error, "task_server_error");
        let (id, added) = sim.add_task(j, b, &mut HashSet::new(), server_error, now);
        sim.dispatch_job(j, now);
        match added {
            Added::Created(t) => {
                let (etag, modified) = sim.task_etag(j, t);
                Ok(Reply::empty(201)
                    .header(
                        "DataServiceId",
                        format!("{}/jobs/{}/tasks/{id}", shared.base, sim.jobs[j].id),
                    )
                    .header("ETag", etag)
                    .header("Last-Modified", modified))
            }
            Added::ClientError(code, message) => {
                let status = if code == "TaskExists" { 409 } else { 400 };
                Err(fail(status, code, message).into())
            }
            Added::ServerError => Err(fail(
                500,
                "InternalError",
                "Server encountered an internal error. Please try again after some time.",
            )
            .into()),
        }
    })
}

/// `maxresults`, `$skiptoken` and `$filter` of a list request.
pub(super) struct Paging {
    pub(super) max: usize,
    pub(super) skip: usize,
    pub(super) filter: Option<Filter>,
    pub(super) select: Option<Vec<String>>,
}

pub(super) fn paging(shared: &Shared, req: &Req) -> Result<Paging> {
    let bad = |name: &str, message: String, code: &str| {
        Handled::Reply(Box::new(error_with(
            shared,
            req,
            400,
            code,
            &message,
            vec![("QueryParameterName", name.to_string())],
        )))
    };
    let max = match req.param("maxresults") {
        None => MAX_RESULTS,
        Some(m) => match m.parse::<usize>() {
            Ok(n) if (1..=MAX_RESULTS).contains(&n) => n,
            Ok(_) => {
                return Err(bad(
                    "maxresults",
                    format!("maxresults `{m}` is outside 1..{MAX_RESULTS}."),
                    "OutOfRangeQueryParameterValue",
                ))
            }
            Err(_) => {
                return Err(bad(
                    "maxresults",
                    format!("maxresults `{m}` is not a number."),
                    "InvalidQueryParameterValue",
                ))
            }
        },
    };
    let skip = match req.param("$skiptoken") {
        None => 0,
        Some(s) => s.parse().map_err(|_| {
            bad(
                "$skiptoken",
                format!("`{s}` is not a skip token of this service."),
                "InvalidQueryParameterValue",
            )
        })?,
    };
    let filter = match req.param("$filter") {
        None => None,
        Some(f) => Some(Filter::parse(f).map_err(|e| {
            bad(
                "$filter",
                format!("The $filter clause is not supported by the fake: {e}"),
                "InvalidQueryParameterValue",
            )
        })?),
    };
    Ok(Paging {
        max,
        skip,
        filter,
        select: select(req),
    })
}

/// The URL of the next page: the same request with `$skiptoken` set.
pub(super) fn next_link(shared: &Shared, req: &Req, next: usize) -> String {
    let mut query: Vec<String> = req
        .query
        .iter()
        .filter(|(k, _)| k != "$skiptoken")
        .map(|(k, v)| format!("{}={}", odata::encode(k).replace("%24", "$"), odata::encode(v)))
        .collect();
    query.push(format!("$skiptoken={next}"));
    format!("{}{}?{}", shared.base, req.raw_path, query.join("&"))
}

fn list_nodes(shared: &Shared, req: &Req, faults: &Faults, p: &str) -> Result<Reply> {
    let paging = paging(shared, req)?;
    let (items, next) = shared.with_sim(faults, |sim, _| -> Result<(Vec<Value>, Option<usize>)> {
        let i = sim.pool(p)?;
        let nodes = sim.node_indexes(i);
        let mut items = Vec::new();
        let mut next = None;
        for (pos, &k) in nodes.iter().enumerate().skip(paging.skip) {
            if items.len() == paging.max {
                next = Some(pos);
                break;
            }
            let v = sim.node_json(i, k);
            if paging
                .filter
                .as_ref()
                .is_none_or(|f| f.matches(&mut |path| odata::lookup(&v, path)))
            {
                items.push(odata::select(v, paging.select.as_deref()));
            }
        }
        Ok((items, next))
    })?;
    let mut body = json!({
        "odata.metadata": format!("{}/$metadata#nodes", shared.base),
        "value": items,
    });
    if let Some(next) = next {
        body["odata.nextLink"] = json!(next_link(shared, req, next));
    }
    Ok(Reply::json(200, &body))
}

fn list_tasks(shared: &Shared, req: &Req, faults: &Faults, job: &str) -> Result<Reply> {
    let paging = paging(shared, req)?;
    let (items, next) = shared.with_sim(faults, |sim, _| -> Result<(Vec<Value>, Option<usize>)> {
        let j = sim.job(job)?;
        let n = sim.jobs[j].tasks.len();
        let mut items = Vec::new();
        let mut next = None;
        for t in paging.skip..n {
            if items.len() == paging.max {
                next = Some(t);
                break;
            }
            if paging
                .filter
                .as_ref()
                .is_none_or(|f| f.matches(&mut |path| sim.task_field(j, t, path)))
            {
                items.push(sim.task_json(j, t, paging.select.as_deref()));
            }
        }
        Ok((items, next))
    })?;
    let mut body = json!({
        "odata.metadata": format!("{}/$metadata#tasks", shared.base),
        "value": items,
    });
    if let Some(next) = next {
        body["odata.nextLink"] = json!(next_link(shared, req, next));
    }
    Ok(Reply::json(200, &body))
}
