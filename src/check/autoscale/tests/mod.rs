//! Each kind of problem BF224 reports, found at the right bytes. `article.rs` holds every
//! formula of Batch's article, which must check clean; `never_panics.rs` feeds it garbage.

mod article;
mod never_panics;

use super::{analyze, Finding, MAX_DEPTH};
use crate::diagnostics::Severity;

/// The one finding of `formula`, with the text it points at.
fn one(formula: &str) -> (Finding, &str) {
    let found = analyze(formula);
    assert_eq!(found.len(), 1, "{formula}: {found:#?}");
    let f = found.into_iter().next().expect("one finding");
    let at = formula.get(f.range.clone()).expect("range inside the formula");
    (f, at)
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
    // A quarter of the 2 MiB a test thread gets, in a debug build: the parser's recursion is
    // bounded by MAX_DEPTH, so no formula can exhaust the stack.
    let worker = std::thread::Builder::new()
        .stack_size(512 * 1024)
        .spawn(move || formulas.iter().map(|f| analyze(f)).collect::<Vec<_>>());
    let results = worker.expect("thread").join().expect("no stack overflow");
    assert!(results.iter().all(Vec::is_empty), "{results:#?}");
}

#[test]
fn the_idle_formula_of_a_kept_pool_checks_clean() {
    use crate::plan::batch_api::PoolAddParameter;
    use crate::plan::keep::idle_formula;
    let fixed = PoolAddParameter {
        target_dedicated_nodes: Some(4),
        target_low_priority_nodes: Some(2),
        ..PoolAddParameter::default()
    };
    assert_eq!(analyze(&idle_formula(&fixed, 30 * 60)), Vec::new());
    // A pool with a formula of its own (the article's "Pending tasks" example, and one that
    // sets the aliases) keeps it, with the guard after it.
    for own in [
        "startingNumberOfVMs = 1;\nmaxNumberofVMs = 25;\npendingTaskSamplePercent = $PendingTasks.GetSamplePercent(180 * TimeInterval_Second);\npendingTaskSamples = pendingTaskSamplePercent < 70 ? startingNumberOfVMs : avg($PendingTasks.GetSample(180 * TimeInterval_Second));\n$TargetDedicatedNodes=min(maxNumberofVMs, pendingTaskSamples);\n$NodeDeallocationOption = taskcompletion;",
        "$TargetDedicated = 3",
    ] {
        let pool = PoolAddParameter {
            enable_auto_scale: Some(true),
            auto_scale_formula: Some(own.into()),
            ..PoolAddParameter::default()
        };
        let formula = idle_formula(&pool, 10 * 60);
        assert_eq!(analyze(&formula), Vec::new(), "{formula}");
    }
}
