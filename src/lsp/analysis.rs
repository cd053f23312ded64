//! One version of an open workflow, compiled as `check` compiles it (the hook script and the
//! repository read from around the file), with what the editor's requests need: the syntax
//! tree as far as it parses, the names and their uses, the params' and lets' values.

use super::lines::{Encoding, Lines};
use super::rhai::{self, HookFn};
use super::symbols::Index;
use crate::ast::File;
use crate::compile::{self, CompileOptions, HookSource};
use crate::diagnostics::Diagnostic;
use crate::graph::Workflow;
use crate::source::{SourceMap, Span, SrcId};
use crate::value::Value;
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The hook script a workflow uses, as read when it was analyzed.
#[derive(Debug)]
pub struct HookFile {
    pub path: PathBuf,
    pub text: String,
    pub functions: Vec<HookFn>,
    /// Named by `hooks = "..."`, so possibly used by other workflows too.
    pub named: bool,
}

pub struct Analysis {
    pub path: PathBuf,
    pub text: Arc<str>,
    pub lines: Lines,
    pub src: SrcId,
    pub sources: SourceMap,
    /// The syntax tree of the items that parse (`None` when nothing does).
    pub file: Option<File>,
    pub index: Index,
    pub workflow: Option<Workflow>,
    pub diagnostics: Vec<Diagnostic>,
    pub values: Vec<(String, Value)>,
    pub hook: Option<HookFile>,
}

impl Analysis {
    /// The span of the workflow file from `start` to `end`.
    pub fn span(&self, start: usize, end: usize) -> Span {
        Span::new(self.src, start, end)
    }

    pub fn value(&self, name: &str) -> Option<&Value> {
        self.values.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

/// Compiles `text` as the workflow at `path`.
pub fn analyze(path: &Path, text: &str, encoding: Encoding, options: &CompileOptions) -> Analysis {
    let mut sources = SourceMap::new();
    let name = path.display().to_string();
    let lines = Lines::new(text, encoding);
    // What `compile` refuses before parsing, the editor is told the same way.
    let refused = if text.len() as u64 > compile::MAX_FILE_BYTES {
        Some(compile::too_large(SrcId(0), text.len() as u64))
    } else {
        compile::decode(text.as_bytes())
            .err()
            .map(|(at, why)| compile::not_text(Span::new(SrcId(0), at, at), why))
    };
    if let Some(d) = refused {
        let src = sources.add(name, text);
        return Analysis {
            path: path.to_path_buf(),
            text: Arc::from(text),
            lines,
            src,
            sources,
            file: None,
            index: Index::default(),
            workflow: None,
            diagnostics: vec![d],
            values: Vec::new(),
            hook: None,
        };
    }
    let parsed: RefCell<Option<File>> = RefCell::new(None);
    let hook: RefCell<Option<HookFile>> = RefCell::new(None);
    let stem = path
        .file_stem()
        .map_or_else(|| "workflow".into(), |s| s.to_string_lossy().into_owned());
    let hooks = |file: &File| {
        parsed.replace(Some(file.clone()));
        let found = compile::hook_source(path, file);
        if let HookSource::Beside(p, t) | HookSource::Named(p, _, Some(t)) = &found {
            hook.replace(Some(HookFile {
                path: p.clone(),
                functions: rhai::functions(t),
                text: t.clone(),
                named: matches!(found, HookSource::Named(..)),
            }));
        }
        // `files()` sees the repository around the file, as `check` does.
        compile::Prelude {
            hooks: found,
            files: compile::glob_files(path, file),
        }
    };
    let compiled = compile::compile_text(
        &name,
        &stem,
        text.to_string(),
        hooks,
        |wf| compile::surroundings(path, wf, options),
        &mut sources,
        options,
    );
    let file = parsed.into_inner();
    let index = file.as_ref().map(Index::build).unwrap_or_default();
    let text = Arc::from(sources.text(compiled.src));
    Analysis {
        path: path.to_path_buf(),
        text,
        lines,
        src: compiled.src,
        sources,
        file,
        index,
        workflow: compiled.workflow,
        diagnostics: compiled.diagnostics,
        values: compiled.values,
        hook: hook.into_inner(),
    }
}
