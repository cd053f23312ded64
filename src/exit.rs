//! The exit codes of every command, in one place.

/// No errors; for `run`, every task succeeded.
pub const OK: u8 = 0;
/// Errors found in a workflow; for `run`, a task failed or the run could not finish.
pub const FOUND_ERRORS: u8 = 1;
/// A usage or I/O error: nothing was checked or run.
pub const USAGE: u8 = 2;
/// Interrupted (Ctrl-C or SIGTERM), as shells report SIGINT.
pub const INTERRUPTED: u8 = 130;
