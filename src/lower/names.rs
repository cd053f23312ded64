//! The names an expression can see, as tables: the params and lets of each file (the
//! workflow, or a stdlib module it imports), its imported modules, the environment for
//! `env()`, the hook script for `rhai()` and the repository files for `files()`. Evaluation
//! lives in `eval.rs`.

use crate::ast::{Expr, Ident};
use crate::hooks::Hooks;
use crate::repo::RepoFacts;
use crate::source::Span;
use crate::value::Value;
use std::collections::{BTreeMap, HashMap};

/// The global names of one file (the workflow, or a stdlib module).
#[derive(Default)]
pub struct Unit {
    lets: HashMap<String, (Expr, Span)>,
    /// `None`: the param's value was broken (and reported); uses stay quiet.
    params: HashMap<String, Option<Value>>,
    modules: HashMap<String, usize>,
}

impl Unit {
    pub fn new() -> Unit {
        Unit::default()
    }

    /// Declares a `let`; false when the name is taken.
    pub fn add_let(&mut self, name: &Ident, value: Expr) -> bool {
        if self.is_defined(&name.name) {
            return false;
        }
        self.lets.insert(name.name.clone(), (value, name.span));
        true
    }

    pub fn add_param(&mut self, name: &str, value: Option<Value>) {
        self.params.insert(name.to_string(), value);
    }

    pub fn add_module(&mut self, alias: &str, unit: usize) {
        self.modules.insert(alias.to_string(), unit);
    }

    pub fn is_defined(&self, name: &str) -> bool {
        self.lets.contains_key(name) || self.params.contains_key(name) || self.modules.contains_key(name)
    }

    /// A `let`'s expression and where its name is declared.
    pub fn let_def(&self, name: &str) -> Option<&(Expr, Span)> {
        self.lets.get(name)
    }

    /// A param's value: `Some(None)` when the param exists but its value was broken.
    pub fn param(&self, name: &str) -> Option<&Option<Value>> {
        self.params.get(name)
    }

    /// The unit an imported module's alias stands for.
    pub fn module(&self, alias: &str) -> Option<usize> {
        self.modules.get(alias).copied()
    }

    pub fn let_names(&self) -> impl Iterator<Item = &str> {
        self.lets.keys().map(String::as_str)
    }

    pub fn param_names(&self) -> impl Iterator<Item = &str> {
        self.params.keys().map(String::as_str)
    }

    pub fn module_names(&self) -> impl Iterator<Item = &str> {
        self.modules.keys().map(String::as_str)
    }

    /// The `let`s in the order they are written.
    pub fn lets_in_order(&self) -> Vec<&str> {
        let mut names: Vec<(&str, u32)> = self.lets.iter().map(|(n, (_, s))| (n.as_str(), s.start)).collect();
        names.sort_by_key(|(_, at)| *at);
        names.into_iter().map(|(n, _)| n).collect()
    }
}

/// Every file's names, and what the functions `env()`, `rhai()` and `files()` read.
pub struct Scopes<'a> {
    units: Vec<Unit>,
    env: &'a BTreeMap<String, String>,
    hooks: Option<&'a Hooks>,
    hooks_broken: bool,
    repo: &'a RepoFacts,
}

impl<'a> Scopes<'a> {
    pub fn new(
        env: &'a BTreeMap<String, String>,
        hooks: Option<&'a Hooks>,
        hooks_broken: bool,
        repo: &'a RepoFacts,
    ) -> Scopes<'a> {
        Scopes {
            units: Vec::new(),
            env,
            hooks,
            hooks_broken,
            repo,
        }
    }

    /// The repository files the workflow's `files()` globs match, found before lowering.
    pub fn repo(&self) -> &RepoFacts {
        self.repo
    }

    pub fn add_unit(&mut self, unit: Unit) -> usize {
        self.units.push(unit);
        self.units.len() - 1
    }

    pub fn unit(&self, i: usize) -> Option<&Unit> {
        self.units.get(i)
    }

    pub fn unit_mut(&mut self, i: usize) -> Option<&mut Unit> {
        self.units.get_mut(i)
    }

    pub fn env_var(&self, name: &str) -> Option<String> {
        self.env.get(name).cloned()
    }

    pub fn hooks(&self) -> Option<&Hooks> {
        self.hooks
    }

    /// The hook script exists but did not compile (reported already).
    pub fn hooks_broken(&self) -> bool {
        self.hooks_broken
    }
}
