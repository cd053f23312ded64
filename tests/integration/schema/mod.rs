//! The Batch request schemas of the api-versions batchflow plans for, as strict validators
//! shared by the plan checks (`plan_schema.rs`) and the fake Batch service (`fake_batch/`, also
//! built into the `fake-batch` example):
//! - 2025-06-01, the default: the official azure-batch Python SDK 15.1.0's request models
//!   (`tests/spec/2025-06-01/`, JSON Schema 2020-12), in `sdk.rs`;
//! - 2024-02-01.19.0: the data-plane swagger (`tests/spec/BatchService.json`), in `swagger.rs`.
//!
//! The two name their models differently (`PoolAddParameter` / `BatchPoolCreateOptions`);
//! [`Body`] is what a request creates or changes, whatever the version calls it.

mod sdk;
mod swagger;

use serde_json::Value;
use std::sync::Arc;

/// An api-version with a schema here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    V2025_06_01,
    V2024_02_01,
}

/// The request bodies batchflow's plans and backend send, and the fake takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body {
    CreatePool,
    ResizePool,
    /// Autoscaling on an existing pool (a kept pool's idle formula).
    EnableAutoScale,
    /// A pool's metadata (who holds a kept pool).
    PatchPool,
    CreateJob,
    PatchJob,
    TerminateJob,
    CreateTask,
    CreateTaskCollection,
    CreateNodeUser,
}

impl Body {
    pub const ALL: [Body; 10] = [
        Body::CreatePool,
        Body::ResizePool,
        Body::EnableAutoScale,
        Body::PatchPool,
        Body::CreateJob,
        Body::PatchJob,
        Body::TerminateJob,
        Body::CreateTask,
        Body::CreateTaskCollection,
        Body::CreateNodeUser,
    ];
}

impl Version {
    pub const ALL: [Version; 2] = [Version::V2025_06_01, Version::V2024_02_01];
    /// batchflow's default `--api-version`.
    pub const DEFAULT: Version = Version::V2025_06_01;

    pub fn name(self) -> &'static str {
        match self {
            Version::V2025_06_01 => "2025-06-01",
            Version::V2024_02_01 => "2024-02-01.19.0",
        }
    }

    pub fn from_name(name: &str) -> Option<Version> {
        Version::ALL.into_iter().find(|v| v.name() == name)
    }

    /// The version's name for a body's model.
    pub fn model(self, body: Body) -> &'static str {
        match (self, body) {
            (Version::V2025_06_01, Body::CreatePool) => "BatchPoolCreateOptions",
            (Version::V2025_06_01, Body::ResizePool) => "BatchPoolResizeOptions",
            (Version::V2025_06_01, Body::EnableAutoScale) => "BatchPoolEnableAutoScaleOptions",
            (Version::V2025_06_01, Body::PatchPool) => "BatchPoolUpdateOptions",
            (Version::V2025_06_01, Body::CreateJob) => "BatchJobCreateOptions",
            (Version::V2025_06_01, Body::PatchJob) => "BatchJobUpdateOptions",
            (Version::V2025_06_01, Body::TerminateJob) => "BatchJobTerminateOptions",
            (Version::V2025_06_01, Body::CreateTask) => "BatchTaskCreateOptions",
            (Version::V2025_06_01, Body::CreateTaskCollection) => "BatchTaskGroup",
            (Version::V2025_06_01, Body::CreateNodeUser) => "BatchNodeUserCreateOptions",
            (Version::V2024_02_01, Body::CreatePool) => "PoolAddParameter",
            (Version::V2024_02_01, Body::ResizePool) => "PoolResizeParameter",
            (Version::V2024_02_01, Body::EnableAutoScale) => "PoolEnableAutoScaleParameter",
            (Version::V2024_02_01, Body::PatchPool) => "PoolPatchParameter",
            (Version::V2024_02_01, Body::CreateJob) => "JobAddParameter",
            (Version::V2024_02_01, Body::PatchJob) => "JobPatchParameter",
            (Version::V2024_02_01, Body::TerminateJob) => "JobTerminateParameter",
            (Version::V2024_02_01, Body::CreateTask) => "TaskAddParameter",
            (Version::V2024_02_01, Body::CreateTaskCollection) => "TaskAddCollectionParameter",
            (Version::V2024_02_01, Body::CreateNodeUser) => "ComputeNodeUser",
        }
    }

    /// The body a model is, if batchflow sends it.
    pub fn body(self, model: &str) -> Option<Body> {
        Body::ALL.into_iter().find(|b| self.model(*b) == model)
    }

    /// The model a request's body must be, for its method and concrete path
    /// (`POST /jobs/sweep/addtaskcollection`).
    pub fn body_model(self, method: &str, path: &str) -> Result<String, String> {
        match self {
            Version::V2025_06_01 => sdk::body_model(method, path),
            Version::V2024_02_01 => swagger::body_definition(method, path),
        }
    }

    /// The path template of an operation (`GET /pools/{poolId}`), if the version has it.
    pub fn operation(self, method: &str, path: &str) -> Result<String, String> {
        match self {
            Version::V2025_06_01 => sdk::operation(method, path),
            Version::V2024_02_01 => swagger::operation(method, path).map(|(t, _)| t),
        }
    }

    pub fn validator(self, model: &str) -> Arc<jsonschema::Validator> {
        match self {
            Version::V2025_06_01 => sdk::validator(model),
            Version::V2024_02_01 => swagger::validator(model),
        }
    }

    /// Why `body` is not a valid `model`; empty when it is.
    pub fn schema_errors(self, model: &str, body: &Value) -> Vec<String> {
        let v = self.validator(model);
        if v.is_valid(body) {
            return Vec::new();
        }
        v.iter_errors(body)
            .map(|e| {
                let mut msg = e.to_string();
                if msg.len() > 300 {
                    let cut = (0..=300).rev().find(|i| msg.is_char_boundary(*i)).unwrap_or(0);
                    msg.truncate(cut);
                    msg.push_str("...");
                }
                format!("{model} at `{}`: {msg}", e.instance_path())
            })
            .collect()
    }
}

/// The template among `templates` (`/jobs/{jobId}/tasks`) that a concrete path fits, segment
/// by segment, literal segments winning over `{params}`.
fn template_of<'t>(templates: impl Iterator<Item = &'t str>, path: &str) -> Result<&'t str, String> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if path.contains('?') || segments.iter().any(|s| s.is_empty()) {
        return Err(format!("`{path}` is not a plain resource path"));
    }
    let mut best: Option<(usize, &str)> = None;
    for template in templates {
        let parts: Vec<&str> = template.trim_start_matches('/').split('/').collect();
        if parts.len() != segments.len() {
            continue;
        }
        let mut literal = 0;
        let fits = parts.iter().zip(&segments).all(|(t, s)| {
            if t.starts_with('{') && t.ends_with('}') {
                true
            } else {
                literal += 1;
                t == s
            }
        });
        if fits && best.is_none_or(|(n, _)| literal > n) {
            best = Some((literal, template));
        }
    }
    best.map(|(_, t)| t)
        .ok_or_else(|| format!("no Batch operation has the path `{path}`"))
}

/// An ISO-8601 duration as .NET's `XmlConvert.ToTimeSpan` (which Batch uses) reads it:
/// `P[nY][nM][nD][T[nH][nM][n[.n]S]]`, at least one component, no weeks, no sign. Its length
/// in seconds (years and months approximated), so callers can check ranges.
pub fn iso8601_seconds(text: &str) -> Option<f64> {
    let rest = text.strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (rest, None),
    };
    let mut total = 0.0;
    let mut parts = 0;
    let mut read = |part: &str, units: &[(char, f64)], fraction: bool| -> Option<usize> {
        let mut next_unit = 0;
        let mut number = String::new();
        let mut n = 0;
        for c in part.chars() {
            if c.is_ascii_digit() || (fraction && c == '.' && !number.is_empty() && !number.contains('.')) {
                number.push(c);
                continue;
            }
            let at = units.iter().position(|(u, _)| *u == c)?;
            if at < next_unit || number.is_empty() || number.ends_with('.') || (number.contains('.') && c != 'S') {
                return None;
            }
            total += number.parse::<f64>().ok()? * units[at].1;
            number.clear();
            next_unit = at + 1;
            n += 1;
        }
        number.is_empty().then_some(n)
    };
    parts += read(
        date,
        &[('Y', 365.0 * 86_400.0), ('M', 30.0 * 86_400.0), ('D', 86_400.0)],
        false,
    )?;
    if let Some(t) = time {
        let n = read(t, &[('H', 3_600.0), ('M', 60.0), ('S', 1.0)], true)?;
        if n == 0 {
            return None;
        }
        parts += n;
    }
    (parts > 0).then_some(total)
}

pub fn is_iso8601_duration(text: &str) -> bool {
    iso8601_seconds(text).is_some()
}
