//! A run's identity on Batch: the suffix that makes its job ids its own, the placeholders of
//! the plan filled in as each request is sent (`<run>`, `<run-suffix>`; see
//! [`crate::plan::identity`]), the Batch id of each of the workflow's jobs, and whether a pool
//! or job found on Batch is this run's, read from the metadata it carries.

use super::state::RunState;
use crate::plan::batch_api::{JobAddParameter, MetadataItem};
use crate::plan::identity::{self, meta};
use crate::plan::{Action, Plan, StepKind};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// What fills a run's placeholders.
#[derive(Clone, Debug, Default)]
pub struct RunIds {
    pub run_id: String,
    /// `None` for a run from before job ids had suffixes: its plan has no `<run-suffix>`.
    pub suffix: Option<String>,
}

impl RunIds {
    pub fn of(record: &RunState) -> RunIds {
        RunIds {
            run_id: record.run_id.clone(),
            suffix: record.suffix.clone(),
        }
    }

    /// `text` with the run's id and suffix in place of their placeholders.
    pub fn fill<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if !text.contains("<run") {
            return Cow::Borrowed(text);
        }
        let mut out = text.replace(identity::RUN, &self.run_id);
        if let Some(suffix) = &self.suffix {
            out = out.replace(identity::SUFFIX, suffix);
        }
        Cow::Owned(out)
    }

    /// Whether a pool or job carrying `metadata` was made (or, for a pool, last taken) by this
    /// run.
    pub fn is_mine(&self, metadata: &[MetadataItem]) -> bool {
        identity::value(metadata, meta::RUN) == Some(self.run_id.as_str())
    }
}

/// A new run's suffix: when it started (`YYMMDD-HHMMSS`, UTC) and 6 random hex digits, so that
/// two runs started in the same second, on two machines, still get jobs of their own.
pub fn new_suffix(now_ms: u64) -> String {
    let secs = now_ms / 1000;
    let date = crate::stdlib::Date::from_unix(secs);
    let t = secs % 86_400;
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "{:02}{:02}{:02}-{:02}{:02}{:02}-{}",
        date.year % 100,
        date.month,
        date.day,
        t / 3600,
        (t % 3600) / 60,
        t % 60,
        &random[..6]
    )
}

/// The Batch id of each of the plan's jobs in the run `ids` describes, by workflow job name.
pub fn batch_jobs(plan: &Plan, ids: &RunIds) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for step in &plan.steps {
        let (StepKind::CreateJob { job }, Action::Request { body, .. }) = (&step.kind, &step.action) else {
            continue;
        };
        let id = serde_json::from_str::<JobAddParameter>(body.get()).map_or_else(|_| job.clone(), |b| b.id);
        out.insert(job.clone(), ids.fill(&id).into_owned());
    }
    out
}

/// The Batch id of the workflow's job `job` in the run `record` describes: its recorded id,
/// else the workflow's name (a run from before job ids had suffixes).
pub fn batch_job<'a>(record: &'a RunState, job: &'a str) -> &'a str {
    record.batch_jobs.get(job).map_or(job, String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_suffix_has_the_length_job_ids_make_room_for() {
        let s = new_suffix(1_795_442_102_000);
        assert_eq!(s.len(), identity::SUFFIX_LEN, "{s}");
        assert!(s.starts_with("261123-"), "{s}");
        assert_ne!(new_suffix(1_795_442_102_000), s);
    }

    #[test]
    fn placeholders_are_filled_and_ownership_read_from_metadata() {
        let ids = RunIds {
            run_id: "hello-20261123-141502".into(),
            suffix: Some("261123-141502-3fa9c1".into()),
        };
        assert_eq!(
            ids.fill(r#"{"id":"align-<run-suffix>","metadata":[{"name":"batchflow-run","value":"<run>"}]}"#),
            r#"{"id":"align-261123-141502-3fa9c1","metadata":[{"name":"batchflow-run","value":"hello-20261123-141502"}]}"#
        );
        assert!(ids.is_mine(&[identity::item(meta::RUN, "hello-20261123-141502")]));
        assert!(!ids.is_mine(&[identity::item(meta::RUN, "hello-20261123-141503")]));
        assert!(!ids.is_mine(&[]));
    }
}
