//! Warm pools: a pool with `keep = 30m` (or any pool of a run with `--keep-pools`) outlives its
//! run. When the run ends, autoscaling is enabled on it with a formula that holds the pool at
//! its own size while it has tasks and shrinks it to no nodes once it has had none for the
//! keep time, so an idle pool costs nothing; the next run whose pool has the same
//! specification takes it as it is (see `exec/azure/runner/pools.rs`).
//!
//! "You can enable automatic scaling either when a pool is created, or on an existing pool"
//! (Batch's article on automatic scaling); the formula is written in the language BF224 checks,
//! and a test holds it to that checker.

use super::batch_api::PoolAddParameter;
use crate::value::{format_duration, iso8601};
use serde::{Deserialize, Serialize};

/// How long a pool of `--keep-pools` may be idle before it shrinks, unless it says `keep`.
pub const DEFAULT_IDLE_SECS: u64 = 30 * 60;
/// Autoscale's shortest evaluation interval ("The minimum interval is five minutes"): how
/// soon after the keep time a kept pool shrinks, at the latest.
pub const EVALUATION_SECS: u64 = 5 * 60;

/// A pool the run leaves behind when it ends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keep {
    pub pool: String,
    /// How long it may be idle before it shrinks to no nodes (ISO 8601, `PT30M`).
    pub idle: String,
}

impl Keep {
    pub fn new(pool: &str, idle_secs: u64) -> Keep {
        Keep {
            pool: pool.to_string(),
            idle: iso8601(idle_secs),
        }
    }
}

/// The body of `POST /pools/{pool}/enableautoscale` that a kept pool gets.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnableAutoScale {
    pub auto_scale_formula: String,
    pub auto_scale_evaluation_interval: String,
}

/// What a kept pool is left with: the idle formula of `pool` (its body), evaluated every five
/// minutes.
pub fn enable_body(pool: &PoolAddParameter, idle_secs: u64) -> EnableAutoScale {
    EnableAutoScale {
        auto_scale_formula: idle_formula(pool, idle_secs),
        auto_scale_evaluation_interval: iso8601(EVALUATION_SECS),
    }
}

/// The formula: any task of the pool pending or running now or in the last `idle_secs` keeps
/// the pool at its own size (its node counts, or what its own formula says), else it goes to
/// no nodes, letting running tasks finish first.
pub fn idle_formula(pool: &PoolAddParameter, idle_secs: u64) -> String {
    let minutes = idle_secs.div_ceil(60).max(1);
    let busy = format!(
        "// batchflow keep = {}: the pool's own size while it has tasks, no nodes once it has had none for that long\n\
         $bf_busy = max(0, $PendingTasks.GetSample(1), $PendingTasks.GetSample(TimeInterval_Minute * {minutes}));\n",
        format_duration(idle_secs)
    );
    let mut out = String::new();
    match pool
        .auto_scale_formula
        .as_deref()
        .filter(|_| pool.enable_auto_scale == Some(true))
    {
        Some(own) => {
            let own = own.trim_end();
            out.push_str(own);
            if !own.ends_with(';') {
                out.push(';');
            }
            out.push('\n');
            out.push_str(&busy);
            // The formula's own targets while busy; a formula that sets the aliases keeps them.
            for (full, alias) in [
                ("$TargetDedicatedNodes", "$TargetDedicated"),
                ("$TargetLowPriorityNodes", "$TargetLowPriority"),
            ] {
                let name = if own.contains(alias) && !own.contains(full) {
                    alias
                } else {
                    full
                };
                out.push_str(&format!("{name} = $bf_busy > 0 ? {name} : 0;\n"));
            }
        }
        None => {
            out.push_str(&busy);
            let dedicated = pool.target_dedicated_nodes.unwrap_or(0);
            let low = pool.target_low_priority_nodes.unwrap_or(0);
            out.push_str(&format!("$TargetDedicatedNodes = $bf_busy > 0 ? {dedicated} : 0;\n"));
            out.push_str(&format!("$TargetLowPriorityNodes = $bf_busy > 0 ? {low} : 0;\n"));
        }
    }
    out.push_str("$NodeDeallocationOption = taskcompletion;\n");
    out
}

/// `keep = 30m` as the plan's summary says it.
pub fn describe(idle_secs: u64) -> String {
    format!(
        "kept after the run: no nodes once it has had no tasks for {}",
        format_duration(idle_secs)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fixed_pool_keeps_its_size_while_busy() {
        let pool = PoolAddParameter {
            target_dedicated_nodes: Some(4),
            target_low_priority_nodes: Some(2),
            ..PoolAddParameter::default()
        };
        let f = idle_formula(&pool, 30 * 60);
        assert!(f.contains("TimeInterval_Minute * 30"), "{f}");
        assert!(f.contains("$TargetDedicatedNodes = $bf_busy > 0 ? 4 : 0;"), "{f}");
        assert!(f.contains("$TargetLowPriorityNodes = $bf_busy > 0 ? 2 : 0;"), "{f}");
        assert_eq!(enable_body(&pool, 90).auto_scale_evaluation_interval, "PT5M");
    }

    #[test]
    fn an_autoscale_pool_keeps_its_own_formula_and_its_aliases() {
        let pool = PoolAddParameter {
            enable_auto_scale: Some(true),
            auto_scale_formula: Some("$TargetDedicated = 3".into()),
            ..PoolAddParameter::default()
        };
        let f = idle_formula(&pool, 600);
        assert!(f.starts_with("$TargetDedicated = 3;\n"), "{f}");
        assert!(
            f.contains("$TargetDedicated = $bf_busy > 0 ? $TargetDedicated : 0;"),
            "{f}"
        );
        assert!(
            f.contains("$TargetLowPriorityNodes = $bf_busy > 0 ? $TargetLowPriorityNodes : 0;"),
            "{f}"
        );
    }
}
