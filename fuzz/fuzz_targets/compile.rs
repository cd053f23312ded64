//! Arbitrary bytes through the whole pipeline, as `batchflow plan` runs it: parse, lower,
//! check, render the diagnostics, and plan when there are no errors. Nothing may panic.

#![no_main]

use batchflow::compile::{compile_text, CompileOptions, HookSource, Surroundings};
use batchflow::diagnostics::render;
use batchflow::plan;
use batchflow::render_graph;
use batchflow::source::SourceMap;
use libfuzzer_sys::fuzz_target;

/// Above this many task instances planning is correct but slow (seconds at the 2,000,000
/// limit); the fuzzer would spend its time there instead of on new paths.
const PLAN_AT_MOST: usize = 20_000;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut sources = SourceMap::new();
    let compiled = compile_text(
        "fuzz.batchflow",
        "fuzz",
        text.to_string(),
        |_| HookSource::None,
        |_| Surroundings::default(),
        &mut sources,
        &CompileOptions::default(),
    );
    let _ = render::human(&compiled.diagnostics, &sources, false, 100);
    let _ = render::json(&compiled.diagnostics, &sources);
    let _ = render::github(&compiled.diagnostics, &sources);
    if compiled.has_errors() {
        return;
    }
    let Some(wf) = compiled.workflow.as_ref() else { return };
    if wf.tasks.len() > PLAN_AT_MOST {
        return;
    }
    match plan::plan(wf, compiled.hooks.as_ref(), &plan::PlanOptions::default()) {
        Ok(p) => {
            let _ = plan::text::render(&p);
            let _ = serde_json::to_string(&p);
        }
        Err(diags) => {
            let _ = render::human(&diags, &sources, false, 100);
        }
    }
    let _ = render_graph::render(wf, render_graph::Format::Dot, true);
    let _ = render_graph::render(wf, render_graph::Format::Mermaid, false);
});
