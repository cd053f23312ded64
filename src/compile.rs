//! The pipeline driver: reads a workflow and its hook script, then parses, lowers and
//! checks. This and the CLI are the only places that touch the file system.

use crate::auth_mode::AuthMode;
use crate::check::{self, Context};
use crate::diagnostics::{self, Code, Diagnostic, Severity};
use crate::graph::Workflow;
use crate::hooks::{Hooks, Limits};
use crate::lower;
use crate::plan::PlanOptions;
use crate::repo::RepoFacts;
use crate::source::{SourceMap, Span, SrcId};
use crate::stdlib::Date;
use crate::syntax;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Largest workflow file read; larger is a BF001 error rather than a slow death.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Clone, Debug)]
pub struct CompileOptions {
    /// `--param name=value`, in order.
    pub params: Vec<(String, String)>,
    /// The environment `env()` reads.
    pub env: BTreeMap<String, String>,
    pub auth: Option<AuthMode>,
    pub today: Date,
    pub hook_limits: Limits,
}

impl Default for CompileOptions {
    fn default() -> Self {
        CompileOptions {
            params: Vec::new(),
            env: BTreeMap::new(),
            auth: None,
            today: Date {
                year: 2026,
                month: 1,
                day: 1,
            },
            hook_limits: Limits::default(),
        }
    }
}

/// A compiled workflow: the graph when parsing succeeded, and every diagnostic.
pub struct Compiled {
    pub src: SrcId,
    pub workflow: Option<Workflow>,
    pub hooks: Option<Hooks>,
    pub diagnostics: Vec<Diagnostic>,
    /// What the workflow's repository inputs stand for, and its storage container.
    pub surroundings: Surroundings,
    /// Each param's and evaluated `let`'s value, sorted by name (an editor's hover shows them).
    pub values: Vec<(String, crate::value::Value)>,
}

/// What a workflow's checks and plan need to know of the world around it: the repository's
/// files its inputs name, and whether (and where) a storage account is configured.
#[derive(Clone, Debug, Default)]
pub struct Surroundings {
    pub repo: Arc<RepoFacts>,
    /// The storage staged files go through.
    pub storage: crate::plan::StorageChoice,
}

impl Compiled {
    /// The plan options of this workflow, for `api_version`.
    pub fn plan_options(&self, api_version: String) -> PlanOptions {
        PlanOptions {
            api_version,
            repo: (*self.surroundings.repo).clone(),
            storage: self.surroundings.storage.clone(),
        }
    }
}

impl Compiled {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.diagnostics.iter().filter(|d| d.severity == severity).count()
    }
}

/// Reads and compiles one file. `Err` only for I/O errors (a missing file, a directory).
pub fn compile(path: &Path, sources: &mut SourceMap, options: &CompileOptions) -> std::io::Result<Compiled> {
    let meta = std::fs::metadata(path)?;
    if meta.is_dir() {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "is a directory"));
    }
    let name = path.display().to_string();
    if meta.len() > MAX_FILE_BYTES {
        let src = sources.add(name, "");
        let d = too_large(src, meta.len());
        return Ok(Compiled {
            src,
            workflow: None,
            hooks: None,
            diagnostics: vec![d],
            surroundings: Surroundings::default(),
            values: Vec::new(),
        });
    }
    let bytes = std::fs::read(path)?;
    let text = match decode(&bytes) {
        Ok(text) => text,
        Err((offset, why)) => {
            let src = sources.add(name, String::from_utf8_lossy(&bytes).into_owned());
            let d = not_text(Span::new(src, offset, offset), why);
            return Ok(Compiled {
                src,
                workflow: None,
                hooks: None,
                diagnostics: vec![d],
                surroundings: Surroundings::default(),
                values: Vec::new(),
            });
        }
    };
    Ok(compile_buffer(path, text, sources, options))
}

/// BF001 for a file larger than [`MAX_FILE_BYTES`].
pub fn too_large(src: SrcId, len: u64) -> Diagnostic {
    Diagnostic::new(
        Code::BF001,
        Span::new(src, 0, 0),
        format!("the file is {len} bytes; workflows may be at most {MAX_FILE_BYTES}"),
    )
    .with_help("a workflow describes work; generate large inputs with sweeps and `rhai()` instead of writing them out")
}

/// BF001 for bytes that are not a workflow's text ([`decode`]'s reason, at its offset).
pub fn not_text(at: Span, why: String) -> Diagnostic {
    Diagnostic::new(Code::BF001, at, why)
        .with_help("workflows are UTF-8 text files; check that this is the file you meant")
}

/// Compiles `text` as the contents of the workflow at `path` (an editor's unsaved buffer):
/// the hook script, the repository's files and settings are read from around `path`.
pub fn compile_buffer(path: &Path, text: String, sources: &mut SourceMap, options: &CompileOptions) -> Compiled {
    let name = path.display().to_string();
    let stem = path
        .file_stem()
        .map_or_else(|| "workflow".into(), |s| s.to_string_lossy().into_owned());
    let prelude = |file: &crate::ast::File| Prelude {
        hooks: hook_source(path, file),
        files: glob_files(path, file),
    };
    compile_text(
        &name,
        &stem,
        text,
        prelude,
        |wf| surroundings(path, wf, options),
        sources,
        options,
    )
}

/// The hook script of the workflow at `path`: the file `hooks = "..."` names, else `NAME.rhai`
/// beside it.
pub fn hook_source(path: &Path, file: &crate::ast::File) -> HookSource {
    match file.hooks_path() {
        Some((rel, span)) => {
            let p = path.parent().unwrap_or(Path::new(".")).join(&rel);
            let text = std::fs::read_to_string(&p).ok();
            HookSource::Named(p, span, text)
        }
        None => {
            let p = path.with_extension("rhai");
            match std::fs::read_to_string(&p) {
                Ok(text) => HookSource::Beside(p, text),
                Err(_) => HookSource::None,
            }
        }
    }
}

/// The repository files that the `files()` globs of the workflow at `path` match.
pub fn glob_files(path: &Path, file: &crate::ast::File) -> RepoFacts {
    let root = crate::repo_scan::repo_root(path.parent().unwrap_or(Path::new(".")));
    crate::repo_scan::scan(&root, lower::file_globs(file).iter().map(String::as_str))
}

/// What the workflow at `path` finds around it: its repository's files and storage settings.
pub fn surroundings(path: &Path, wf: &Workflow, options: &CompileOptions) -> Surroundings {
    let root = crate::repo_scan::repo_root(path.parent().unwrap_or(Path::new(".")));
    let file = crate::settings::read(&root).unwrap_or_default();
    Surroundings {
        repo: Arc::new(crate::repo_scan::scan(&root, repo_inputs(wf))),
        storage: crate::settings::storage(wf.storage.as_ref(), &file.storage, &options.env),
    }
}

/// The values of every input that names a repository path.
fn repo_inputs(wf: &Workflow) -> std::collections::BTreeSet<&str> {
    let aux = wf
        .pools
        .iter()
        .filter_map(|p| p.start_task.as_ref().map(|(a, _)| a))
        .chain(
            wf.jobs
                .iter()
                .flat_map(|j| j.prep_task.iter().chain(j.release_task.iter())),
        )
        .map(|a| &a.spec);
    aux.chain(wf.tasks.iter().map(|t| &t.spec))
        .flat_map(|s| s.inputs.iter())
        .filter(|f| f.location == crate::graph::Location::Repo)
        .map(|f| &*f.url)
        .collect()
}

/// What the compiler needs of the world once the file has parsed: its hook script, and the
/// repository files of the globs its `files()` calls name ([`lower::file_globs`]).
pub struct Prelude {
    pub hooks: HookSource,
    pub files: RepoFacts,
}

/// A hook script alone: `files()` then sees no repository (every glob matches nothing).
impl From<HookSource> for Prelude {
    fn from(hooks: HookSource) -> Prelude {
        Prelude {
            hooks,
            files: RepoFacts::default(),
        }
    }
}

/// Where the hook script comes from.
pub enum HookSource {
    None,
    /// `NAME.rhai` beside `NAME.batchflow`.
    Beside(PathBuf, String),
    /// `hooks = "file.rhai"`: the path, the item's span, and the text if it could be read.
    Named(PathBuf, Span, Option<String>),
}

/// The pure part: text in, workflow and diagnostics out. `prelude` is asked for the hook
/// script and the repository's files once the file has parsed (a [`HookSource`] alone will
/// do), `surroundings` for what the workflow's checks and plan need of the world once it has
/// lowered.
pub fn compile_text<P: Into<Prelude>>(
    name: &str,
    stem: &str,
    text: String,
    prelude: impl FnOnce(&crate::ast::File) -> P,
    surroundings: impl FnOnce(&Workflow) -> Surroundings,
    sources: &mut SourceMap,
    options: &CompileOptions,
) -> Compiled {
    let text: Arc<str> = text.into();
    let src = sources.add(name, Arc::clone(&text));
    // A syntax error stops only its own item: the rest is still checked.
    let mut recovered = syntax::parse_recovering(src, &text);
    let mut diags = std::mem::take(&mut recovered.errors);
    let Some(file) = recovered.file.take() else {
        return Compiled {
            src,
            workflow: None,
            hooks: None,
            diagnostics: diags,
            surroundings: Surroundings::default(),
            values: Vec::new(),
        };
    };
    let mut hooks_broken = false;
    let prelude: Prelude = prelude(&file).into();
    let hooks = match prelude.hooks {
        HookSource::None => None,
        HookSource::Beside(path, text) | HookSource::Named(path, _, Some(text)) => {
            let hsrc = sources.add(path.display().to_string(), text.as_str());
            match Hooks::compile(hsrc, &path.display().to_string(), text.into(), options.hook_limits) {
                Ok(h) => Some(h),
                Err(d) => {
                    diags.push(*d);
                    hooks_broken = true;
                    None
                }
            }
        }
        HookSource::Named(path, span, None) => {
            hooks_broken = true;
            diags.push(
                Diagnostic::new(
                    Code::BF011,
                    span,
                    format!("hook script `{}` cannot be read", path.display()),
                )
                .with_help("the path is relative to the workflow file; check its name"),
            );
            None
        }
    };
    let input = lower::Input {
        file: &file,
        src,
        default_name: stem.to_string(),
        params: &options.params,
        env: &options.env,
        hooks: hooks.as_ref(),
        hooks_broken,
        files: &prelude.files,
    };
    let lowered = lower::lower(input, sources);
    let workflow = lowered.workflow;
    diags.extend(lowered.diagnostics);
    let around = surroundings(&workflow);
    let ctx = Context {
        auth: options.auth,
        today: options.today,
        repo: Arc::clone(&around.repo),
        storage: around.storage.configured.then(|| around.storage.container.clone()),
    };
    diags.extend(check::check(&workflow, &ctx));
    diags.extend(crate::plan::oversized_tasks(&workflow));
    diags.retain(|d| !recovered.hides(d));
    diagnostics::normalize(&mut diags);
    Compiled {
        src,
        workflow: Some(workflow),
        hooks,
        diagnostics: diags,
        surroundings: around,
        values: lowered.values,
    }
}

/// UTF-8 text without a leading byte-order mark, or the offset and reason it is not.
pub fn decode(bytes: &[u8]) -> Result<String, (usize, String)> {
    if let Some(i) = bytes.iter().take(8192).position(|b| *b == 0) {
        return Err((i, "this is a binary file (it holds NUL bytes), not a workflow".into()));
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.strip_prefix('\u{feff}').unwrap_or(s).to_string()),
        Err(e) => Err((
            e.valid_up_to(),
            format!(
                "the file is not UTF-8 text (invalid byte at offset {})",
                e.valid_up_to()
            ),
        )),
    }
}

/// For unit tests across the crate: a workflow's text, compiled and planned.
#[cfg(test)]
pub mod testing {
    use super::{compile_text, CompileOptions, HookSource, Surroundings};
    use crate::plan::{Plan, PlanOptions, StorageChoice};

    /// The plan of `text`, which must compile without errors, with `storage` as the
    /// workflow's storage.
    pub fn plan_of(text: &str, storage: StorageChoice) -> Plan {
        let mut sources = crate::source::SourceMap::new();
        let compiled = compile_text(
            "mem.batchflow",
            "mem",
            text.to_string(),
            |_| HookSource::None,
            |_| Surroundings {
                storage: storage.clone(),
                ..Surroundings::default()
            },
            &mut sources,
            &CompileOptions::default(),
        );
        assert!(!compiled.has_errors(), "{:?}", compiled.diagnostics);
        let wf = compiled.workflow.as_ref().expect("workflow");
        let options = PlanOptions {
            storage: storage.clone(),
            ..PlanOptions::default()
        };
        crate::plan::plan(wf, None, &options).expect("plan")
    }
}
