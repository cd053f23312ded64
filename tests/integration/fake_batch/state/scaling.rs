//! What a kept pool goes through: autoscaling enabled on an existing pool (its target then
//! read from the formula as at creation), disabled again (the targets stay as they were), and
//! its metadata replaced.
//!
//! Batch's rules, from the swagger's `Pool_EnableAutoScale`: "You cannot enable automatic
//! scaling on a Pool if a resize operation is in progress on the Pool. If automatic scaling of
//! the Pool is currently disabled, you must specify a valid autoscale formula as part of the
//! request. [...] You cannot call this API for the same Pool more than once every 30 seconds."
//! `Pool_Patch`: "This only replaces the Pool properties specified in the request."

use super::*;

impl Sim {
    fn live_pool(&self, id: &str) -> Result<usize, Failure> {
        let i = self.pool(id)?;
        if self.pools[i].deleting {
            return Err(fail(
                409,
                "PoolBeingDeleted",
                "The specified pool has been marked for deletion.",
            ));
        }
        Ok(i)
    }

    /// `POST /pools/{id}/enableautoscale`; `spacing` is how long Batch wants between two.
    pub fn enable_autoscale(
        &mut self,
        id: &str,
        body: &Value,
        now: Instant,
        spacing: Duration,
        faults: &Faults,
    ) -> Result<(), Failure> {
        let i = self.live_pool(id)?;
        let p = &self.pools[i];
        if p.allocation != Allocation::Steady {
            return Err(fail(
                409,
                "PoolBeingResized",
                "Automatic scaling cannot be enabled while the pool is being resized.",
            ));
        }
        if p.last_enable.is_some_and(|t| now.duration_since(t) < spacing) {
            return Err(fail(
                409,
                "TooManyEnableAutoScaleRequests",
                "Automatic scaling can be enabled on a pool at most once every 30 seconds.",
            ));
        }
        let formula = body["autoScaleFormula"]
            .as_str()
            .map(str::to_string)
            .or_else(|| p.body["autoScaleFormula"].as_str().map(str::to_string));
        let Some(formula) = formula else {
            return Err(fail(
                400,
                "MissingRequiredProperty",
                "A pool without automatic scaling needs autoScaleFormula to enable it.",
            ));
        };
        let dedicated = formula_target(&formula, "$TargetDedicatedNodes").unwrap_or(1);
        let low = formula_target(&formula, "$TargetLowPriorityNodes").unwrap_or(0);
        let etag = self.next_etag();
        let p = &mut self.pools[i];
        p.last_enable = Some(now);
        p.body["enableAutoScale"] = json!(true);
        p.body["autoScaleFormula"] = json!(formula);
        if let Some(interval) = body.get("autoScaleEvaluationInterval") {
            p.body["autoScaleEvaluationInterval"] = interval.clone();
        }
        if let Some(m) = p.body.as_object_mut() {
            m.remove("targetDedicatedNodes");
            m.remove("targetLowPriorityNodes");
        }
        p.etag = etag;
        p.modified = now;
        if (dedicated, low) != (p.target_dedicated, p.target_low) {
            p.target_dedicated = dedicated;
            p.target_low = low;
            self.start_resize(i, now, faults);
        }
        Ok(())
    }

    /// `POST /pools/{id}/disableautoscale`: the pool stays at its current target.
    pub fn disable_autoscale(&mut self, id: &str, now: Instant) -> Result<(), Failure> {
        let i = self.live_pool(id)?;
        let etag = self.next_etag();
        let p = &mut self.pools[i];
        p.body["enableAutoScale"] = json!(false);
        if let Some(m) = p.body.as_object_mut() {
            m.remove("autoScaleFormula");
            m.remove("autoScaleEvaluationInterval");
        }
        p.etag = etag;
        p.modified = now;
        Ok(())
    }

    /// `PATCH /pools/{id}`: the properties given replace the pool's (the fake keeps only
    /// `metadata` and `startTask` apart from what it shows back).
    pub fn patch_pool(&mut self, id: &str, body: &Value, now: Instant) -> Result<(), Failure> {
        let i = self.live_pool(id)?;
        let etag = self.next_etag();
        let p = &mut self.pools[i];
        if let Value::Object(changes) = body {
            for (k, v) in changes {
                p.body[k.as_str()] = v.clone();
            }
        }
        p.etag = etag;
        p.modified = now;
        Ok(())
    }

    /// Every pool not yet gone, as `GET /pools` lists them.
    pub fn pools_json(&self) -> Vec<Value> {
        (0..self.pools.len())
            .filter(|i| !self.pools[*i].gone)
            .map(|i| self.pool_json(i))
            .collect()
    }
}
