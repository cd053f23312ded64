//! The standard library, embedded in the binary: data tables of VM sizes, marketplace images,
//! node agents, Windows Server builds, blob endpoints and the HPC images' MPI modules (each row
//! with its source, see
//! `stdlib/SOURCES.md`), and `.batchflow` modules such as `std/images`.

mod date;
mod endpoints;
pub mod facts;
mod images;
mod mpi;
mod retirement;
mod vm_sizes;
mod windows;

pub use date::Date;
pub use endpoints::{blob_endpoint, blob_endpoints, BlobEndpoint};
pub use images::{image, images, node_agent, node_agents, ImageInfo, NodeAgent, Os};
pub use mpi::{mpi_module, mpi_modules, ships_mpi_modules, MpiModule};
pub use retirement::{Effect, Retirement};
pub use vm_sizes::{vm_size, vm_sizes, VmSize};
pub use windows::{windows_build, windows_build_by_sku_word, windows_build_by_tag, windows_builds, WindowsBuild};

/// A `.batchflow` module: `import "std/images"`.
pub struct Module {
    pub path: &'static str,
    pub text: &'static str,
}

pub const MODULES: &[Module] = &[Module {
    path: "std/images",
    text: include_str!("../../stdlib/images.batchflow"),
}];

pub fn module(path: &str) -> Option<&'static Module> {
    MODULES.iter().find(|m| m.path == path)
}

/// Splits a `list;of;values` field.
fn split_list(field: &str) -> impl Iterator<Item = &str> {
    field.split(';').map(str::trim).filter(|s| !s.is_empty())
}

fn yes(field: &str) -> bool {
    field.trim().eq_ignore_ascii_case("yes")
}

/// An empty field is `None`.
fn optional(field: &str) -> Option<String> {
    Some(field.trim()).filter(|s| !s.is_empty()).map(str::to_string)
}

/// An optional `YYYY-MM-DD` field; `what` names the row in the error.
fn date(field: &str, what: &str) -> Result<Option<Date>, String> {
    match optional(field) {
        None => Ok(None),
        Some(text) => Date::parse(&text)
            .map(Some)
            .ok_or_else(|| format!("{what}: `{text}` is not a date")),
    }
}
