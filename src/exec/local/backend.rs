//! The local backend behind the run driver: the plan's model, checked for what cannot run on
//! this machine before any run folder exists, then executed by the scheduler.

use super::container_cli;
use super::layout;
use super::model::Model;
use super::preflight::{no_runtime, node_notes, preflight};
use super::scheduler::{self, Ctx, SchedulerOptions};
use crate::exec::backend::{Backend, Outcome, Results, Run};
use crate::exec::error::RunError;
use crate::exec::TaskReport;
use crate::plan::Plan;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

/// What `run` takes for this target.
pub struct LocalSettings {
    /// Most tasks at once (`--jobs`, default: the CPUs).
    pub jobs: u32,
    /// `--container-cli`.
    pub container_cli: Option<String>,
    /// The environment: secrets, `BATCHFLOW_CONTAINER_CLI`, `PATH`.
    pub env: HashMap<String, String>,
    /// The folder each pool mount stands for (`batchflow.toml`'s `[mounts]`).
    pub mounts: BTreeMap<String, PathBuf>,
}

pub struct LocalBackend {
    model: Model,
    jobs: u32,
    container_cli: Option<PathBuf>,
    secrets: HashMap<String, String>,
    mounts: BTreeMap<String, PathBuf>,
    reports: Vec<TaskReport>,
    /// Pools with `keep`: on this machine there is nothing to keep.
    kept: Vec<String>,
}

impl LocalBackend {
    /// The backend for `plan`, or why it cannot run here (refused before anything starts).
    pub fn new(plan: &Plan, settings: LocalSettings) -> Result<LocalBackend, RunError> {
        let model = Model::from_plan(plan).map_err(|e| RunError::Refused(e.to_string()))?;
        preflight(&model, plan, &settings.env, &settings.mounts)?;
        let container_cli = if model.has_containers() {
            let found = container_cli::resolve(
                settings.container_cli.as_deref(),
                settings.env.get("BATCHFLOW_CONTAINER_CLI").map(String::as_str),
                settings.env.get("PATH").map(String::as_str),
            )?;
            let cli = found.ok_or_else(|| RunError::Refused(no_runtime(&model)))?;
            container_cli::daemon_answers(&cli)?;
            Some(cli)
        } else {
            None
        };
        Ok(LocalBackend {
            model,
            jobs: settings.jobs.max(1),
            container_cli,
            secrets: settings.env,
            mounts: settings.mounts,
            reports: Vec::new(),
            kept: plan.keep.iter().map(|k| k.pool.clone()).collect(),
        })
    }

    /// `4 simulated nodes with 8 slots, at most 2 at once`.
    fn describe_nodes(&self) -> String {
        let (nodes, slots) = self.model.pools.iter().fold((0u32, 0u32), |(n, s), p| {
            let here = u32::try_from(layout::simulated(p.dedicated, p.low_priority).len()).unwrap_or(0);
            (n + here, s + here * p.task_slots)
        });
        format!(
            "{nodes} simulated node{} with {slots} slots, at most {} at once",
            if nodes == 1 { "" } else { "s" },
            self.jobs
        )
    }

    /// Notes for the start of a run: how the pools are simulated.
    fn notes(&self) -> Vec<String> {
        let mut out = node_notes(&self.model);
        for pool in &self.kept {
            out.push(format!(
                "pool `{pool}` says `keep`: a local run has nothing to keep, its simulated nodes end with the run (on Azure Batch the pool outlives it)"
            ));
        }
        out
    }
}

impl Backend for LocalBackend {
    fn target(&self) -> String {
        "local".into()
    }

    fn describe(&self) -> String {
        self.describe_nodes()
    }

    fn execute(&mut self, run: &mut Run<'_, '_>) -> Result<Outcome, RunError> {
        for note in self.notes() {
            run.observer.note(&note);
        }
        let opts = SchedulerOptions {
            jobs: self.jobs,
            container_cli: self.container_cli.clone(),
            run_id: run.record.run_id.clone(),
            secrets: self.secrets.clone(),
            mounts: self.mounts.clone(),
            files: run.stage.local(),
        };
        let ctx = Ctx {
            run: run.dir,
            record: run.record,
            resumed: run.resumed.take(),
            policy: run.policy,
            observer: run.observer,
            interrupt: &run.interrupt,
        };
        let (outcome, reports) =
            scheduler::run(&self.model, &opts, ctx).map_err(|e| RunError::io("the run folder failed", e))?;
        self.reports = reports;
        Ok(outcome)
    }

    fn finish(&mut self, _run: &mut Run<'_, '_>, _outcome: &Outcome) -> Result<Results, RunError> {
        Ok(Results {
            reports: std::mem::take(&mut self.reports),
            problems: Vec::new(),
            usage: Vec::new(),
        })
    }
}
