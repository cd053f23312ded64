//! Talking to Azure services: credentials, retries and the blob storage client. Shared by the
//! Batch runner (`azure`) and data staging (`stage`), so neither has to import the other.

pub mod auth;
pub mod blob;
pub mod retry;
