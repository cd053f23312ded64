//! `multi_instance { }`: the node count (`nodes = pool` takes the pool's), the coordination
//! command, and the MPI launch helper (`mpi`, `processes_per_node`), which replaces the task's
//! command with a launcher around it once the whole task is known ([`launch`]).

use super::eval_error::Bindings;
use super::schema::Fields;
use super::{typed, Lowerer};
use crate::diagnostics::{Code, Diagnostic};
use crate::graph::{EnvVar, Image, Mpi, MpiLaunch, MultiInstance, Pool, TaskSpec};
use crate::source::Span;
use std::sync::Arc;

impl Lowerer<'_> {
    /// A task's `multi_instance` block; `owner` is the block's name, where a missing
    /// attribute is reported.
    pub(super) fn multi_instance(
        &mut self,
        m: &Fields<'_>,
        owner: Span,
        vars: Bindings<'_>,
    ) -> Option<Arc<MultiInstance>> {
        let nodes = self.instance_count(m, vars);
        let coordination = self.typed(m, "coordination", vars, typed::string);
        let mpi = self.word(m, "mpi", vars, mpi_word);
        if m.attr("mpi").is_none() {
            if m.attr("coordination").is_none() {
                self.missing_once(owner, "coordination", "add `coordination = \"...\"` (the command every node runs first), or `mpi = hpcx` for a launcher that writes one");
            }
            if let Some(attr) = m.attr("processes_per_node") {
                // Without `mpi` nothing launches the processes: the count would be ignored.
                if self.failed.insert(attr.key.span) {
                    self.sink.push(
                        Diagnostic::new(
                            Code::BF008,
                            attr.key.span,
                            "`processes_per_node` sets the launcher's process count, and this multi_instance block has no `mpi`",
                        )
                        .with_help("add `mpi = hpcx` (or `openmpi`, `intelmpi`) for the launcher, or remove `processes_per_node` and start the processes yourself in `command`"),
                    );
                }
                return None;
            }
            return Some(Arc::new(MultiInstance {
                nodes: nodes?,
                coordination: coordination?,
                mpi: None,
            }));
        }
        let (nodes, mpi) = (nodes?, mpi?);
        let processes_per_node = match m.attr("processes_per_node") {
            Some(attr) => {
                let n = self.typed(m, "processes_per_node", vars, typed::count)?;
                if n == 0 {
                    self.refuse_once(attr.value.span, "`processes_per_node` must be at least 1");
                    return None;
                }
                n
            }
            None => match self.job_pool().and_then(crate::stdlib::facts::size) {
                Some(size) => size.vcpus,
                None => {
                    self.missing_once(owner, "processes_per_node", "add `processes_per_node = N`; without it the launcher starts one process per vCPU of the pool's size, which the stdlib does not know here");
                    return None;
                }
            },
        };
        Some(Arc::new(MultiInstance {
            nodes,
            coordination: Arc::from(""),
            mpi: Some(MpiLaunch {
                mpi,
                processes_per_node,
                program: Arc::from(""),
                coordination,
            }),
        }))
    }

    /// `nodes = N`, or `nodes = pool` for the job's pool's node count.
    fn instance_count(&mut self, m: &Fields<'_>, vars: Bindings<'_>) -> Option<u32> {
        let attr = m.attr("nodes")?;
        let is_pool = attr
            .value
            .as_word()
            .is_some_and(|w| w.name == "pool" && !self.names.is_bound(self.unit, "pool", vars));
        if !is_pool {
            return self.typed(m, "nodes", vars, typed::count);
        }
        let pool = self.job_pool()?;
        if pool.autoscale.is_some() {
            let message = format!(
                "`nodes = pool` needs a pool of fixed size, and pool `{}` scales automatically",
                pool.name.value
            );
            if self.failed.insert(attr.value.span) {
                self.sink.push(
                    Diagnostic::new(Code::BF212, attr.value.span, message)
                        .with_help("write the number of nodes the task needs, like `nodes = 4`"),
                );
            }
            return None;
        }
        Some(u32::try_from(pool.target_nodes()).unwrap_or(u32::MAX))
    }

    /// The pool of the job whose tasks are being lowered.
    fn job_pool(&self) -> Option<&Pool> {
        self.job_pool.and_then(|p| self.wf.pool(p))
    }

    /// The environment module of `mpi` on the job's pool: from the stdlib table for a
    /// marketplace image it knows, else the Ubuntu-HPC image's name (BF232 says when that
    /// cannot work).
    pub(super) fn mpi_module(&self, mpi: Mpi) -> &'static str {
        let known = match self.job_pool().and_then(|p| p.image.as_ref()) {
            Some(Image::Marketplace { publisher, offer, .. }) => {
                crate::stdlib::mpi_module(publisher, offer, mpi.word())
            }
            _ => None,
        };
        known.map_or_else(|| super::mpi_launch::default_module(mpi), |m| m.module.as_str())
    }

    /// BF007 once for a declaration (a sweep's instances miss it alike).
    fn missing_once(&mut self, owner: Span, attr: &str, help: &str) {
        if self.failed.insert(owner) {
            self.sink.push(
                Diagnostic::new(Code::BF007, owner, format!("this multi_instance block has no `{attr}`"))
                    .with_help(help),
            );
        }
    }

    fn refuse_once(&mut self, at: Span, message: &str) {
        if self.failed.insert(at) {
            self.sink
                .push(Diagnostic::new(Code::BF006, at, message).with_help("write `processes_per_node = 1` or more"));
        }
    }
}

fn mpi_word(attr: &str, text: &str, span: Span) -> typed::Typed<Mpi> {
    typed::word(attr, text, &["hpcx", "openmpi", "intelmpi"], span).map(|w| match w {
        "openmpi" => Mpi::OpenMpi,
        "intelmpi" => Mpi::IntelMpi,
        _ => Mpi::Hpcx,
    })
}

/// With `mpi`, the task's command becomes the launcher around it and the coordination the
/// wait for the nodes; `job_env` and the task's `env` are passed on to every process. Run once
/// per spec, after all its attributes are evaluated.
pub(super) fn launch(spec: &mut TaskSpec, job_env: &[EnvVar], module: &str) {
    let Some(mi) = spec.multi_instance.as_ref() else { return };
    let Some(l) = &mi.mpi else { return };
    let Some(program) = spec.command.clone() else { return };
    let mut env: Vec<EnvVar> = job_env.to_vec();
    for v in spec.env.iter() {
        if !env.iter().any(|e| e.name == v.name) {
            env.push(v.clone());
        }
    }
    let command = super::mpi_launch::application(&super::mpi_launch::Launch {
        mpi: l.mpi,
        module,
        nodes: mi.nodes,
        per_node: l.processes_per_node,
        program: &program,
        env: &env,
    });
    let coordination = super::mpi_launch::coordination(l.coordination.as_deref());
    let written = MpiLaunch { program, ..l.clone() };
    spec.multi_instance = Some(Arc::new(MultiInstance {
        nodes: mi.nodes,
        coordination: coordination.into(),
        mpi: Some(written),
    }));
    spec.command = Some(command.into());
}
