//! Batch's size limits on an `addtaskcollection` request, which every task body must fit.

pub const MAX_COLLECTION_TASKS: usize = 100;
/// Batch rejects collection bodies of 1 MB or more.
pub const MAX_COLLECTION_BYTES: usize = 1_000_000;
/// `{"value":[` and `]}`.
pub const ENVELOPE: usize = 12;
