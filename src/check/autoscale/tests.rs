//! Every formula of Batch's article "Create a formula to automatically scale compute nodes in
//! a Batch pool" (MicrosoftDocs/azure-docs, `articles/batch/batch-automatic-scaling.md`) checks
//! clean, and each kind of problem is found at the right bytes.

use super::{analyze, Finding, MAX_DEPTH};
use crate::diagnostics::Severity;

/// The formulas of the article, in its order. The schematic
/// `$myNewVariable = function($ServiceDefinedVariable, $myCustomVariable);` is left out: it
/// shows the shape of a statement, with a placeholder where a function name goes.
const ARTICLE: &[(&str, &str)] = &[
    (
        "sample: pending tasks",
        "startingNumberOfVMs = 1;
maxNumberofVMs = 25;
pendingTaskSamplePercent = $PendingTasks.GetSamplePercent(180 * TimeInterval_Second);
pendingTaskSamples = pendingTaskSamplePercent < 70 ? startingNumberOfVMs : avg($PendingTasks.GetSample(180 * TimeInterval_Second));
$TargetDedicatedNodes=min(maxNumberofVMs, pendingTaskSamples);
$NodeDeallocationOption = taskcompletion;",
    ),
    (
        "sample: preempted nodes",
        "maxNumberofVMs = 25;
$TargetDedicatedNodes = min(maxNumberofVMs, $PreemptedNodeCount.GetSample(180 * TimeInterval_Second));
$TargetLowPriorityNodes = min(maxNumberofVMs , maxNumberofVMs - $TargetDedicatedNodes);
$NodeDeallocationOption = taskcompletion;",
    ),
    (
        "GetSample and sample ranges",
        "$runningTasksSample = $RunningTasks.GetSample(1 * TimeInterval_Minute, 6 * TimeInterval_Minute);
$runningTasksSample = $RunningTasks.GetSample(60 * TimeInterval_Second, 120 * TimeInterval_Second, 75);
$TargetDedicatedNodes = max($runningTasksSample);",
    ),
    (
        "write an autoscale formula: the complete formula",
        "$totalDedicatedNodes =
    (min($CPUPercent.GetSample(TimeInterval_Minute * 10)) > 0.7) ?
    ($CurrentDedicatedNodes * 1.1) : $CurrentDedicatedNodes;
$totalDedicatedNodes =
    (avg($CPUPercent.GetSample(TimeInterval_Minute * 60)) < 0.2) ?
    ($CurrentDedicatedNodes * 0.9) : $totalDedicatedNodes;
$TargetDedicatedNodes = min(400, $totalDedicatedNodes)",
    ),
    (
        "write an autoscale formula: with the deallocation option",
        "$totalDedicatedNodes =
    (min($CPUPercent.GetSample(TimeInterval_Minute * 10)) > 0.7) ?
    ($CurrentDedicatedNodes * 1.1) : $CurrentDedicatedNodes;
$totalDedicatedNodes =
    (avg($CPUPercent.GetSample(TimeInterval_Minute * 60)) < 0.2) ?
    ($CurrentDedicatedNodes * 0.9) : $totalDedicatedNodes;
$TargetDedicatedNodes = min(400, $totalDedicatedNodes);
$NodeDeallocationOption = taskcompletion;",
    ),
    (".NET: create a pool", "$TargetDedicatedNodes = (time().weekday == 1 ? 5:1);"),
    (
        "Python: create a pool",
        "$curTime = time();
             $workHours = $curTime.hour >= 8 && $curTime.hour < 18;
             $isWeekday = $curTime.weekday >= 1 && $curTime.weekday <= 5;
             $isWorkingWeekdayHour = $workHours && $isWeekday;
             $TargetDedicated = $isWorkingWeekdayHour ? 20:10;",
    ),
    ("evaluate: a valid formula that does not resize", "$TargetDedicatedNodes = $CurrentDedicatedNodes;"),
    ("evaluate: the one-line formula", "$TargetDedicatedNodes = 0"),
    (
        "evaluate: the formula to test",
        "
        $curTime = time();
        $workHours = $curTime.hour >= 8 && $curTime.hour < 18;
        $isWeekday = $curTime.weekday >= 1 && $curTime.weekday <= 5;
        $isWorkingWeekdayHour = $workHours && $isWeekday;
        $TargetDedicatedNodes = $isWorkingWeekdayHour ? 20:10;
    ",
    ),
    (
        "example 1: time-based adjustment",
        "$curTime = time();
$workHours = $curTime.hour >= 8 && $curTime.hour < 18;
$isWeekday = $curTime.weekday >= 1 && $curTime.weekday <= 5;
$isWorkingWeekdayHour = $workHours && $isWeekday;
$TargetDedicatedNodes = $isWorkingWeekdayHour ? 20:10;
$NodeDeallocationOption = taskcompletion;",
    ),
    (
        "example 1: a local time zone",
        "$curTime = time() + (-6 * TimeInterval_Hour);
$TargetDedicatedNodes = $curTime.hour >= 8 && $curTime.hour < 18 ? 20 : 10;",
    ),
    (
        "example 2: task-based adjustment",
        "// Get pending tasks for the past 15 minutes.
$samples = $PendingTasks.GetSamplePercent(TimeInterval_Minute * 15);
// If we have fewer than 70 percent data points, we use the last sample point,
// otherwise we use the maximum of last sample point and the history average.
$tasks = $samples < 70 ? max(0,$PendingTasks.GetSample(1)) : max( $PendingTasks.GetSample(1), avg($PendingTasks.GetSample(TimeInterval_Minute * 15)));
// If number of pending tasks is not 0, set targetVM to pending tasks, otherwise
// half of current dedicated.
$targetVMs = $tasks > 0? $tasks:max(0, $TargetDedicatedNodes/2);
// The pool size is capped at 20, if target VM value is more than that, set it
// to 20. This value should be adjusted according to your use case.
$TargetDedicatedNodes = max(0, min($targetVMs, 20));
// Set node deallocation mode - let running tasks finish before removing a node
$NodeDeallocationOption = taskcompletion;",
    ),
    (
        "example 2 as the current article writes it",
        "// In this example, the pool size
// is adjusted based on the number of tasks in the queue.
// Note that both comments and line breaks are acceptable in formula strings.

// Get pending tasks for the past 15 minutes.
$samples = $ActiveTasks.GetSamplePercent(TimeInterval_Minute * 15);
// If we have fewer than 70 percent data points, we use the last sample point, otherwise we use the maximum of last sample point and the history average.
$tasks = $samples < 70 ? max(0, $ActiveTasks.GetSample(1)) :
max( $ActiveTasks.GetSample(1), avg($ActiveTasks.GetSample(TimeInterval_Minute * 15)));
// If number of pending tasks is not 0, set targetVM to pending tasks, otherwise half of current dedicated.
$targetVMs = $tasks > 0 ? $tasks : max(0, $TargetDedicatedNodes / 2);
// The pool size is capped at 20, if target VM value is more than that, set it to 20. This value should be adjusted according to your use case.
cappedPoolSize = 20;
$TargetDedicatedNodes = max(0, min($targetVMs, cappedPoolSize));
// Set node deallocation mode - keep nodes active only until tasks finish
$NodeDeallocationOption = taskcompletion;",
    ),
    (
        "example 3: accounting for parallel tasks",
        "// Determine whether 70 percent of the samples have been recorded in the past
// 15 minutes; if not, use last sample
$samples = $ActiveTasks.GetSamplePercent(TimeInterval_Minute * 15);
$tasks = $samples < 70 ? max(0,$ActiveTasks.GetSample(1)) : max( $ActiveTasks.GetSample(1),avg($ActiveTasks.GetSample(TimeInterval_Minute * 15)));
// Set the number of nodes to add to one-fourth the number of active tasks (the
// MaxTasksPerComputeNode property on this pool is set to 4, adjust this number
// for your use case)
$cores = $TargetDedicatedNodes * 4;
$extraVMs = (($tasks - $cores) + 3) / 4;
$targetVMs = ($TargetDedicatedNodes + $extraVMs);
// Attempt to grow the number of compute nodes to match the number of active
// tasks, with a maximum of 3
$TargetDedicatedNodes = max(0,min($targetVMs,3));
// Keep the nodes active until the tasks finish
$NodeDeallocationOption = taskcompletion;",
    ),
    (
        "example 4: setting an initial pool size (C#'s `{0}`, `{1}` and `\"\"` filled in)",
        "
    $TargetDedicatedNodes = 4;
    lifespan         = time() - time(\"Mon, 23 Nov 2026 09:00:00 GMT\");
    span             = TimeInterval_Minute * 60;
    startup          = TimeInterval_Minute * 10;
    ratio            = 50;

    $TargetDedicatedNodes = (lifespan > startup ? (max($RunningTasks.GetSample(span, ratio), $ActiveTasks.GetSample(span, ratio)) == 0 ? 0 : $TargetDedicatedNodes) : 4);
    ",
    ),
];

fn errors(findings: &[Finding]) -> Vec<&Finding> {
    findings.iter().filter(|f| f.severity == Severity::Error).collect()
}

/// The one finding of `formula`, with the text it points at.
fn one(formula: &str) -> (Finding, &str) {
    let found = analyze(formula);
    assert_eq!(found.len(), 1, "{formula}: {found:#?}");
    let f = found.into_iter().next().expect("one finding");
    let at = formula.get(f.range.clone()).expect("range inside the formula");
    (f, at)
}

#[test]
fn every_formula_of_the_article_checks_clean() {
    for (name, formula) in ARTICLE {
        assert_eq!(analyze(formula), Vec::new(), "{name}");
    }
}

#[test]
fn the_articles_expressions_parse_as_statements() {
    for expr in [
        "$CPUPercent.GetSample(TimeInterval_Minute * 5)",
        "$CPUPercent.GetSample(TimeInterval_Minute * 10, 95)",
        "$runningTasksSample=[1,1,1,1,1,1,1,1,1,1];",
    ] {
        let found = analyze(expr);
        assert!(errors(&found).is_empty(), "{expr}: {found:#?}");
    }
}

#[test]
fn a_missing_semicolon_is_a_syntax_error_at_the_next_statement() {
    // The article's own note: "missing semicolons may result in evaluation errors".
    let (f, at) = one("$TargetDedicatedNodes = min(400, $total)\n$NodeDeallocationOption = taskcompletion;");
    assert_eq!(at, "$NodeDeallocationOption");
    assert_eq!(f.severity, Severity::Error);
    assert!(f.message.contains("expected `;`"), "{f:?}");
    assert!(f.help.contains("end each statement with `;`"), "{f:?}");
}

#[test]
fn syntax_errors_say_what_was_expected() {
    let cases = [
        ("$TargetDedicatedNodes = 7 % 2;", "%", "has no `%`"),
        ("$TargetDedicatedNodes = ;", ";", "expected a value"),
        (
            "$TargetDedicatedNodes = max(1, 2;",
            ";",
            "expected `)`, `,` or an operator",
        ),
        ("$TargetDedicatedNodes = max(1", "", "close every `(`"),
        ("$TargetDedicatedNodes = 1 /* two */;", "/*", "comments start with `//`"),
        ("$t = time('2026-01-01');", "'", "double quotes"),
        ("$TargetDedicatedNodes = 1 = 2;", "=", "compare with `==`"),
        ("$TargetDedicatedNodes = $a ? 1;", ";", "expected `:`"),
        ("$TargetDedicatedNodes = [1, 2;", ";", "`]`"),
    ];
    for (formula, token, says) in cases {
        let (f, at) = one(formula);
        assert_eq!(at, token, "{formula}: {f:?}");
        assert!(f.message.contains(says) || f.help.contains(says), "{formula}: {f:?}");
    }
    let (f, at) = one("$t = time(\"2026-01-01);");
    assert_eq!(
        (at, f.message.as_str()),
        ("\"", "a string in the autoscale formula is not closed")
    );
}

#[test]
fn unknown_variables_get_a_suggestion() {
    let (f, at) = one("$TargetDedicatedNodes = $PendingTask.GetSample(1);");
    assert_eq!(at, "$PendingTask");
    assert_eq!(f.message, "unknown variable `$PendingTask` in the autoscale formula");
    assert_eq!(f.help, "did you mean `$PendingTasks`?");
    let (f, at) = one("$TargetDedicatedNodes = $PendingTasks.GetSample(TimeInterval_Minutes * 5);");
    assert_eq!(
        (at, f.help.as_str()),
        ("TimeInterval_Minutes", "did you mean `TimeInterval_Minute`?")
    );
    let (f, _) = one("$NodeDeallocationOption = taskcompleted; $TargetDedicatedNodes = 1;");
    assert_eq!(f.help, "did you mean `taskcompletion`?");
    let (f, _) = one("$TargetDedicatedNodes = $pendingtasks;");
    assert_eq!(f.help, "did you mean `$PendingTasks`?");
    // Asked for in Azure/Batch#118 and #151, never added.
    let (f, at) = one("$TargetDedicatedNodes = $PendingTaskSlots / 4;");
    assert_eq!(at, "$PendingTaskSlots");
    assert!(f.message.starts_with("unknown variable"));
}

#[test]
fn user_variables_are_known_from_their_statement_on_with_or_without_dollar() {
    assert_eq!(analyze("$n = 2; $TargetDedicatedNodes = n + $n;"), Vec::new());
    let (f, at) = one("$TargetDedicatedNodes = $n; $n = 2;");
    assert_eq!(at, "$n");
    assert_eq!(f.message, "`$n` is read before the statement that sets it");
    let (_, at) = one("$n = $n + 1; $TargetDedicatedNodes = $n;");
    assert_eq!(at, "$n");
}

#[test]
fn read_only_variables_and_constants_cannot_be_set() {
    let (f, at) = one("$PendingTasks = 3; $TargetDedicatedNodes = $PendingTasks;");
    assert_eq!(at, "$PendingTasks");
    assert_eq!(f.message, "`$PendingTasks` is read-only: Batch sets it");
    let (f, at) = one("TimeInterval_Minute = 5; $TargetDedicatedNodes = 1;");
    assert_eq!(at, "TimeInterval_Minute");
    assert!(f.message.contains("constants"));
}

#[test]
fn unknown_functions_methods_and_members() {
    let cases = [
        ("$TargetDedicatedNodes = Max(1, 2);", "Max", "did you mean `max`?"),
        (
            "$TargetDedicatedNodes = average(1, 2);",
            "average",
            "the functions are `avg`, `len`",
        ),
        ("$TargetDedicatedNodes = GetSample(1);", "GetSample", "is a method"),
        (
            "$TargetDedicatedNodes = $PendingTasks.GetSamples(1);",
            "GetSamples",
            "did you mean `GetSample`?",
        ),
        (
            "$TargetDedicatedNodes = $PendingTasks.Count;",
            "Count",
            "write `.Count()`",
        ),
        ("$TargetDedicatedNodes = time().hour();", "hour", "without parentheses"),
        ("$TargetDedicatedNodes = time().hours;", "hours", "did you mean `hour`?"),
        ("$TargetDedicatedNodes = time().zone;", "zone", "the methods are"),
    ];
    for (formula, token, says) in cases {
        let (f, at) = one(formula);
        assert_eq!(at, token, "{formula}");
        assert!(f.message.contains(says) || f.help.contains(says), "{formula}: {f:?}");
    }
}

#[test]
fn argument_counts_the_article_fixes() {
    let cases = [
        ("val($v)", "`val` takes 2 arguments, found 1"),
        ("percentile($v, 50, 1)", "`percentile` takes 2 arguments, found 3"),
        ("rand(1)", "`rand` takes no arguments, found 1"),
        ("time(\"a\", \"b\")", "`time` takes 0 to 1 arguments, found 2"),
        ("GetSample()", "`GetSample` takes 1 to 3 arguments, found 0"),
        ("GetSample(1, 2, 3, 4)", "`GetSample` takes 1 to 3 arguments, found 4"),
        (
            "GetSamplePercent(1, 2, 3)",
            "`GetSamplePercent` takes 1 to 2 arguments, found 3",
        ),
    ];
    for (call, message) in cases {
        let receiver = if call.starts_with("Get") { "$PendingTasks." } else { "" };
        let formula = format!("$v = 1; $TargetDedicatedNodes = {receiver}{call};");
        let (f, at) = one(&formula);
        assert_eq!(at, call, "{formula}");
        assert_eq!(f.message, message);
    }
    for fine in [
        "avg()",
        "max(1, 2, 3, $v)",
        "lg($v)",
        "time()",
        "$PendingTasks.Count()",
        "stop()",
    ] {
        assert_eq!(
            analyze(&format!("$v = 1; $TargetDedicatedNodes = {fine};")),
            Vec::new(),
            "{fine}"
        );
    }
}

#[test]
fn a_formula_that_never_sizes_the_pool_is_a_warning() {
    let formula = "$pending = $PendingTasks.GetSample(1);\n$NodeDeallocationOption = taskcompletion;";
    let (f, at) = one(formula);
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(at, formula.trim_end_matches(';'));
    let (f, at) = one("$TargetDedicatedNode = 4;");
    assert_eq!(at, "$TargetDedicatedNode");
    assert!(f.help.ends_with("did you mean `$TargetDedicatedNodes`?"), "{f:?}");
    let (f, _) = one("// only a comment\n");
    assert_eq!(f.severity, Severity::Warning);
    for sets in [
        "$TargetLowPriorityNodes = 2;",
        "$TargetDedicated = 2;",
        "$TargetLowPriority = 2;",
    ] {
        assert_eq!(analyze(sets), Vec::new(), "{sets}");
    }
}

#[test]
fn more_than_100_statements() {
    let formula = format!("{}$TargetDedicatedNodes = 1;", "$a = 1;\n".repeat(100));
    let (f, at) = one(&formula);
    assert_eq!(at, "$TargetDedicatedNodes = 1");
    assert_eq!(f.message, "the autoscale formula has 101 statements, more than 100");
    let fine = format!("{}$TargetDedicatedNodes = 1;", "$a = 1;\n".repeat(99));
    assert_eq!(analyze(&fine), Vec::new());
}

#[test]
fn nesting_past_the_limit_is_left_unchecked_with_a_warning() {
    let deep = format!(
        "$TargetDedicatedNodes = {}1{};",
        "(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    let (f, at) = one(&deep);
    assert_eq!((f.severity, at), (Severity::Warning, "("));
    let limit = format!(
        "$TargetDedicatedNodes = {}1{};",
        "(".repeat(MAX_DEPTH),
        ")".repeat(MAX_DEPTH)
    );
    assert_eq!(analyze(&limit), Vec::new());
    let chain = format!(
        "$TargetDedicatedNodes = {}0;",
        "$CurrentDedicatedNodes > 1 ? 1 : ".repeat(2000)
    );
    assert_eq!(analyze(&chain), Vec::new());
}

#[test]
fn the_deepest_nesting_checked_fits_a_small_stack() {
    let n = MAX_DEPTH;
    let formulas = [
        format!("$TargetDedicatedNodes = {}1{};", "max(-".repeat(n), ")".repeat(n)),
        format!(
            "$TargetDedicatedNodes = {}1{};",
            "$PendingTasks.GetSample(!".repeat(n),
            ")".repeat(n)
        ),
        format!(
            "$TargetDedicatedNodes = {}1{};",
            "$PendingTasks > 1 ? ".repeat(n),
            " : 2".repeat(n)
        ),
        format!("$TargetDedicatedNodes = {}1{};", "[".repeat(n), "]".repeat(n)),
    ];
    // Half the 2 MiB a test thread gets, in a debug build. (Past its stack, pest stops with
    // an error rather than overflowing, which `analyze` reports as too deep to check.)
    let worker = std::thread::Builder::new()
        .stack_size(1024 * 1024)
        .spawn(move || formulas.iter().map(|f| analyze(f)).collect::<Vec<_>>());
    let results = worker.expect("thread").join().expect("no stack overflow");
    assert!(results.iter().all(Vec::is_empty), "{results:#?}");
}
