//! The azure backend: executes a plan against the Azure Batch data-plane REST API.

pub mod arm;
mod backend;
pub mod cache;
pub mod client;
pub mod config;
pub mod control;
pub mod list;
pub mod made_pools;
pub mod models;
pub mod prices;
pub mod reach;
pub mod release;
pub mod runner;
pub mod ssh;
pub mod warm;

pub use backend::{AzureBackend, AzureSettings};
