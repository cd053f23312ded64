//! Run-time errors as data: every way a run can fail outside a task, with its message written
//! in one place, the exit code it gives, and (where the workflow declares what failed) the
//! span the diagnostics renderer points at.

use crate::diagnostics::Problem;
pub use crate::exec::storage_error::{StorageError, Via};
use crate::exit;
use crate::source::Span;
use std::fmt;

#[derive(Debug)]
pub enum RunError {
    /// Something the run asked for that cannot run here, found before anything started: an
    /// option of the other target, a Windows pool on the local runner, an unset secret.
    Refused(String),
    /// The target is not configured, or its credentials cannot be had.
    Config(String),
    /// The run folder (or another local file the run needs) could not be read or written.
    Io { what: String, error: std::io::Error },
    /// A request to Batch failed; `doing` says what for ("create pool `cpu`").
    Batch { doing: String, error: BatchError },
    /// Storage (blob upload, download, SAS) failed; `doing` says what for ("upload inputs").
    Storage { doing: String, error: StorageError },
    /// A request to Azure Resource Manager failed; `doing` says what for.
    Arm { doing: String, error: BatchError },
    /// A body the backend reads (a plan step's, or a reply) did not parse.
    Body { what: String, error: serde_json::Error },
    /// A pool or job of this run's id exists on Batch and is not this run's to use.
    Conflict(String),
    /// A pool never came up: every node failed its start task, or it stayed empty.
    Pool(String),
    /// `on_task_failed` said abort (or the run stopped while asking it).
    Aborted(String),
    /// A local unit could not be started.
    Launch(String),
    /// The run was interrupted (Ctrl-C, SIGTERM).
    Interrupted,
}

impl RunError {
    pub fn io(what: impl Into<String>, error: std::io::Error) -> RunError {
        RunError::Io {
            what: what.into(),
            error,
        }
    }

    pub fn batch(doing: impl Into<String>, error: BatchError) -> RunError {
        RunError::Batch {
            doing: doing.into(),
            error,
        }
    }

    pub fn storage(doing: impl Into<String>, error: StorageError) -> RunError {
        RunError::Storage {
            doing: doing.into(),
            error,
        }
    }

    pub fn arm(doing: impl Into<String>, error: BatchError) -> RunError {
        RunError::Arm {
            doing: doing.into(),
            error,
        }
    }

    /// Batch's error code, when Batch answered with one.
    pub fn batch_code(&self) -> Option<&str> {
        match self {
            RunError::Batch { error, .. } => error.code(),
            _ => None,
        }
    }

    /// The exit code of a run that ends with this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            RunError::Refused(_) | RunError::Config(_) | RunError::Io { .. } => exit::USAGE,
            RunError::Storage { error, .. } if error.is_config() => exit::USAGE,
            RunError::Interrupted => exit::INTERRUPTED,
            RunError::Batch { .. }
            | RunError::Storage { .. }
            | RunError::Arm { .. }
            | RunError::Body { .. }
            | RunError::Conflict(_)
            | RunError::Pool(_)
            | RunError::Aborted(_)
            | RunError::Launch(_) => exit::FOUND_ERRORS,
        }
    }

    /// What to do about it, when there is more to say than the message.
    fn help(&self) -> Option<String> {
        match self {
            RunError::Batch { error, .. } if error.status() == Some(403) => Some(
                "check the credentials (AZURE_BATCH_ACCESS_KEY, or `az login` for Entra ID) and the account's role assignments"
                    .into(),
            ),
            RunError::Storage { error, .. } => error.help(),
            RunError::Arm { error, .. } if error.status() == Some(403) => Some(
                "give the identity batchflow signs in with the Reader role on the Batch account (Contributor to create pools with managed identities)"
                    .into(),
            ),
            RunError::Io { .. } => Some("check that the run folder (.batchflow/runs) is writable and not full".into()),
            _ => None,
        }
    }

    /// As the diagnostics renderer shows it, at `span` when the workflow declares what failed.
    pub fn problem(&self, span: Option<Span>) -> Problem {
        let mut p = Problem::error(self.to_string()).at(span);
        if let Some(h) = self.help() {
            p = p.with_help(h);
        }
        p
    }
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Refused(why) | RunError::Config(why) | RunError::Conflict(why) => f.write_str(why),
            RunError::Pool(why) | RunError::Aborted(why) | RunError::Launch(why) => f.write_str(why),
            RunError::Io { what, error } => write!(f, "{what}: {error}"),
            RunError::Batch { doing, error } => write!(f, "cannot {doing}: {error}"),
            RunError::Storage { doing, error } => write!(f, "cannot {doing}: {error}"),
            RunError::Arm { doing, error } => write!(f, "cannot {doing} through Azure Resource Manager: {error}"),
            RunError::Body { what, error } => write!(f, "{what} does not parse: {error}"),
            RunError::Interrupted => f.write_str("interrupted"),
        }
    }
}

impl std::error::Error for RunError {}

/// A request that did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchError {
    /// Batch answered with an error: its HTTP status and `code` (`PoolExists`, ...).
    Service { status: u16, code: String, message: String },
    /// No answer: connection refused or dropped, timeouts (after all retries).
    Transport(String),
    /// Could not authorize the request.
    Auth(String),
}

impl std::fmt::Display for BatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BatchError::Service { status, code, message } => write!(f, "{code} ({status}): {message}"),
            BatchError::Transport(m) | BatchError::Auth(m) => f.write_str(m),
        }
    }
}

impl BatchError {
    pub fn code(&self) -> Option<&str> {
        match self {
            BatchError::Service { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The HTTP status Batch answered with.
    pub fn status(&self) -> Option<u16> {
        match self {
            BatchError::Service { status, .. } => Some(*status),
            _ => None,
        }
    }
}
