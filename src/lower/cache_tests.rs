//! Unit tests of the `cache` task attribute: one value per declaration, tasks only.

use crate::compile::{compile_text, CompileOptions, Compiled, HookSource, Surroundings};
use crate::diagnostics::Code;

fn compile(jobs: &str, start_task: &str) -> Compiled {
    let text = format!(
        r#"
import "std/images"

pool cpu {{
  vm_size   = "Standard_D4s_v5"
  image     = images.ubuntu_2404
  dedicated = 1
  start_task {{
    command = "/bin/true"
    {start_task}
  }}
}}

job j on cpu {{
{jobs}
}}
"#
    );
    let mut sources = crate::source::SourceMap::new();
    compile_text(
        "mem.batchflow",
        "mem",
        text,
        |_| HookSource::None,
        |_| Surroundings::default(),
        &mut sources,
        &CompileOptions::default(),
    )
}

fn codes(c: &Compiled) -> Vec<(Code, String)> {
    c.diagnostics.iter().map(|d| (d.code, d.message.clone())).collect()
}

#[test]
fn cache_is_per_declaration_and_on_by_default() {
    let c = compile(
        r#"
  task sweep[s in 0..3] {
    command = "python3 fit.py --seed ${s}"
    cache   = false
  }
  task plain { command = "python3 report.py" }
  task kept {
    command = "python3 plot.py"
    cache   = true
  }"#,
        "",
    );
    assert!(codes(&c).is_empty(), "{:?}", codes(&c));
    let wf = c.workflow.as_ref().expect("workflow");
    let cache: Vec<(&str, bool, u32)> = wf
        .templates
        .iter()
        .map(|t| (t.name.value.as_str(), t.cache, t.count))
        .collect();
    assert_eq!(cache, [("sweep", false, 3), ("plain", true, 1), ("kept", true, 1)]);
}

#[test]
fn cache_takes_a_bool_and_no_loop_variable() {
    let c = compile(
        r#"
  task a {
    command = "/bin/true"
    cache   = "no"
  }
  task b[c in [true, false]] {
    command = "/bin/true"
    cache   = c
  }"#,
        "",
    );
    let found = codes(&c);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.iter().all(|(code, _)| *code == Code::BF006), "{found:?}");
    assert!(found.iter().any(|(_, m)| m.contains("cannot use `c`")), "{found:?}");
    let wf = c.workflow.as_ref().expect("workflow");
    assert!(
        wf.templates.iter().all(|t| t.cache),
        "a broken `cache` leaves the cache on"
    );
}

#[test]
fn a_start_task_has_no_cache() {
    let c = compile(r#"  task a { command = "/bin/true" }"#, "cache = false");
    let found = codes(&c);
    assert_eq!(
        found,
        [(Code::BF008, "unknown attribute `cache` in this start task".to_string())]
    );
}
