//! The MPI launch helper (`multi_instance { mpi = ... }`): a size without InfiniBand, where
//! MPI runs over Ethernet (BF231), and a launcher whose environment module is not there: an
//! image that ships no MPI modules, or a container (BF232).

use super::runnables::{self, Kind, Runnable};
use crate::diagnostics::{Code, Diagnostic};
use crate::graph::{Image, MpiLaunch, Workflow};
use crate::stdlib::facts::{image_info, size};

pub fn check(wf: &Workflow, out: &mut Vec<Diagnostic>) {
    for r in runnables::all(wf).iter().filter(|r| r.kind == Kind::Task) {
        let Some(spec) = r.first() else { continue };
        let Some(launch) = spec.multi_instance.as_ref().and_then(|m| m.mpi.as_ref()) else {
            continue;
        };
        over_ethernet(r, launch, out);
        if spec.container.is_some() {
            out.push(
                Diagnostic::new(
                    Code::BF232,
                    r.span_of("mpi"),
                    format!(
                        "`mpi = {}` in a container task: the launcher loads an environment module of the host, which the container does not have",
                        launch.mpi.word()
                    ),
                )
                .with_label(r.span_of("container"), "runs in this image")
                .with_help("run the MPI task on the host (remove `container`), or start `mpirun` yourself in `command` with a `coordination` of your own"),
            );
        } else {
            without_modules(r, launch, out);
        }
    }
}

/// BF231: a size the stdlib knows to have no InfiniBand.
fn over_ethernet(r: &Runnable<'_>, launch: &MpiLaunch, out: &mut Vec<Diagnostic>) {
    let Some(pool) = r.pool else { return };
    let Some(vm) = size(pool) else { return };
    if vm.rdma {
        return;
    }
    out.push(
        Diagnostic::new(
            Code::BF231,
            r.span_of("mpi"),
            format!(
                "`mpi = {}` on `{}`, which has no InfiniBand: MPI runs over Ethernet",
                launch.mpi.word(),
                vm.name
            ),
        )
        .with_label(pool.attrs.or("vm_size", pool.name.span), "no InfiniBand on this size")
        .with_help("for tightly coupled MPI use an InfiniBand size such as `Standard_HB120rs_v3` or `Standard_HB176rs_v4`; on this size the launcher still works, at Ethernet latency"),
    );
}

/// BF232: a marketplace image the stdlib knows, which ships none of the MPI modules.
fn without_modules(r: &Runnable<'_>, launch: &MpiLaunch, out: &mut Vec<Diagnostic>) {
    let Some(pool) = r.pool else { return };
    let Some(Image::Marketplace {
        publisher, offer, sku, ..
    }) = &pool.image
    else {
        return;
    };
    if image_info(pool).is_none() || crate::stdlib::mpi_module(publisher, offer, launch.mpi.word()).is_some() {
        return;
    }
    out.push(
        Diagnostic::new(
            Code::BF232,
            r.span_of("mpi"),
            format!(
                "`mpi = {}` on image `{publisher}/{offer}/{sku}`, which ships no MPI modules for the launcher to load",
                launch.mpi.word()
            ),
        )
        .with_label(pool.attrs.or("image", pool.name.span), "this image")
        .with_help("use the Ubuntu-HPC image, `marketplace(\"microsoft-dsvm\", \"ubuntu-hpc\", \"2404\")`, which ships HPC-X, Open MPI and Intel MPI as modules (`batchflow explain mpi`)"),
    );
}
