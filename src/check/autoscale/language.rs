//! What the autoscale formula language knows by name, as Batch's article "Create a formula to
//! automatically scale compute nodes in a Batch pool" lists it
//! (learn.microsoft.com/azure/batch/batch-automatic-scaling; MicrosoftDocs/azure-docs,
//! `articles/batch/batch-automatic-scaling.md`): its service-defined variables, functions,
//! sample methods, timestamp members and constants. A name not listed is one Batch does not
//! know; `docs/rules/BF224.md` quotes the tables.

/// The read-write service-defined variables, with the aliases the article's note gives
/// ("`$TargetDedicatedNodes` ... can also be specified using the alias `$TargetDedicated`").
pub const READ_WRITE: &[&str] = &[
    "$TargetDedicatedNodes",
    "$TargetLowPriorityNodes",
    "$NodeDeallocationOption",
    "$TargetDedicated",
    "$TargetLowPriority",
];

/// Setting one of these sizes the pool; a formula that sets none never changes it.
pub const TARGETS: &[&str] = &[
    "$TargetDedicatedNodes",
    "$TargetLowPriorityNodes",
    "$TargetDedicated",
    "$TargetLowPriority",
];

/// The read-only service-defined variables: metrics and counts a formula reads.
pub const READ_ONLY: &[&str] = &[
    "$CPUPercent",
    "$WallClockSeconds",
    "$MemoryBytes",
    "$DiskBytes",
    "$DiskReadBytes",
    "$DiskWriteBytes",
    "$DiskReadOps",
    "$DiskWriteOps",
    "$NetworkInBytes",
    "$NetworkOutBytes",
    "$SampleNodeCount",
    "$ActiveTasks",
    "$RunningTasks",
    "$PendingTasks",
    "$SucceededTasks",
    "$FailedTasks",
    "$TaskSlotsPerNode",
    "$CurrentDedicatedNodes",
    "$CurrentLowPriorityNodes",
    "$UsableNodeCount",
    "$PreemptedNodeCount",
];

/// Names without `$` that Batch defines: the `timeinterval` constants and the values of
/// `$NodeDeallocationOption`.
pub const CONSTANTS: &[&str] = &[
    "TimeInterval_Zero",
    "TimeInterval_100ns",
    "TimeInterval_Microsecond",
    "TimeInterval_Millisecond",
    "TimeInterval_Second",
    "TimeInterval_Minute",
    "TimeInterval_Hour",
    "TimeInterval_Day",
    "TimeInterval_Week",
    "TimeInterval_Year",
    "requeue",
    "terminate",
    "taskcompletion",
    "retaineddata",
];

/// The members of a `timestamp` (`time().weekday`).
pub const MEMBERS: &[&str] = &["year", "month", "day", "weekday", "hour", "minute", "second"];

/// A function or method and the arguments it takes, as the article writes it.
pub struct Callable {
    pub name: &'static str,
    /// How many arguments it takes, when the article fixes it; `None` for a list
    /// (`doubleVecList`) or where the article gives no signature.
    pub arity: Option<(usize, usize)>,
    pub signature: &'static str,
}

const fn list(name: &'static str, signature: &'static str) -> Callable {
    Callable {
        name,
        arity: None,
        signature,
    }
}

const fn fixed(name: &'static str, min: usize, max: usize, signature: &'static str) -> Callable {
    Callable {
        name,
        arity: Some((min, max)),
        signature,
    }
}

/// The article's function table. `lg`, `ln` and `log` take a `double` or a `doubleVecList`,
/// and a `doubleVecList` is any number of values, so only the other signatures fix a count.
pub const FUNCTIONS: &[Callable] = &[
    list("avg", "avg(doubleVecList)"),
    list("len", "len(doubleVecList)"),
    list("lg", "lg(double) or lg(doubleVecList)"),
    list("ln", "ln(double) or ln(doubleVecList)"),
    list("log", "log(double) or log(doubleVecList)"),
    list("max", "max(doubleVecList)"),
    list("min", "min(doubleVecList)"),
    list("norm", "norm(doubleVecList)"),
    fixed("percentile", 2, 2, "percentile(doubleVec v, double p)"),
    fixed("rand", 0, 0, "rand()"),
    list("range", "range(doubleVecList)"),
    list("std", "std(doubleVecList)"),
    fixed("stop", 0, 0, "stop()"),
    list("sum", "sum(doubleVecList)"),
    fixed("time", 0, 1, "time(string dateTime=\"\")"),
    fixed("val", 2, 2, "val(doubleVec v, double i)"),
];

/// The methods of the service-defined variables ("Obtain sample data"). Only `GetSample` and
/// `GetSamplePercent` have signatures in the article.
pub const METHODS: &[Callable] = &[
    fixed(
        "GetSample",
        1,
        3,
        "GetSample(count), GetSample(startTime [, samplePercent]) or GetSample(startTime, endTime [, samplePercent])",
    ),
    list("GetSamplePeriod", "GetSamplePeriod()"),
    list("Count", "Count()"),
    list("HistoryBeginTime", "HistoryBeginTime()"),
    fixed("GetSamplePercent", 1, 2, "GetSamplePercent(startTime [, endTime])"),
];

pub fn function(name: &str) -> Option<&'static Callable> {
    FUNCTIONS.iter().find(|f| f.name == name)
}

pub fn method(name: &str) -> Option<&'static Callable> {
    METHODS.iter().find(|m| m.name == name)
}

/// A service-defined variable (read-only or read-write).
pub fn is_service(name: &str) -> bool {
    READ_WRITE.contains(&name) || READ_ONLY.contains(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variable_is_written_with_a_dollar_and_listed_once() {
        let all: Vec<&str> = READ_WRITE.iter().chain(READ_ONLY).copied().collect();
        for v in &all {
            assert!(v.starts_with('$'), "{v}");
            assert_eq!(all.iter().filter(|w| *w == v).count(), 1, "{v}");
        }
        assert!(TARGETS.iter().all(|t| READ_WRITE.contains(t)));
        assert!(CONSTANTS.iter().all(|c| !c.starts_with('$')));
    }
}
