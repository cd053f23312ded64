//! Azure Resource Manager: what the Batch data plane cannot do. The pre-flight reads the
//! account (quotas, region, VM sizes, pools) and the custom images and identities a workflow
//! names; the azure backend creates, reads and deletes pools with user-assigned managed
//! identities, which only ARM can set. Shares the retry loop and the credentials with the Batch
//! client.

pub mod account;
pub mod client;
pub mod facts;
mod join;
pub mod models;
pub mod pools;

pub use client::ArmClient;
pub use join::join_all;
