//! AST to [`Workflow`]: name resolution, params, lets, stdlib imports, sweep expansion and
//! the dependency graph. Pure: the caller hands in the environment and the hook script.

mod builtins;
#[cfg(test)]
mod cache_tests;
mod deps;
mod eval;
mod eval_error;
mod file_sweep;
mod files;
mod globs;
mod index;
mod jobs;
mod mentions;
mod mounts;
mod mpi;
mod mpi_launch;
mod names;
mod params;
mod pools;
mod schema;
mod spec;
mod storage;
mod typed;

use crate::ast::{self, Expr, Item};
use crate::diagnostics::{Code, Diagnostic, Sink};
use crate::graph::{JobId, PoolId, RegistryId, TemplateId, Workflow};
use crate::hooks::Hooks;
use crate::source::{SourceMap, Span, SrcId};
use crate::value::Value;
use eval::Evaluator;
use eval_error::{Bindings, EvalError};
use index::NameIndex;
use names::{Scopes, Unit};
use schema::Fields;
use std::collections::{BTreeMap, HashMap, HashSet};

pub use globs::file_globs;
pub use jobs::MAX_INSTANCES;
pub use schema::{schema_of, Schema, MAP_BLOCKS};

/// What lowering needs besides the syntax tree.
pub struct Input<'a> {
    pub file: &'a ast::File,
    pub src: SrcId,
    /// The workflow's name when it has no `workflow "..."` item: the file stem.
    pub default_name: String,
    /// `--param name=value` overrides, in command-line order.
    pub params: &'a [(String, String)],
    /// The environment `env()` reads.
    pub env: &'a BTreeMap<String, String>,
    pub hooks: Option<&'a Hooks>,
    /// The hook script exists but did not compile (already reported): `rhai()` stays quiet.
    pub hooks_broken: bool,
    /// The repository files of every glob the file hands to `files()` ([`file_globs`]).
    pub files: &'a crate::repo::RepoFacts,
}

/// A lowered file, with the values its params and lets took.
pub struct Lowered {
    pub workflow: Workflow,
    pub diagnostics: Vec<Diagnostic>,
    /// Each param's and evaluated `let`'s value, sorted by name (an editor shows them).
    pub values: Vec<(String, Value)>,
}

pub fn lower(input: Input<'_>, sources: &mut SourceMap) -> Lowered {
    let mut scopes = Scopes::new(input.env, input.hooks, input.hooks_broken, input.files);
    let unit = scopes.add_unit(Unit::new());
    let mut lw = Lowerer {
        names: Evaluator::new(scopes),
        sink: Sink::default(),
        unit,
        wf: Workflow::default(),
        unexpanded: Vec::new(),
        pools: NameIndex::default(),
        registries: NameIndex::default(),
        jobs: NameIndex::default(),
        tasks: HashMap::new(),
        failed: HashSet::new(),
        src: input.src,
        job_pool: None,
    };
    lw.wf.name = input.default_name.clone();
    lw.globals(input.file, input.params, sources);
    pools::lower_all(&mut lw, input.file, sources);
    storage::lower_all(&mut lw, input.file);
    jobs::lower_all(&mut lw, input.file);
    lw.names.eval_all_lets(unit);
    let let_errors = lw.names.take_let_errors();
    lw.sink.extend(let_errors);
    let values = lw.names.values(unit);
    Lowered {
        workflow: lw.wf,
        diagnostics: lw.sink.into_vec(),
        values,
    }
}

pub(crate) struct Lowerer<'a> {
    names: Evaluator<'a>,
    sink: Sink,
    unit: usize,
    wf: Workflow,
    /// Task declarations that failed to expand (already reported), by job: `after` them is
    /// not reported again as an unknown name.
    unexpanded: Vec<(crate::graph::JobId, String)>,
    pools: NameIndex<PoolId>,
    registries: NameIndex<RegistryId>,
    jobs: NameIndex<JobId>,
    /// The task declarations of each job.
    tasks: HashMap<JobId, NameIndex<TemplateId>>,
    /// Attributes whose evaluation failed once (and was reported).
    failed: HashSet<Span>,
    /// The workflow file.
    src: SrcId,
    /// The pool of the job whose tasks are being lowered (`nodes = pool`, the MPI launcher).
    job_pool: Option<PoolId>,
}

impl Lowerer<'_> {
    /// `workflow`, `import`, `param` and `let` items.
    fn globals(&mut self, file: &ast::File, overrides: &[(String, String)], sources: &mut SourceMap) {
        let mut params = Vec::new();
        let mut workflow: Option<&Expr> = None;
        let mut hooks: Option<Span> = None;
        for item in &file.items {
            match item {
                Item::Workflow(expr) => match workflow {
                    Some(first) => self.sink.push(twice("workflow", expr.span, first.span)),
                    None => workflow = Some(expr),
                },
                Item::Hooks(expr) => match hooks {
                    Some(first) => self.sink.push(twice("hooks", expr.span, first)),
                    None => {
                        hooks = Some(expr.span);
                        if expr.as_plain_str().is_none() {
                            self.sink.push(
                                Diagnostic::new(Code::BF006, expr.span, "`hooks` takes a plain file name")
                                    .with_help("write `hooks = \"file.rhai\"`, without `${...}`"),
                            );
                        }
                    }
                },
                Item::Import { path, alias, span } => self.import(path, alias.as_ref(), *span, sources),
                Item::Param { .. } => params.push(item),
                Item::Let { name, value, .. } => {
                    let added = self
                        .names
                        .scopes
                        .unit_mut(self.unit)
                        .is_some_and(|u| u.add_let(name, value.clone()));
                    if !added {
                        self.sink.push(
                            Diagnostic::new(Code::BF003, name.span, format!("`{}` is defined twice", name.name))
                                .with_help("give each `let`, `param` and import its own name"),
                        );
                    }
                }
                Item::Resource { .. } | Item::Job { .. } | Item::Storage { .. } => {}
            }
        }
        params::lower_all(self, &params, overrides, file);
        // After params and lets, so the name may use any of them.
        if let Some(expr) = workflow {
            match self.eval(expr, &[]) {
                Some(Value::Str(s)) => self.wf.name = s.to_string(),
                Some(other) => self.sink.push(
                    Diagnostic::new(
                        Code::BF006,
                        expr.span,
                        format!("the workflow name must be a string, found {}", other.type_name()),
                    )
                    .with_help("write `workflow \"name\"`"),
                ),
                None => {}
            }
        }
    }

    fn import(&mut self, path: &Expr, alias: Option<&ast::Ident>, span: Span, sources: &mut SourceMap) {
        let Some(text_path) = path.as_plain_str() else {
            self.sink.push(
                Diagnostic::new(Code::BF006, path.span, "an import path must be a plain string")
                    .with_help("write `import \"std/images\"`"),
            );
            return;
        };
        let Some(module) = crate::stdlib::module(&text_path) else {
            let help = crate::suggest::did_you_mean(&text_path, crate::stdlib::MODULES.iter().map(|m| m.path))
                .unwrap_or_else(|| {
                    let all: Vec<&str> = crate::stdlib::MODULES.iter().map(|m| m.path).collect();
                    format!("the standard library has {}", all.join(", "))
                });
            self.sink.push(
                Diagnostic::new(Code::BF002, path.span, format!("there is no module `{text_path}`")).with_help(help),
            );
            return;
        };
        let alias_name = alias.map_or_else(
            || text_path.rsplit('/').next().unwrap_or(&text_path).to_string(),
            |a| a.name.clone(),
        );
        let taken = self
            .names
            .scopes
            .unit_mut(self.unit)
            .is_some_and(|u| u.is_defined(&alias_name));
        if taken {
            self.sink.push(
                Diagnostic::new(
                    Code::BF003,
                    alias.map_or(span, |a| a.span),
                    format!("`{alias_name}` is defined twice"),
                )
                .with_help(format!("import it under another name: import \"{text_path}\" as other")),
            );
            return;
        }
        let src = sources.add(
            format!("<stdlib>/{}.batchflow", module.path.trim_start_matches("std/")),
            module.text,
        );
        let parsed = match crate::syntax::parse(src, module.text) {
            Ok(f) => f,
            Err(d) => {
                self.sink.push(*d);
                return;
            }
        };
        let mut unit = Unit::new();
        for item in &parsed.items {
            if let Item::Let { name, value, .. } = item {
                unit.add_let(name, value.clone());
            }
        }
        let index = self.names.scopes.add_unit(unit);
        if let Some(u) = self.names.scopes.unit_mut(self.unit) {
            u.add_module(&alias_name, index);
        }
    }

    /// Evaluates an expression of the workflow file; errors go to the sink.
    fn eval(&mut self, expr: &Expr, vars: Bindings<'_>) -> Option<Value> {
        match self.names.eval(self.unit, expr, vars) {
            Ok(v) => Some(v),
            Err(e) => {
                self.report(e);
                None
            }
        }
    }

    fn report(&mut self, err: EvalError) {
        if let EvalError::Diag(d) = err {
            self.sink.push(*d);
        }
    }

    /// Evaluates attribute `name` of `fields` and converts it; `None` when absent or wrong.
    fn typed<T>(
        &mut self,
        fields: &Fields<'_>,
        name: &str,
        vars: Bindings<'_>,
        conv: impl Fn(&str, &Value, Span) -> typed::Typed<T>,
    ) -> Option<T> {
        let attr = fields.attr(name)?;
        // A broken attribute of a sweep fails alike for every instance: report it once.
        if self.failed.contains(&attr.span) {
            return None;
        }
        let converted = self
            .eval(&attr.value, vars)
            .map(|value| conv(name, &value, attr.value.span));
        match converted {
            Some(Ok(v)) => Some(v),
            Some(Err(d)) => {
                self.sink.push(*d);
                self.failed.insert(attr.span);
                None
            }
            None => {
                self.failed.insert(attr.span);
                None
            }
        }
    }

    /// An enumerated attribute written as a bare word (`admin`) or a string (`"admin"`).
    fn word<T>(
        &mut self,
        fields: &Fields<'_>,
        name: &str,
        vars: Bindings<'_>,
        conv: fn(&str, &str, Span) -> typed::Typed<T>,
    ) -> Option<T> {
        let attr = fields.attr(name)?;
        if self.failed.contains(&attr.span) {
            return None;
        }
        let text = match attr.value.as_word() {
            Some(w) if !self.names.is_bound(self.unit, &w.name, vars) => w.name.clone(),
            _ => match self.eval_once(&attr.value, vars)? {
                Value::Str(s) => s.to_string(),
                other => {
                    self.sink.push(
                        Diagnostic::new(
                            Code::BF006,
                            attr.value.span,
                            format!("`{name}` must be a word, found {}", other.type_name()),
                        )
                        .with_help(format!("write it like `{name} = admin`")),
                    );
                    self.failed.insert(attr.value.span);
                    return None;
                }
            },
        };
        match conv(name, &text, attr.value.span) {
            Ok(v) => Some(v),
            Err(d) => {
                self.sink.push(*d);
                self.failed.insert(attr.value.span);
                None
            }
        }
    }

    /// Evaluates an expression unless it already failed once (a sweep's instances fail
    /// alike; the first failure is the one reported).
    fn eval_once(&mut self, expr: &Expr, vars: Bindings<'_>) -> Option<Value> {
        if self.failed.contains(&expr.span) {
            return None;
        }
        let v = self.eval(expr, vars);
        if v.is_none() {
            self.failed.insert(expr.span);
        }
        v
    }
}

fn twice(what: &str, span: Span, first: Span) -> Diagnostic {
    Diagnostic::new(Code::BF003, span, format!("`{what}` is given twice"))
        .with_label(first, "first given here")
        .with_help("keep one of them")
}
