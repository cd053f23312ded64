//! The local backend: runs a plan on this machine with Azure Batch's semantics — simulated
//! nodes with Batch's directories and `AZ_BATCH_*` variables, start tasks first, tasks when
//! their dependencies succeeded, retries, timeouts, container tasks through a
//! docker-compatible CLI, input files downloaded — and keeps its state on disk so a stopped
//! run resumes.

mod backend;
mod clock;
pub mod container_cli;
pub mod inputs;
pub mod layout;
pub mod model;
pub mod mounts;
mod preflight;
pub mod program;
mod scheduler;
pub mod spawn;
pub mod words;

pub use backend::{LocalBackend, LocalSettings};
pub use clock::human;
pub use model::{Model, ModelError};
