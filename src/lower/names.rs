//! The names an expression can see: params and lets of its file, members of imported
//! stdlib modules, environment variables for `env()`, and the hook script for `rhai()`.

use super::eval::{Bindings, EvalError, EvalResult};
use super::value::Value;
use crate::ast::{Expr, Ident};
use crate::diagnostics::{Code, Diagnostic};
use crate::hooks::Hooks;
use crate::source::Span;
use crate::suggest::did_you_mean;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

/// The global names of one file (the workflow, or a stdlib module).
#[derive(Default)]
pub struct Unit {
    lets: HashMap<String, (Expr, Span)>,
    /// `None`: the param's value was broken (and reported); uses stay quiet.
    params: HashMap<String, Option<Value>>,
    modules: HashMap<String, usize>,
    state: RefCell<HashMap<String, LetState>>,
}

/// How deep `let`s may refer to `let`s; deeper chains would exhaust the stack.
const MAX_LET_DEPTH: usize = 256;

#[derive(Clone)]
enum LetState {
    Evaluating,
    Done(Value),
    Failed,
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

    pub fn let_names(&self) -> impl Iterator<Item = &str> {
        self.lets.keys().map(String::as_str)
    }
}

pub struct Names<'a> {
    units: Vec<Unit>,
    env: &'a BTreeMap<String, String>,
    hooks: Option<&'a Hooks>,
    hooks_broken: bool,
    /// The `let`s being evaluated, innermost last, to print a cycle.
    stack: RefCell<Vec<String>>,
    /// Diagnostics of broken `let`s, reported once at their definition.
    let_errors: RefCell<Vec<Diagnostic>>,
    /// How deep evaluation is nested right now, counting through `let` references.
    pub(super) depth: std::cell::Cell<usize>,
}

impl<'a> Names<'a> {
    pub fn new(env: &'a BTreeMap<String, String>, hooks: Option<&'a Hooks>, hooks_broken: bool) -> Names<'a> {
        Names {
            units: Vec::new(),
            env,
            hooks,
            hooks_broken,
            stack: RefCell::new(Vec::new()),
            let_errors: RefCell::new(Vec::new()),
            depth: std::cell::Cell::new(0),
        }
    }

    pub fn add_unit(&mut self, unit: Unit) -> usize {
        self.units.push(unit);
        self.units.len() - 1
    }

    pub fn unit_mut(&mut self, i: usize) -> Option<&mut Unit> {
        self.units.get_mut(i)
    }

    /// Whether `name` means something here (so a bare word is not an enumeration value).
    pub fn is_bound(&self, unit: usize, name: &str, vars: Bindings<'_>) -> bool {
        vars.iter().any(|(n, _)| n == name) || self.units.get(unit).is_some_and(|u| u.is_defined(name))
    }

    pub fn env_var(&self, name: &str) -> Option<String> {
        self.env.get(name).cloned()
    }

    pub fn hooks(&self) -> Option<&Hooks> {
        self.hooks
    }

    pub fn hooks_broken(&self) -> bool {
        self.hooks_broken
    }

    pub fn take_let_errors(&self) -> Vec<Diagnostic> {
        std::mem::take(&mut self.let_errors.borrow_mut())
    }

    /// Evaluates every `let` of a unit, so broken ones are reported even when unused.
    pub fn eval_all_lets(&self, unit: usize) {
        let Some(u) = self.units.get(unit) else { return };
        let mut names: Vec<&String> = u.lets.keys().collect();
        names.sort_by_key(|n| u.lets.get(*n).map(|(_, s)| s.start));
        for name in names {
            let _ = self.eval_let(unit, name);
        }
    }

    /// Resolves `name` or `module.member`.
    pub fn lookup(&self, unit: usize, parts: &[Ident], vars: Bindings<'_>) -> EvalResult {
        let Some(first) = parts.first() else {
            return Err(EvalError::Reported);
        };
        let Some(u) = self.units.get(unit) else {
            return Err(EvalError::Reported);
        };
        let name = first.name.as_str();
        let value = if let Some((_, v)) = vars.iter().find(|(n, _)| n == name) {
            v.clone()
        } else if u.lets.contains_key(name) {
            self.eval_let(unit, name)?
        } else if let Some(v) = u.params.get(name) {
            v.clone().ok_or(EvalError::Reported)?
        } else if let Some(&m) = u.modules.get(name) {
            return self.module_member(m, name, parts);
        } else {
            let evaluating = self.stack.borrow();
            let candidates = vars
                .iter()
                .map(|(n, _)| n.as_str())
                .chain(
                    u.lets
                        .keys()
                        .map(String::as_str)
                        .filter(|n| !evaluating.iter().any(|e| e == n)),
                )
                .chain(u.params.keys().map(String::as_str))
                .chain(u.modules.keys().map(String::as_str));
            let help = did_you_mean(name, candidates)
                .unwrap_or_else(|| "declare it with `let` or `param`, or import a module".into());
            return Err(
                Diagnostic::new(Code::BF002, first.span, format!("unknown name `{name}`"))
                    .with_help(help)
                    .into(),
            );
        };
        if let Some(member) = parts.get(1) {
            return Err(Diagnostic::new(
                Code::BF006,
                member.span,
                format!(
                    "`{name}` is a {}, it has no member `{}`",
                    value.type_name(),
                    member.name
                ),
            )
            .with_help("only imported modules have members, like `images.ubuntu_hpc_2204`")
            .into());
        }
        Ok(value)
    }

    fn module_member(&self, module: usize, alias: &str, parts: &[Ident]) -> EvalResult {
        let Some(m) = self.units.get(module) else {
            return Err(EvalError::Reported);
        };
        let Some(member) = parts.get(1) else {
            let span = parts.first().map(|p| p.span).unwrap_or_default();
            return Err(
                Diagnostic::new(Code::BF006, span, format!("`{alias}` is a module, not a value"))
                    .with_help(format!("name one of its values, like `{alias}.NAME`"))
                    .into(),
            );
        };
        if !m.lets.contains_key(&member.name) {
            let help = did_you_mean(&member.name, m.let_names()).unwrap_or_else(|| {
                let mut names: Vec<&str> = m.let_names().collect();
                names.sort_unstable();
                format!("`{alias}` has {}", names.join(", "))
            });
            return Err(Diagnostic::new(
                Code::BF002,
                member.span,
                format!("module `{alias}` has no value `{}`", member.name),
            )
            .with_help(help)
            .into());
        }
        self.eval_let(module, &member.name)
    }

    fn eval_let(&self, unit: usize, name: &str) -> EvalResult {
        let Some(u) = self.units.get(unit) else {
            return Err(EvalError::Reported);
        };
        let Some((expr, def_span)) = u.lets.get(name) else {
            return Err(EvalError::Reported);
        };
        let cached = u.state.borrow().get(name).cloned();
        match cached {
            Some(LetState::Done(v)) => return Ok(v),
            Some(LetState::Failed) => return Err(EvalError::Reported),
            Some(LetState::Evaluating) => {
                let stack = self.stack.borrow();
                let from = stack.iter().position(|n| n == name).unwrap_or(0);
                let mut cycle: Vec<&str> = stack.iter().skip(from).map(String::as_str).collect();
                cycle.push(name);
                return Err(Diagnostic::new(
                    Code::BF005,
                    *def_span,
                    format!("`{name}` is defined in terms of itself: {}", cycle.join(" -> ")),
                )
                .with_help("break the cycle: one of these values must not use the others")
                .into());
            }
            None => {}
        }
        if self.stack.borrow().len() >= MAX_LET_DEPTH {
            return Err(Diagnostic::new(
                Code::BF005,
                *def_span,
                format!("`{name}` is defined through a chain of more than {MAX_LET_DEPTH} other `let`s"),
            )
            .with_help("shorten the chain: define values directly rather than through long chains of names")
            .into());
        }
        u.state.borrow_mut().insert(name.to_string(), LetState::Evaluating);
        self.stack.borrow_mut().push(name.to_string());
        let result = self.eval(unit, expr, &[]);
        self.stack.borrow_mut().pop();
        let state = match &result {
            Ok(v) => LetState::Done(v.clone()),
            Err(_) => LetState::Failed,
        };
        u.state.borrow_mut().insert(name.to_string(), state);
        match result {
            Ok(v) => Ok(v),
            Err(EvalError::Diag(d)) => {
                self.let_errors.borrow_mut().push(*d);
                Err(EvalError::Reported)
            }
            Err(EvalError::Reported) => Err(EvalError::Reported),
        }
    }
}
