//! The fake Batch service's simulation as the fake Azure Resource Manager reaches it.

use super::state::Sim;
use super::{FakeBatch, Shared};
use serde_json::Value;
use std::sync::Arc;
use std::time::Instant;

/// The simulation, for the fake Azure Resource Manager: pools created through it are Batch
/// pools like the others (visible at `/pools/{id}`, allocated, deleted).
#[derive(Clone)]
pub struct BatchHandle(pub(super) Arc<Shared>);

/// A failure of the simulation: HTTP status, Batch error code, message.
pub type SimError = (u16, &'static str, String);

impl FakeBatch {
    pub fn handle(&self) -> BatchHandle {
        BatchHandle(self.shared.clone())
    }
}

impl BatchHandle {
    fn sim<R>(&self, f: impl FnOnce(&mut Sim, Instant) -> R) -> R {
        let faults = self.0.faults();
        self.0.with_sim(&faults, f)
    }

    /// Adds a pool from a Batch `POST /pools` body, checked against the schema of the default
    /// api-version first (the fake ARM's translation must be a valid Batch pool).
    pub fn add_pool(&self, body: Value) -> Result<(), SimError> {
        let version = crate::schema::Version::DEFAULT;
        let errors = version.schema_errors(version.model(crate::schema::Body::CreatePool), &body);
        if !errors.is_empty() {
            let problem = errors.join("; ");
            self.0
                .log()
                .schema_errors
                .push(format!("ARM pool as a Batch pool: {problem}"));
            return Err((400, "InvalidRequestBody", problem));
        }
        let faults = self.0.faults();
        self.0
            .with_sim(&faults, |sim, now| sim.add_pool(body, now, &faults).map(|_| ()))
            .map_err(|f| (f.status, f.code, f.message))
    }

    /// The pool as `GET /pools/{id}` shows it; `None` when there is none (or it is gone).
    pub fn pool(&self, id: &str) -> Option<Value> {
        self.sim(|sim, _| {
            let i = sim.pool(id).ok()?;
            (!sim.pools[i].gone).then(|| sim.pool_json(i))
        })
    }

    /// Every pool the account has now.
    pub fn pools(&self) -> Vec<Value> {
        self.sim(|sim, _| {
            (0..sim.pools.len())
                .filter(|i| !sim.pools[*i].gone)
                .map(|i| sim.pool_json(i))
                .collect()
        })
    }

    pub fn delete_pool(&self, id: &str) -> Result<(), SimError> {
        self.sim(|sim, now| sim.delete_pool(id, now))
            .map_err(|f| (f.status, f.code, f.message))
    }
}
