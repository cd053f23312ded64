//! Rule pages name every condition their rule reports. Each `docs/rules/CODE.md` has a
//! `## Messages` section with one bullet per distinct message, an example as `batchflow check`
//! prints it. `batchflow check --format json` runs over every rule fixture and every case of
//! `tests/fixtures/cases/`; then, for each rule (`rules::CODE::messages`):
//! - every message it reported matches a bullet of its page, and
//! - every bullet of its page matches a message some fixture or case reported,
//!
//! so a page lists no condition that nothing exercises and misses none that something does.
//!
//! Both sides are normalised before they are compared: a backticked part becomes `` `…` ``, a
//! double-quoted one `"…"` and a number `N`. A bare `…` in a bullet stands for free text that
//! varies (a Rhai error, the path of a cycle, a list of alternatives).

use crate::cases::cases;
use crate::rules::{check, fixture_dir};
use crate::support::Test;
use batchflow::diagnostics::Code;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// What a rule reported somewhere: normalised message -> (the message, the file).
type Reported = BTreeMap<String, (String, String)>;

/// Every diagnostic of every fixture and case, by rule (computed once for all rules).
fn reported() -> &'static BTreeMap<String, Reported> {
    static REPORTED: OnceLock<BTreeMap<String, Reported>> = OnceLock::new();
    REPORTED.get_or_init(|| {
        let mut runs = Vec::new();
        for code in Code::ALL {
            for which in ["fires", "passes"] {
                let file = format!("tests/fixtures/rules/{code}/{which}.batchflow");
                runs.push((file, check(&fixture_dir(*code), which, true).run()));
            }
        }
        for case in cases() {
            runs.push((case.rel().display().to_string(), case.check().run()));
        }
        let mut found: Vec<(String, String, String)> = Vec::new();
        for (file, output) in runs {
            for d in output.diagnostics() {
                let code = d["code"].as_str().unwrap_or_default().to_string();
                let message = d["message"].as_str().unwrap_or_default().to_string();
                found.push((code, message, file.clone()));
            }
        }
        found.extend(generated());
        let mut out: BTreeMap<String, Reported> = BTreeMap::new();
        for (code, message, file) in found {
            out.entry(code)
                .or_default()
                .entry(normalise(&message))
                .or_insert((message, file));
        }
        out
    })
}

/// A pool and a job with one plain task, for the generated workflows.
const PLAIN: &str = r#"pool cpu {
  vm_size    = "Standard_D4s_v5"
  image      = marketplace("Canonical", "ubuntu-24_04-lts", "server")
  node_agent = "batch.node.ubuntu 24.04"
  dedicated  = 1
}
job etl on cpu {
  task extract { command = "python3 extract.py" }
}
"#;

/// `before_submit` hooks whose result `batchflow plan` refuses, on [`PLAIN`].
const BEFORE_SUBMIT: &[&str] = &[
    "3",
    "task.command = 3; task",
    "task.retries = \"three\"; task",
    "task.id = \"other\"; task",
    "task.timeout = -5; task",
    "task.slots = -1; task",
    "task.retry = 3; task",
    "task.env = 3; task",
    "task.slots = 8; task",
    "task.retries = -5; task",
    "task.container = \"busybox:1.36\"; task",
    "task.command = \"\"; task",
];

/// What no file under `tests/fixtures/` can be: a file over the size limit, a binary or
/// non-UTF-8 file, one that starts with a stray character (a case starts with its header), a
/// task body over 1 MB, and `before_submit` results, which only `batchflow plan` runs.
/// Each is (code, message, label).
fn generated() -> Vec<(String, String, String)> {
    let mut checked = Vec::new();
    let huge = Test::new().write("huge.batchflow", "");
    std::fs::File::options()
        .write(true)
        .open(huge.repo().path().join("huge.batchflow"))
        .and_then(|f| f.set_len(70_000_000))
        .expect("a sparse file over the size limit");
    checked.push(("a file over 64 MiB", huge));
    checked.push((
        "a binary file",
        Test::new().write("w.batchflow", b"let a = 1\n\x00ELF".as_slice()),
    ));
    checked.push((
        "a Latin-1 file",
        Test::new().write("w.batchflow", b"let a = \"caf\xe9\"\n".as_slice()),
    ));
    checked.push(("a stray `}` first", Test::new().write("w.batchflow", "}\n")));
    let body = PLAIN.replace(
        "python3 extract.py",
        &format!("python3 extract.py {}", "x".repeat(1_100_000)),
    );
    checked.push(("a task body over 1 MB", Test::new().write("w.batchflow", body)));
    let mut out = Vec::new();
    for (label, test) in checked {
        let file = if label == "a file over 64 MiB" {
            "huge.batchflow"
        } else {
            "w.batchflow"
        };
        for d in test.args(["check", "--format", "json", file]).run().diagnostics() {
            let field = |k: &str| d[k].as_str().unwrap_or_default().to_string();
            out.push((field("code"), field("message"), label.to_string()));
        }
    }
    let boxes = PLAIN
        .replace(
            "\"Canonical\", \"ubuntu-24_04-lts\", \"server\"",
            "\"microsoft-dsvm\", \"ubuntu-hpc\", \"2404\"",
        )
        .replace(
            "dedicated  = 1",
            "dedicated  = 1\n  containers { images = [\"busybox:1.36\"] }",
        )
        .replace(
            "command = \"python3 extract.py\"",
            "container = \"busybox:1.36\"\n    command = \"echo hi\"",
        );
    let hooks = BEFORE_SUBMIT
        .iter()
        .map(|body| (PLAIN.to_string(), body.to_string()))
        .chain([(boxes, "task.container = \"\"; task".to_string())]);
    for (workflow, body) in hooks {
        let out_of_plan = Test::new()
            .write("w.batchflow", workflow)
            .write("w.rhai", format!("fn before_submit(task) {{ {body} }}\n"))
            .args(["plan", "w.batchflow"])
            .env("COLUMNS", "1000")
            .run();
        for (code, message) in human_diagnostics(&out_of_plan.stderr) {
            out.push((code, message, format!("`before_submit` doing `{body}`")));
        }
    }
    out
}

/// (code, message) of each diagnostic in the human output: a `BF011(hook-script-error)`
/// line, then the message after `×`.
fn human_diagnostics(stderr: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut code = None;
    for line in stderr.lines().map(str::trim) {
        if line.starts_with("BF") && line.contains('(') {
            code = line.split('(').next().map(str::to_string);
        } else if let (Some(message), Some(c)) = (line.strip_prefix("× "), &code) {
            out.push((c.clone(), message.to_string()));
        }
    }
    out
}

/// The bullets of a page's `## Messages` section (a bullet may wrap onto indented lines).
fn listed(page: &str) -> Option<Vec<String>> {
    let (_, rest) = page.split_once("\n## Messages\n")?;
    let section = rest.split("\n## ").next().unwrap_or_default();
    let mut bullets: Vec<String> = Vec::new();
    for line in section.lines() {
        if let Some(bullet) = line.strip_prefix("- ") {
            bullets.push(bullet.trim().to_string());
        } else if let (Some(last), true) = (bullets.last_mut(), line.starts_with("  ")) {
            last.push(' ');
            last.push_str(line.trim());
        }
    }
    Some(bullets)
}

/// Backticked parts -> `` `…` ``, double-quoted parts -> `"…"`, numbers -> `N`.
pub fn normalise(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if let Some(len) = quoted_len(rest) {
            out.push(c);
            out.push('…');
            out.push(c);
            rest = rest.get(len..).unwrap_or_default();
        } else if c.is_ascii_digit() {
            let len = number_len(rest);
            out.push('N');
            rest = rest.get(len..).unwrap_or_default();
        } else {
            out.push(c);
            rest = rest.get(c.len_utf8()..).unwrap_or_default();
        }
    }
    out
}

/// Length of the backticked or double-quoted part at the start of `text`, quotes included: an
/// empty part (`` `` ``), or a part that holds at least one character, so that `` ` `` (a
/// backquote in backquotes) is one part.
fn quoted_len(text: &str) -> Option<usize> {
    let q = text.chars().next().filter(|c| *c == '`' || *c == '"')?;
    let mut after = text.chars().skip(1);
    if after.next() == Some(q) && after.next() != Some(q) {
        return Some(2);
    }
    text.get(2..)?.find(q).map(|end| end + 3)
}

/// Length of the number at the start of `text`: digits, with `,` or `.` between digits.
fn number_len(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let digit = bytes[i].is_ascii_digit();
        let joiner = matches!(bytes[i], b',' | b'.') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit);
        if !(digit || joiner) {
            break;
        }
        i += 1;
    }
    i
}

/// Whether a normalised message matches a normalised bullet, where a bare `…` in the bullet
/// (one outside `` `…` `` and `"…"`) matches any text, as a glob's `*`.
fn matches(bullet: &str, message: &str) -> bool {
    let hide = |s: &str| s.replace("`…`", "\u{1}").replace("\"…\"", "\u{2}");
    let (bullet, message) = (hide(bullet), hide(message));
    let parts: Vec<&str> = bullet.split('…').collect();
    let [first, middle @ .., last] = parts.as_slice() else {
        return bullet == message;
    };
    let Some(mut rest) = message.strip_prefix(first) else {
        return false;
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = rest.get(at + part.len()..).unwrap_or_default(),
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// The test of one rule: its page and what the fixtures and cases made it report agree.
pub fn check_messages(code: Code) {
    let Some(bullets) = listed(code.doc()) else {
        panic!("docs/rules/{code}.md has no `## Messages` section");
    };
    let empty = Reported::new();
    let reported = reported().get(code.as_str()).unwrap_or(&empty);
    let patterns: Vec<String> = bullets.iter().map(|b| normalise(b)).collect();
    let mut problems = Vec::new();
    for (norm, (message, file)) in reported {
        if !patterns.iter().any(|p| matches(p, norm)) {
            problems.push(format!(
                "not on the page: `{message}` (reported for {file}), normalised `{norm}`"
            ));
        }
    }
    for (bullet, pattern) in bullets.iter().zip(&patterns) {
        if !reported.keys().any(|norm| matches(pattern, norm)) {
            problems.push(format!(
                "no fixture or case reports `{bullet}`: add a case to tests/fixtures/cases/"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "docs/rules/{code}.md `## Messages` and what {code} reports differ:\n{}",
        problems.join("\n")
    );
}

#[test]
fn normalising_hides_names_values_and_numbers() {
    assert_eq!(
        normalise("task `a-1` expands to 1,000,001 instances; found string \"two\" (v2.5)"),
        "task `…` expands to N instances; found string \"…\" (vN)"
    );
    assert_eq!(normalise("an unclosed `quote"), "an unclosed `quote");
    assert_eq!(normalise("``` runs nothing: `command`"), "`…` runs nothing: `…`");
    assert_eq!(
        normalise("image `` is empty, `a` is not"),
        "image `…` is empty, `…` is not"
    );
}

#[test]
fn a_bare_ellipsis_in_a_bullet_matches_any_text() {
    let bullet = normalise("hook script `h.rhai` does not compile: …");
    assert!(matches(
        &bullet,
        &normalise("hook script `w.rhai` does not compile: Expecting ')'")
    ));
    assert!(!matches(
        &bullet,
        &normalise("hook script `w.rhai` has no function `f`")
    ));
    assert!(matches(
        &normalise("expected one of …, found `…`"),
        "expected one of `…`, `…`, found `…`"
    ));
    assert!(matches("a `…` b", "a `…` b"));
    assert!(!matches("a `…` b", "a `…` b c"));
}
