//! One step of a plan: what it does (a typed [`StepKind`], so no backend parses step ids),
//! the request or wait it is, the steps it comes after, and where the workflow declares it.
//! `plan.json` is this, serialized: readable by people, read back by a resumed run.

use super::batch_api;
use crate::source::{Span, SrcId};
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

/// What a step does, and to which pool or job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepKind {
    CreatePool {
        pool: String,
    },
    /// A pool with user-assigned managed identities, created through Azure Resource Manager
    /// (`PUT {batchAccount}/pools/{pool}`): the Batch data plane cannot set a pool's identities.
    CreateArmPool {
        pool: String,
    },
    /// Allocation steady at its target, start tasks finished on every node.
    WaitPool {
        pool: String,
    },
    CreateJob {
        job: String,
    },
    /// The `batch`-th `addtaskcollection` of a job (from 1).
    AddTasks {
        job: String,
        batch: usize,
    },
    /// Set the job to terminate once its tasks are done.
    EndJob {
        job: String,
    },
    /// The job completed (all its tasks ended and it was terminated).
    WaitJob {
        job: String,
    },
}

impl StepKind {
    /// The step's id, as `after` lists name it.
    pub fn id(&self) -> String {
        match self {
            // One pool has one creation step, through either API; `after` lists name it alike.
            StepKind::CreatePool { pool } | StepKind::CreateArmPool { pool } => format!("create-pool-{pool}"),
            StepKind::WaitPool { pool } => format!("wait-pool-{pool}"),
            StepKind::CreateJob { job } => format!("create-job-{job}"),
            StepKind::AddTasks { job, batch } => format!("add-tasks-{job}-{batch}"),
            StepKind::EndJob { job } => format!("end-job-{job}"),
            StepKind::WaitJob { job } => format!("wait-job-{job}"),
        }
    }

    fn name(&self) -> &'static str {
        match self {
            StepKind::CreatePool { .. } => "create-pool",
            StepKind::CreateArmPool { .. } => "create-arm-pool",
            StepKind::WaitPool { .. } => "wait-pool",
            StepKind::CreateJob { .. } => "create-job",
            StepKind::AddTasks { .. } => "add-tasks",
            StepKind::EndJob { .. } => "end-job",
            StepKind::WaitJob { .. } => "wait-job",
        }
    }

    /// The pool a pool step is about.
    pub fn pool(&self) -> Option<&str> {
        match self {
            StepKind::CreatePool { pool } | StepKind::CreateArmPool { pool } | StepKind::WaitPool { pool } => {
                Some(pool)
            }
            _ => None,
        }
    }

    /// The job a job step is about.
    pub fn job(&self) -> Option<&str> {
        match self {
            StepKind::CreateJob { job }
            | StepKind::AddTasks { job, .. }
            | StepKind::EndJob { job }
            | StepKind::WaitJob { job } => Some(job),
            _ => None,
        }
    }
}

/// What a wait step waits for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Wait {
    /// Allocation steady at its target, start tasks finished on every node.
    PoolReady,
    /// The job completed (all its tasks ended and it was terminated).
    JobCompleted,
}

#[derive(Debug)]
pub enum Action {
    Request {
        method: &'static str,
        path: String,
        /// Exactly the JSON the Batch API takes.
        body: Box<RawValue>,
    },
    Wait {
        wait: Wait,
        path: String,
    },
}

#[derive(Debug)]
pub struct Step {
    pub id: String,
    pub kind: StepKind,
    pub action: Action,
    pub after: Vec<String>,
    /// The `.batchflow` declaration the step comes from, so run-time errors point at it.
    pub origin: Span,
    /// For a task collection: the declaration of each task of its body, in order, as runs of
    /// (count, span).
    pub task_origins: Vec<(u32, Span)>,
    /// For a task collection with sweep instances: what each task of its body stands for
    /// (`train[s=3, lr=0.01]`, `""` for a plain task), in order; empty otherwise.
    pub task_labels: Vec<String>,
    /// One line for `plan --format text`.
    pub summary: String,
    /// Task ids in an `addtaskcollection` body, for progress and error reports.
    pub tasks: usize,
}

impl Step {
    /// A step of `kind`, its id derived from it.
    pub fn new(kind: StepKind, action: Action, after: Vec<String>, origin: Span) -> Step {
        Step {
            id: kind.id(),
            kind,
            action,
            after,
            origin,
            task_origins: Vec::new(),
            task_labels: Vec::new(),
            summary: String::new(),
            tasks: 0,
        }
    }

    pub fn with_summary(mut self, summary: impl Into<String>) -> Step {
        self.summary = summary.into();
        self
    }

    /// The declaration of the `i`-th task of a collection's body.
    pub fn task_origin(&self, i: usize) -> Span {
        let mut seen = 0usize;
        for (count, span) in &self.task_origins {
            seen += *count as usize;
            if i < seen {
                return *span;
            }
        }
        self.origin
    }

    /// Gives every span of the step the file `src`: spans read back from `plan.json` know
    /// only their offsets.
    pub fn set_source(&mut self, src: SrcId) {
        self.origin.src = src;
        for (_, span) in &mut self.task_origins {
            span.src = src;
        }
    }
}

/// A span in `plan.json`: its byte offsets in the workflow file.
fn offsets(span: Span) -> Option<[u32; 2]> {
    (span != Span::default()).then_some([span.start, span.end])
}

fn from_offsets([start, end]: [u32; 2]) -> Span {
    Span {
        src: SrcId::default(),
        start,
        end,
    }
}

impl Serialize for Step {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Step", 10)?;
        st.serialize_field("step", &self.id)?;
        st.serialize_field("kind", self.kind.name())?;
        match &self.kind {
            StepKind::CreatePool { pool } | StepKind::CreateArmPool { pool } | StepKind::WaitPool { pool } => {
                st.serialize_field("pool", pool)?
            }
            StepKind::AddTasks { job, batch } => {
                st.serialize_field("job", job)?;
                st.serialize_field("batch", batch)?;
            }
            StepKind::CreateJob { job } | StepKind::EndJob { job } | StepKind::WaitJob { job } => {
                st.serialize_field("job", job)?
            }
        }
        match &self.action {
            Action::Request { method, path, body } => {
                st.serialize_field("method", method)?;
                st.serialize_field("path", path)?;
                st.serialize_field("body", body)?;
            }
            Action::Wait { wait, path } => {
                st.serialize_field("wait", wait)?;
                st.serialize_field("path", path)?;
            }
        }
        st.serialize_field("after", &self.after)?;
        if let Some(o) = offsets(self.origin) {
            st.serialize_field("origin", &o)?;
        }
        if !self.task_origins.is_empty() {
            let runs: Vec<[u32; 3]> = self
                .task_origins
                .iter()
                .map(|(n, span)| [*n, span.start, span.end])
                .collect();
            st.serialize_field("task_origins", &runs)?;
        }
        if !self.task_labels.is_empty() {
            st.serialize_field("task_labels", &self.task_labels)?;
        }
        st.end()
    }
}

/// A step as `plan --format json` writes it, read back (a run keeps its plan on disk).
#[derive(Deserialize)]
struct StepJson {
    step: String,
    kind: String,
    #[serde(default)]
    pool: Option<String>,
    #[serde(default)]
    job: Option<String>,
    #[serde(default)]
    batch: Option<usize>,
    #[serde(default)]
    method: Option<String>,
    path: String,
    #[serde(default)]
    body: Option<Box<RawValue>>,
    #[serde(default)]
    wait: Option<Wait>,
    #[serde(default)]
    after: Vec<String>,
    #[serde(default)]
    origin: Option<[u32; 2]>,
    #[serde(default)]
    task_origins: Vec<[u32; 3]>,
    #[serde(default)]
    task_labels: Vec<String>,
}

fn kind_of(j: &StepJson) -> Option<StepKind> {
    let pool = || j.pool.clone();
    let job = || j.job.clone();
    Some(match j.kind.as_str() {
        "create-pool" => StepKind::CreatePool { pool: pool()? },
        "create-arm-pool" => StepKind::CreateArmPool { pool: pool()? },
        "wait-pool" => StepKind::WaitPool { pool: pool()? },
        "create-job" => StepKind::CreateJob { job: job()? },
        "add-tasks" => StepKind::AddTasks {
            job: job()?,
            batch: j.batch?,
        },
        "end-job" => StepKind::EndJob { job: job()? },
        "wait-job" => StepKind::WaitJob { job: job()? },
        _ => return None,
    })
}

impl<'de> Deserialize<'de> for Step {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Step, D::Error> {
        let j = StepJson::deserialize(d)?;
        let kind = kind_of(&j).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "step `{}` has an unknown kind `{}` or lacks its pool or job",
                j.step, j.kind
            ))
        })?;
        let action = match (j.method.as_deref(), j.body, j.wait) {
            (Some(m), Some(body), None) => Action::Request {
                method: match m {
                    "POST" => "POST",
                    "PATCH" => "PATCH",
                    "PUT" => "PUT",
                    "DELETE" => "DELETE",
                    other => return Err(serde::de::Error::custom(format!("unknown method `{other}`"))),
                },
                path: j.path,
                body,
            },
            (None, None, Some(wait)) => Action::Wait { wait, path: j.path },
            _ => {
                return Err(serde::de::Error::custom(format!(
                    "step `{}` is neither a request nor a wait",
                    j.step
                )))
            }
        };
        let tasks = match (&kind, &action) {
            (StepKind::AddTasks { .. }, Action::Request { body, .. }) => {
                serde_json::from_str::<batch_api::TaskAddCollectionParameter>(body.get()).map_or(0, |c| c.value.len())
            }
            _ => 0,
        };
        Ok(Step {
            id: j.step,
            kind,
            action,
            after: j.after,
            origin: j.origin.map(from_offsets).unwrap_or_default(),
            task_origins: j
                .task_origins
                .into_iter()
                .map(|[n, start, end]| (n, from_offsets([start, end])))
                .collect(),
            task_labels: j.task_labels,
            summary: String::new(),
            tasks,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_reads_back_with_its_kind_and_origins() {
        let span = |a, b| Span {
            src: SrcId(3),
            start: a,
            end: b,
        };
        let mut step = Step::new(
            StepKind::AddTasks {
                job: "j".into(),
                batch: 2,
            },
            Action::Request {
                method: "POST",
                path: "/jobs/j/addtaskcollection".into(),
                body: RawValue::from_string(
                    r#"{"value":[{"id":"a","commandLine":"x"},{"id":"b","commandLine":"y"}]}"#.into(),
                )
                .expect("json"),
            },
            vec!["create-job-j".into()],
            span(10, 20),
        );
        step.task_origins = vec![(1, span(10, 20)), (1, span(30, 40))];
        step.task_labels = vec!["a[i=1]".into(), String::new()];
        let text = serde_json::to_string(&step).expect("serializes");
        assert!(text.contains(r#""kind":"add-tasks","job":"j","batch":2"#), "{text}");
        let mut back: Step = serde_json::from_str(&text).expect("reads back");
        back.set_source(SrcId(3));
        assert_eq!(back.id, "add-tasks-j-2");
        assert_eq!(back.kind, step.kind);
        assert_eq!(back.origin, span(10, 20));
        assert_eq!(back.task_origin(1), span(30, 40));
        assert_eq!(back.tasks, 2);
        assert_eq!(back.task_labels, step.task_labels);
    }
}
