//! Properties of the formatter on generated workflows: random layouts (spaces, newlines, empty
//! lines, comments wherever the grammar lets them be, optional separators) of random valid
//! syntax. Whatever the layout, the result parses to the same tree with the same comments
//! (`format_text` checks that itself and refuses otherwise), formatting it again changes
//! nothing, and no line ends in a space.

use batchflow::format::{format_text, FormatError};
use batchflow::source::SrcId;
use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        failure_persistence: None,
        max_shrink_iters: 2_000,
        ..ProptestConfig::default()
    }
}

/// What may stand between two tokens: at least one blank, maybe comments and empty lines.
fn gap() -> BoxedStrategy<String> {
    prop_oneof![
        4 => Just(" ".to_string()),
        2 => Just("\n".to_string()),
        1 => Just("   ".to_string()),
        1 => Just("\n\n\n".to_string()),
        1 => Just("\t".to_string()),
        1 => Just(" # note\n".to_string()),
        1 => Just("\n  # own line\n".to_string()),
        1 => Just("\r\n".to_string()),
    ]
    .boxed()
}

/// `parts` joined by gaps.
fn spaced(parts: Vec<BoxedStrategy<String>>) -> BoxedStrategy<String> {
    let n = parts.len();
    (parts, prop::collection::vec(gap(), n))
        .prop_map(|(parts, gaps)| {
            let mut out = String::new();
            for (p, g) in parts.into_iter().zip(gaps) {
                out.push_str(&p);
                out.push_str(&g);
            }
            out
        })
        .boxed()
}

fn lit(s: &str) -> BoxedStrategy<String> {
    Just(s.to_string()).boxed()
}

fn name() -> BoxedStrategy<String> {
    prop::sample::select(vec!["a", "b2", "seed_count", "x-1", "env", "pool", "task", "images"])
        .prop_map(str::to_string)
        .boxed()
}

fn leaf() -> BoxedStrategy<String> {
    prop::sample::select(vec![
        "1",
        "-7",
        "3.50",
        "0",
        "90m",
        "1h30m",
        "true",
        "false",
        "\"text\"",
        "\"a ${x} b\"",
        "\"${ f( 1 ) # inside\n }\"",
        "\"two\nlines\"",
        "r\"C:\\app\"",
        "r#\"say \"hi\"\"#",
        "\\\"esc\\\"",
        "\"\\$HOME \\\"q\\\"\"",
        "a",
        "images.ubuntu",
        "\"https://example.blob.core.windows.net/container/with/a/long/path?${secret(\\\"SAS\\\")}\"",
    ])
    .prop_map(str::to_string)
    .boxed()
}

/// `open` items `close`, comma-separated, maybe with a trailing comma.
fn listed(open: &str, item: BoxedStrategy<String>, close: &str, min: usize) -> BoxedStrategy<String> {
    let (open, close) = (open.to_string(), close.to_string());
    (
        prop::collection::vec((item, gap(), gap()), min..5),
        any::<bool>(),
        gap(),
    )
        .prop_map(move |(items, trailing, g)| {
            let n = items.len();
            let mut out = format!("{open}{g}");
            for (i, (item, g1, g2)) in items.into_iter().enumerate() {
                out.push_str(&item);
                out.push_str(&g1);
                if i + 1 < n || trailing {
                    out.push(',');
                    out.push_str(&g2);
                }
            }
            out.push_str(&close);
            out
        })
        .boxed()
}

fn term(depth: u32) -> BoxedStrategy<String> {
    if depth == 0 {
        return leaf();
    }
    let inner = || expr(depth - 1);
    prop_oneof![
        4 => leaf(),
        1 => listed("[", inner(), "]", 0),
        1 => (name(), listed("(", arg(depth - 1), ")", 0)).prop_map(|(n, args)| format!("{n}{args}")),
        1 => spaced(vec![lit("("), inner(), lit(")")]),
        1 => body(depth - 1, false),
    ]
    .boxed()
}

fn arg(depth: u32) -> BoxedStrategy<String> {
    prop_oneof![expr(depth), spaced(vec![name(), lit("="), expr(depth)])].boxed()
}

/// `sum [.. sum]`, `sum = term {+ term}`.
fn expr(depth: u32) -> BoxedStrategy<String> {
    let sum = move || {
        (term(depth), prop::collection::vec((gap(), gap(), term(depth)), 0..3))
            .prop_map(|(first, rest)| {
                rest.into_iter()
                    .fold(first, |acc, (g1, g2, t)| format!("{acc}{g1}+{g2}{t}"))
            })
            .boxed()
    };
    prop_oneof![
        4 => sum(),
        1 => (sum(), gap(), sum()).prop_map(|(a, g, b)| format!("{a}{g}..{b}")),
    ]
    .boxed()
}

/// A `{ ... }` of attributes (a map), or of any entries (a block) when `block`.
fn body(depth: u32, block: bool) -> BoxedStrategy<String> {
    let key = prop_oneof![
        3 => name(),
        1 => lit("\"data/in.csv\""),
        1 => lit("r\"k\""),
        1 => lit("\"out/${s}-${ lr }.csv\""),
    ];
    let sep = prop::sample::select(vec!["", "", ",", ";"]);
    let attr = (spaced(vec![key.boxed(), lit("="), expr(depth)]), sep.clone())
        .prop_map(|(a, s)| format!("{a}{s}"))
        .boxed();
    let entry = if block && depth > 0 {
        let nested = (spaced(vec![name(), body(depth - 1, true)]), sep).prop_map(|(n, s)| format!("{n}{s}"));
        prop_oneof![4 => attr, 1 => nested.boxed(), 1 => task(depth - 1)].boxed()
    } else {
        attr
    };
    (gap(), prop::collection::vec((entry, gap()), 0..5))
        .prop_map(|(g, entries)| {
            let inner: String = entries.into_iter().map(|(e, g)| format!("{e}{g}")).collect();
            format!("{{{g}{inner}}}")
        })
        .boxed()
}

fn task(depth: u32) -> BoxedStrategy<String> {
    let loop_var = spaced(vec![name(), lit("in"), expr(depth)]);
    let sweep = prop_oneof![lit(""), listed("[", loop_var, "]", 1)];
    let after = prop_oneof![
        lit(""),
        spaced(vec![lit("after"), name()]),
        spaced(vec![lit("after"), name(), lit(","), name()]),
    ];
    spaced(vec![
        lit("task"),
        name(),
        sweep.boxed(),
        after.boxed(),
        body(depth, true),
    ])
}

fn item() -> BoxedStrategy<String> {
    let ty =
        prop::sample::select(vec!["int", "list<int>", "list < list<string> >", "duration"]).prop_map(str::to_string);
    prop_oneof![
        1 => spaced(vec![lit("workflow"), lit("\"w\"")]),
        1 => spaced(vec![lit("import"), lit("\"std/images\""), lit("as"), name()]),
        1 => spaced(vec![lit("hooks"), lit("="), lit("\"h.rhai\"")]),
        1 => spaced(vec![lit("param"), name(), lit(":"), ty.boxed(), lit("="), expr(2)]),
        3 => spaced(vec![lit("let"), name(), lit("="), expr(2)]),
        2 => spaced(vec![lit("pool"), name(), body(3, true)]),
        2 => spaced(vec![lit("job"), name(), lit("on"), name(), body(3, true)]),
        1 => spaced(vec![lit("storage"), body(1, true)]),
    ]
    .boxed()
}

fn file() -> impl Strategy<Value = String> {
    (gap(), prop::collection::vec((item(), gap()), 0..6))
        .prop_map(|(g, items)| items.into_iter().fold(g, |acc, (i, g)| format!("{acc}{i}{g}")))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_layout_formats_to_a_fixed_point_that_means_the_same(text in file()) {
        let out = match format_text(SrcId(0), &text) {
            Ok(out) => out,
            Err(FormatError::Syntax(d)) => panic!("the generator wrote a syntax error: {}\n{text:?}", d.message),
            Err(FormatError::Unstable) => panic!("formatting changed the tree or lost a comment:\n{text}"),
        };
        let again = format_text(SrcId(0), &out).expect("the result formats");
        prop_assert_eq!(&again, &out, "not idempotent:\n{}", text);
        prop_assert!(out.is_empty() || out.ends_with('\n'));
        prop_assert!(out.lines().all(|l| !l.ends_with(' ') || l.contains('"')), "trailing spaces:\n{}", out);
    }
}
