//! What a run may cost, at most: per pool, nodes × hourly price × hours, dedicated and
//! low-priority apart, from a [`Prices`] table the caller fetched (the public Azure Retail
//! Prices, in the account's region). Pure: the prices come in as data, and what is not known is
//! `None` ("unknown"), never a guess.
//!
//! - Nodes: the pool's fixed counts; an autoscale pool's maximum when its formula states one.
//! - Hours: every pool lives from the run's start to its end, so each pool's hours are the
//!   run's: the longest chain of jobs (by `after`), each job counting its `max_wall_clock`
//!   when set, otherwise the sum of the task timeouts along its longest dependency path (a task
//!   without a timeout makes it unknown).

use crate::graph::{Job, JobId, TaskId, Workflow};
use crate::stdlib::facts::{node_counts, pool_os};
use crate::stdlib::Os;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Hourly prices by VM size and OS.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Prices {
    pub currency: String,
    rows: BTreeMap<(String, bool), Hourly>,
}

/// One size's hourly prices on one OS; `None` where the price list has no row.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Hourly {
    pub dedicated: Option<f64>,
    pub low_priority: Option<f64>,
}

impl Prices {
    pub fn new(currency: &str) -> Prices {
        Prices {
            currency: currency.to_string(),
            rows: BTreeMap::new(),
        }
    }

    pub fn insert(&mut self, size: &str, windows: bool, hourly: Hourly) {
        self.rows.insert((size.to_ascii_lowercase(), windows), hourly);
    }

    pub fn get(&self, size: &str, windows: bool) -> Hourly {
        self.rows
            .get(&(size.to_ascii_lowercase(), windows))
            .copied()
            .unwrap_or_default()
    }
}

/// The estimate `plan --format json` carries as `"estimate"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub currency: String,
    /// The sum of the pools' upper bounds; `null` when one of them is unknown.
    pub upper_bound: Option<f64>,
    pub pools: Vec<PoolEstimate>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PoolEstimate {
    pub pool: String,
    pub vm_size: String,
    pub dedicated: Option<u32>,
    pub low_priority: Option<u32>,
    pub hourly_dedicated: Option<f64>,
    pub hourly_low_priority: Option<f64>,
    pub hours: Option<f64>,
    pub upper_bound: Option<f64>,
}

/// The VM sizes a workflow's pools use, with whether each is a Windows pool: what to price.
pub fn sizes(wf: &Workflow) -> Vec<(String, bool)> {
    let mut out: Vec<(String, bool)> = Vec::new();
    for pool in &wf.pools {
        let Some(size) = pool.vm_size.clone() else { continue };
        let windows = pool_os(pool) == Some(Os::Windows);
        if !out.iter().any(|(s, w)| s.eq_ignore_ascii_case(&size) && *w == windows) {
            out.push((size, windows));
        }
    }
    out
}

pub fn estimate(wf: &Workflow, prices: &Prices) -> Estimate {
    let hours = run_hours(wf);
    let pools: Vec<PoolEstimate> = wf
        .pools
        .iter()
        .map(|pool| {
            let size = pool.vm_size.clone().unwrap_or_default();
            let hourly = prices.get(&size, pool_os(pool) == Some(Os::Windows));
            let counts = node_counts(pool);
            let part = |nodes: Option<u32>, price: Option<f64>| match nodes {
                Some(0) => Some(0.0),
                Some(n) => Some(f64::from(n) * price? * hours?),
                None => None,
            };
            let upper_bound = match (
                part(counts.dedicated, hourly.dedicated),
                part(counts.low_priority, hourly.low_priority),
            ) {
                (Some(a), Some(b)) => Some(round_cents(a + b)),
                _ => None,
            };
            PoolEstimate {
                pool: pool.name.value.clone(),
                vm_size: size,
                dedicated: counts.dedicated,
                low_priority: counts.low_priority,
                hourly_dedicated: hourly.dedicated,
                hourly_low_priority: hourly.low_priority,
                hours,
                upper_bound,
            }
        })
        .collect();
    let upper_bound = pools
        .iter()
        .map(|p| p.upper_bound)
        .sum::<Option<f64>>()
        .map(round_cents);
    Estimate {
        currency: prices.currency.clone(),
        upper_bound,
        pools,
    }
}

fn round_cents(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The run's hours at most: the longest chain of jobs by `after`.
pub fn run_hours(wf: &Workflow) -> Option<f64> {
    let mut memo: HashMap<JobId, Option<u64>> = HashMap::new();
    let mut longest = 0u64;
    for i in 0..wf.jobs.len() {
        longest = longest.max(chain_seconds(wf, JobId(i as u32), &mut memo, 0)?);
    }
    Some(longest as f64 / 3600.0)
}

/// Seconds from the run's start to the end of `job`: its own bound after the longest of the
/// jobs it comes after. (The checker rules out cycles; `depth` guards against one anyway.)
fn chain_seconds(wf: &Workflow, id: JobId, memo: &mut HashMap<JobId, Option<u64>>, depth: usize) -> Option<u64> {
    if let Some(known) = memo.get(&id) {
        return *known;
    }
    let job = wf.job(id)?;
    let mut before = 0u64;
    if depth <= wf.jobs.len() {
        for a in &job.after {
            before = before.max(chain_seconds(wf, *a, memo, depth + 1)?);
        }
    }
    let total = job_seconds(wf, job).map(|own| before + own);
    memo.insert(id, total);
    total
}

/// One job's bound: `max_wall_clock`, else its longest dependency path of task timeouts.
fn job_seconds(wf: &Workflow, job: &Job) -> Option<u64> {
    if let Some(limit) = job.max_wall_clock {
        return Some(limit);
    }
    let ids: Vec<TaskId> = job
        .templates
        .iter()
        .filter_map(|t| wf.template(*t))
        .flat_map(|t| t.instances())
        .collect();
    let index: HashMap<TaskId, usize> = ids.iter().enumerate().map(|(i, t)| (*t, i)).collect();
    let mut parents: Vec<Vec<usize>> = vec![Vec::new(); ids.len()];
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); ids.len()];
    let mut own = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        let task = wf.task(*id)?;
        own.push(task.spec.timeout?);
        for dep in wf.dependencies(task) {
            if let Some(&p) = index.get(&dep) {
                parents[i].push(p);
                children[p].push(i);
            }
        }
    }
    // Longest path by Kahn's order: a task ends its timeout after its latest parent.
    let mut waiting: Vec<usize> = parents.iter().map(Vec::len).collect();
    let mut ready: Vec<usize> = (0..ids.len()).filter(|&i| waiting[i] == 0).collect();
    let mut ends = vec![0u64; ids.len()];
    let mut longest = 0u64;
    while let Some(i) = ready.pop() {
        let start = parents[i].iter().map(|&p| ends[p]).max().unwrap_or(0);
        ends[i] = start + own[i];
        longest = longest.max(ends[i]);
        for &c in &children[i] {
            waiting[c] -= 1;
            if waiting[c] == 0 {
                ready.push(c);
            }
        }
    }
    Some(longest)
}

/// Node-hours a run used on one pool, measured by the backend.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PoolHours {
    pub pool: String,
    pub dedicated_hours: f64,
    pub low_priority_hours: f64,
}

/// Node-hours in all, and what they cost at the estimate's prices (`None` when a price of a
/// pool that used nodes is unknown).
pub fn cost(used: &[PoolHours], estimate: &Estimate) -> (f64, Option<f64>) {
    let mut hours = 0.0;
    let mut cost = Some(0.0);
    for u in used.iter().filter(|u| u.dedicated_hours + u.low_priority_hours > 0.0) {
        hours += u.dedicated_hours + u.low_priority_hours;
        let prices = estimate.pools.iter().find(|p| p.pool == u.pool);
        let part = |h: f64, price: Option<f64>| if h == 0.0 { Some(0.0) } else { Some(h * price?) };
        let this = prices.and_then(|p| {
            Some(part(u.dedicated_hours, p.hourly_dedicated)? + part(u.low_priority_hours, p.hourly_low_priority)?)
        });
        cost = match (cost, this) {
            (Some(a), Some(b)) => Some(a + b),
            _ => None,
        };
    }
    (hours, cost.map(round_cents))
}

/// A number of money or hours, or `?` when unknown.
fn amount(x: Option<f64>, decimals: usize) -> String {
    x.map_or_else(|| "?".to_string(), |v| format!("{v:.decimals$}"))
}

/// The estimate for people: a line for the run, then one per pool.
pub fn describe(e: &Estimate) -> Vec<String> {
    let c = &e.currency;
    let hours = e.pools.iter().find_map(|p| p.hours);
    let mut out = vec![match (e.upper_bound, hours) {
        (Some(total), Some(h)) => format!("cost: at most {total:.2} {c} ({h:.1} h at pay-as-you-go prices)"),
        (Some(total), None) => format!("cost: at most {total:.2} {c}"),
        (None, _) => format!("cost: unknown in {c} (a price, a node count or the run's hours is not known)"),
    }];
    for p in &e.pools {
        let nodes = |n: Option<u32>| n.map_or_else(|| "?".to_string(), |n| n.to_string());
        out.push(format!(
            "  pool `{}` ({}): {} dedicated × {} + {} low-priority × {} {c}/h, × {} h = {} {c}",
            p.pool,
            p.vm_size,
            nodes(p.dedicated),
            amount(p.hourly_dedicated, 4),
            nodes(p.low_priority),
            amount(p.hourly_low_priority, 4),
            amount(p.hours, 1),
            amount(p.upper_bound, 2),
        ));
    }
    out
}
