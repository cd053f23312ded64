//! The workflow's Rhai hook script in a sandbox: bounded operations, call depth, string,
//! array and map sizes; no file, network or process access. Errors are BF011 diagnostics
//! that point into the `.rhai` file.

mod convert;
mod sandbox;

pub use convert::{from_dynamic, to_dynamic};
pub use sandbox::Limits;

use crate::diagnostics::{Code, Diagnostic};
use crate::source::{offset_of, Span, SrcId};
use crate::value::Value;
use rhai::{CallFnOptions, Dynamic, Engine, EvalAltResult, Position, Scope, AST};
use std::sync::{Arc, Mutex};

pub struct Hooks {
    engine: Engine,
    ast: AST,
    src: SrcId,
    text: Arc<str>,
    name: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Hooks {
    /// Compiles a hook script; a syntax error is a BF011 diagnostic in the script.
    pub fn compile(src: SrcId, name: &str, text: Arc<str>, limits: Limits) -> Result<Hooks, Box<Diagnostic>> {
        let log = Arc::new(Mutex::new(Vec::new()));
        let engine = sandbox::engine(limits, Arc::clone(&log));
        let mut hooks = Hooks {
            engine,
            ast: AST::empty(),
            src,
            text,
            name: name.to_string(),
            log,
        };
        match hooks.engine.compile(&*hooks.text) {
            Ok(ast) => {
                hooks.ast = ast;
                Ok(hooks)
            }
            Err(e) => Err(Box::new(
                Diagnostic::new(
                    Code::BF011,
                    hooks.span_at(e.position()),
                    format!("hook script `{}` does not compile: {}", hooks.name, e.err_type()),
                )
                .with_help("fix the Rhai syntax; see https://rhai.rs/book/"),
            )),
        }
    }

    /// The script's text, as compiled (a run keeps a copy to resume with).
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn has_fn(&self, name: &str) -> bool {
        self.ast.iter_functions().any(|f| f.name == name)
    }

    /// Lines the script printed with `print`/`log`/`debug`.
    pub fn take_log(&self) -> Vec<String> {
        self.log.lock().map(|mut l| std::mem::take(&mut *l)).unwrap_or_default()
    }

    /// Calls a script function with batchflow values (`rhai("fn", args)` at compile time).
    pub fn call_value(&self, func: &str, args: &[Value], call_span: Span) -> Result<Value, Diagnostic> {
        let args: Vec<Dynamic> = args.iter().map(to_dynamic).collect();
        let out = self.call(func, args, call_span)?;
        from_dynamic(&out).map_err(|why| {
            Diagnostic::new(
                Code::BF011,
                self.fn_span(func).unwrap_or(call_span),
                format!("hook function `{func}` returned {why}"),
            )
            .with_label(call_span, "called here")
            .with_help("return a string, number, bool, array or map")
        })
    }

    /// Calls a script function with Rhai values.
    pub fn call(&self, func: &str, args: Vec<Dynamic>, call_span: Span) -> Result<Dynamic, Diagnostic> {
        if !self.has_fn(func) {
            let names: Vec<String> = self.ast.iter_functions().map(|f| f.name.to_string()).collect();
            let help = crate::suggest::did_you_mean(func, names.iter().map(String::as_str))
                .unwrap_or_else(|| format!("define `fn {func}(...)` in `{}`", self.name));
            return Err(Diagnostic::new(
                Code::BF011,
                call_span,
                format!("hook script `{}` has no function `{func}`", self.name),
            )
            .with_help(help));
        }
        let arity = args.len();
        let options = CallFnOptions::new().eval_ast(false).rewind_scope(true);
        self.engine
            .call_fn_with_options::<Dynamic>(options, &mut Scope::new(), &self.ast, func, args)
            .map_err(|e| self.runtime_error(func, arity, &e, call_span))
    }

    fn runtime_error(&self, func: &str, arity: usize, err: &EvalAltResult, call_span: Span) -> Diagnostic {
        let inner = innermost(err);
        let (message, help) = match inner {
            EvalAltResult::ErrorTooManyOperations(_) => (
                format!("hook function `{func}` ran out of its operation budget (an endless loop?)"),
                "hook scripts may run a bounded number of operations per call; make the loop end".to_string(),
            ),
            EvalAltResult::ErrorStackOverflow(_) => (
                format!("hook function `{func}` recursed too deeply"),
                "hook scripts may nest calls only a bounded number of levels".to_string(),
            ),
            EvalAltResult::ErrorFunctionNotFound(sig, _) if sig.starts_with(func) => (
                format!("hook function `{func}` does not take {arity} argument(s)"),
                "call it with as many arguments as its `fn` declares".to_string(),
            ),
            other => (
                format!("hook function `{func}` failed: {other}"),
                "fix the script; `rhai` errors point at the line that failed".to_string(),
            ),
        };
        let pos = inner.position();
        let span = if pos.is_none() {
            self.fn_span(func).unwrap_or(call_span)
        } else {
            self.span_at(pos)
        };
        Diagnostic::new(Code::BF011, span, message)
            .with_label(call_span, "called here")
            .with_help(help)
    }

    fn span_at(&self, pos: Position) -> Span {
        match (pos.line(), pos.position()) {
            (Some(line), col) => {
                let start = offset_of(&self.text, line, col.unwrap_or(1));
                let end = self
                    .text
                    .get(start..)
                    .and_then(|r| r.chars().next())
                    .map_or(start, |c| start + c.len_utf8());
                Span::new(self.src, start, end)
            }
            _ => Span::new(self.src, 0, 0),
        }
    }

    /// The `fn NAME` line of a function, to point at when the error has no position.
    fn fn_span(&self, func: &str) -> Option<Span> {
        let needle = format!("fn {func}");
        let start = self.text.find(&needle)?;
        Some(Span::new(self.src, start, start + needle.len()))
    }
}

/// The error inside nested "error in function call" wrappers.
fn innermost(err: &EvalAltResult) -> &EvalAltResult {
    match err {
        EvalAltResult::ErrorInFunctionCall(_, _, inner, _) | EvalAltResult::ErrorInModule(_, inner, _) => {
            innermost(inner)
        }
        other => other,
    }
}
