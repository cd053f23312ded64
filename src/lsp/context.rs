//! Where the cursor is, read from the text alone (the file is mid-edit and may not parse):
//! which block it is in, whether it stands where an attribute name, a value or a name after
//! `on`/`after` goes; and every name the text declares, for completion.

use super::scan::{tokens, Tok, Token};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeclKind {
    Param,
    Let,
    Import,
    Registry,
    Pool,
    Job,
    Task,
}

/// A name the text declares; tasks know their job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decl {
    pub kind: DeclKind,
    pub name: String,
    pub job: Option<String>,
}

/// What goes where the cursor is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Want {
    /// A top-level item's keyword.
    Item,
    /// An attribute or block name in the block reached by `path` (`["pool", "containers"]`).
    Key(Vec<String>),
    /// The value of `key` in the block at `path` (`key` is `None` for a `let` or a call argument).
    Value {
        path: Vec<String>,
        key: Option<String>,
    },
    /// The text of a string that is the value of `key` (or an argument of function `call`);
    /// `start..end` is the string's text.
    Str {
        path: Vec<String>,
        key: Option<String>,
        call: Option<String>,
        start: usize,
        end: usize,
    },
    /// A pool name: `job NAME on |`.
    Pool,
    /// A task of job `job`: `task NAME after |`.
    Task(Option<String>),
    /// A job name: `after = |` in a job.
    Job,
    /// A registry name: `registries = [|]`.
    Registry,
    /// A param's type: `param n: |`.
    Type,
    Nothing,
}

/// The cursor's context: what goes there, the start of the word being typed (the range to
/// replace runs from it to the cursor), and the loop variables in scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub want: Want,
    pub word_start: usize,
    pub loop_vars: Vec<String>,
}

/// The declarations of the whole text, and the context at `cursor` if one is given.
pub struct Scan {
    pub decls: Vec<Decl>,
    pub cursor: Option<Cursor>,
}

#[derive(Clone, Debug, PartialEq)]
enum Kind {
    Top,
    /// A block: its path of words, and its job's name inside a job.
    Block(Vec<String>, Option<String>),
    Map,
    List,
    Call,
}

struct Frame {
    kind: Kind,
    /// For a call, the function's name.
    call: Option<String>,
    toks: Vec<Token>,
    stmt: usize,
    stmt_has_eq: bool,
    vars: Vec<String>,
    pending_vars: Vec<String>,
}

impl Frame {
    fn new(kind: Kind, vars: Vec<String>) -> Frame {
        Frame {
            kind,
            call: None,
            toks: Vec::new(),
            stmt: 0,
            stmt_has_eq: false,
            vars,
            pending_vars: Vec::new(),
        }
    }

    fn statement(&self) -> &[Token] {
        self.toks.get(self.stmt..).unwrap_or(&[])
    }
}

pub fn scan(text: &str, cursor: Option<usize>) -> Scan {
    let mut s = Scanner {
        text,
        stack: vec![Frame::new(Kind::Top, Vec::new())],
        decls: Vec::new(),
    };
    let mut found = None;
    for t in tokens(text) {
        if let (Some(at), None) = (cursor, &found) {
            if t.start >= at {
                found = Some(s.context(at, None));
            } else if at <= t.end && (t.tok == Tok::Word || t.tok == Tok::Str && open_at(text, t, at)) {
                // In the token: its statement is known once it is in (a word on a new line
                // starts one), and the context is what comes before it.
                s.token(t);
                found = Some(match interpolation(text, t, at) {
                    Some(from) => s.inside(from, at),
                    None => s.context(at, Some(t)),
                });
                continue;
            }
        }
        s.token(t);
    }
    if let (Some(at), None) = (cursor, &found) {
        found = Some(s.context(at, None));
    }
    Scan {
        decls: s.decls,
        cursor: found,
    }
}

/// The start of the innermost `${ … }` of string token `t` that holds `at`.
fn interpolation(text: &str, t: Token, at: usize) -> Option<usize> {
    let b = text.as_bytes();
    // Open interpolations (the byte after each `${`) and whether we are in text or code.
    let mut open: Vec<(usize, u32)> = Vec::new();
    let mut in_text = true;
    let mut i = t.start + 1;
    while i < at.min(t.end) {
        let c = b.get(i).copied().unwrap_or(0);
        if in_text {
            match c {
                b'\\' => i += 1,
                b'"' => in_text = false,
                b'$' if b.get(i + 1) == Some(&b'{') => {
                    open.push((i + 2, 0));
                    in_text = false;
                    i += 1;
                }
                _ => {}
            }
        } else {
            match c {
                b'"' => in_text = true,
                b'{' => {
                    if let Some(o) = open.last_mut() {
                        o.1 += 1;
                    }
                }
                b'}' => match open.last_mut() {
                    Some((_, 0)) => {
                        open.pop();
                        in_text = true;
                    }
                    Some((_, n)) => *n -= 1,
                    None => {}
                },
                _ => {}
            }
        }
        i += 1;
    }
    // In code (not in a nested string's text) inside an interpolation.
    open.last().map(|o| o.0)
}

/// Whether `at` is inside string token `t` (not just after its closing quote).
fn open_at(text: &str, t: Token, at: usize) -> bool {
    let closed = t.end - t.start >= 2 && text.as_bytes().get(t.end - 1) == Some(&b'"') && t.end <= text.len();
    at < t.end || !closed
}

struct Scanner<'a> {
    text: &'a str,
    stack: Vec<Frame>,
    decls: Vec<Decl>,
}

impl Scanner<'_> {
    fn word(&self, t: &Token) -> &str {
        if t.tok == Tok::Word {
            self.text.get(t.start..t.end).unwrap_or("")
        } else {
            ""
        }
    }

    fn top(&mut self) -> &mut Frame {
        if self.stack.is_empty() {
            self.stack.push(Frame::new(Kind::Top, Vec::new()));
        }
        let last = self.stack.len() - 1;
        &mut self.stack[last]
    }

    fn token(&mut self, t: Token) {
        match t.tok {
            Tok::Punct(b'{') => {
                let kind = self.block_kind();
                let vars = std::mem::take(&mut self.top().pending_vars);
                self.push(t);
                let mut inherited: Vec<String> = self.stack.last().map(|f| f.vars.clone()).unwrap_or_default();
                inherited.extend(vars);
                self.stack.push(Frame::new(kind, inherited));
            }
            Tok::Punct(b'[') | Tok::Punct(b'(') => {
                self.push(t);
                let kind = if t.tok == Tok::Punct(b'[') {
                    Kind::List
                } else {
                    Kind::Call
                };
                let vars = self.stack.last().map(|f| f.vars.clone()).unwrap_or_default();
                let before = self
                    .stack
                    .last()
                    .and_then(|f| f.toks.len().checked_sub(2).and_then(|i| f.toks.get(i)));
                let call = before.filter(|_| kind == Kind::Call).map(|b| self.word(b).to_string());
                let mut frame = Frame::new(kind, vars);
                frame.call = call;
                self.stack.push(frame);
            }
            Tok::Punct(close @ (b'}' | b']' | b')')) => {
                let want = match close {
                    b'}' => |k: &Kind| matches!(k, Kind::Block(..) | Kind::Map),
                    b']' => |k: &Kind| *k == Kind::List,
                    _ => |k: &Kind| *k == Kind::Call,
                };
                // A stray closer closes nothing; a missing one is forgiven up to its opener.
                if let Some(i) = self.stack.iter().rposition(|f| want(&f.kind)).filter(|i| *i > 0) {
                    let closed = self.stack.split_off(i);
                    if close == b']' {
                        self.sweep_vars(closed.first());
                    }
                }
                self.push(t);
                if close == b'}' {
                    let f = self.top();
                    f.stmt = f.toks.len();
                    f.stmt_has_eq = false;
                }
            }
            _ => self.push(t),
        }
    }

    /// Loop variables of a closed `[...]` that belongs to a task header.
    fn sweep_vars(&mut self, list: Option<&Frame>) {
        let Some(list) = list else { return };
        let is_task = self.stack.last().is_some_and(|f| {
            let s = f.statement();
            s.first().is_some_and(|t| self.word(t) == "task")
        });
        if !is_task {
            return;
        }
        let names: Vec<String> = list
            .toks
            .windows(2)
            .filter(|w| self.word(&w[1]) == "in" && w[0].tok == Tok::Word)
            .map(|w| self.word(&w[0]).to_string())
            .collect();
        self.top().pending_vars.extend(names);
    }

    fn push(&mut self, t: Token) {
        let text = self.text;
        let word = |t: &Token| {
            if t.tok == Tok::Word {
                text.get(t.start..t.end).unwrap_or("")
            } else {
                ""
            }
        };
        let top_level = self.stack.len() == 1;
        let f = self.top();
        let starts = match f.toks.last() {
            None => true,
            Some(prev) => {
                let ends = matches!(prev.tok, Tok::Word | Tok::Str | Tok::Punct(b'}' | b']' | b')'))
                    && !matches!(word(prev), "on" | "after" | "in" | "as");
                t.line_first && matches!(t.tok, Tok::Word | Tok::Str) && ends && !matches!(word(&t), "after" | "on")
            }
        };
        if starts {
            f.stmt = f.toks.len();
            f.stmt_has_eq = false;
        }
        f.toks.push(t);
        match t.tok {
            Tok::Punct(b'=') => f.stmt_has_eq = true,
            Tok::Punct(b';') => {
                f.stmt = f.toks.len();
                f.stmt_has_eq = false;
            }
            Tok::Punct(b',') if f.stmt_has_eq => {
                f.stmt = f.toks.len();
                f.stmt_has_eq = false;
            }
            _ => {}
        }
        if top_level {
            self.global_decl();
        }
    }

    /// `param NAME`, `let NAME`, `import "…" [as NAME]` at the top level, once their name is in.
    fn global_decl(&mut self) {
        let Some(f) = self.stack.first() else { return };
        let s = f.statement();
        let words: Vec<&str> = s.iter().map(|t| self.word(t)).collect();
        let decl = match (words.as_slice(), s) {
            (["param", name], _) if !name.is_empty() => Some((DeclKind::Param, name.to_string())),
            (["let", name], _) if !name.is_empty() => Some((DeclKind::Let, name.to_string())),
            (["import", "", "as", name], _) if !name.is_empty() => Some((DeclKind::Import, name.to_string())),
            (["import", ""], [_, path]) if path.tok == Tok::Str => {
                let text = self.text.get(path.start..path.end).unwrap_or("").trim_matches('"');
                let alias = text.rsplit('/').next().unwrap_or(text);
                Some((DeclKind::Import, alias.to_string()))
            }
            _ => None,
        };
        if let Some((kind, name)) = decl {
            self.decls.push(Decl { kind, name, job: None });
        }
    }

    /// What a `{` opens, from the statement before it; records pools, jobs and tasks.
    fn block_kind(&mut self) -> Kind {
        let Some(f) = self.stack.last() else { return Kind::Map };
        let s = f.statement();
        let text = self.text;
        let words: Vec<&str> = s
            .iter()
            .map(|t| {
                if t.tok == Tok::Word {
                    text.get(t.start..t.end).unwrap_or("")
                } else {
                    ""
                }
            })
            .collect();
        if s.last().is_some_and(|t| t.tok == Tok::Punct(b'=')) || matches!(f.kind, Kind::List | Kind::Call | Kind::Map)
        {
            return Kind::Map;
        }
        let (path, job) = match &f.kind {
            Kind::Block(path, job) => (path.clone(), job.clone()),
            _ => (Vec::new(), None),
        };
        let first = words.first().copied().unwrap_or("");
        let name = words.get(1).copied().filter(|n| !n.is_empty()).map(str::to_string);
        let mut decl = |kind| {
            if let Some(name) = &name {
                self.decls.push(Decl {
                    kind,
                    name: name.clone(),
                    job: job.clone(),
                });
            }
        };
        if path.is_empty() {
            match first {
                "pool" => decl(DeclKind::Pool),
                "registry" => decl(DeclKind::Registry),
                "job" => {
                    decl(DeclKind::Job);
                    return Kind::Block(vec!["job".into()], name);
                }
                _ => {}
            }
            return Kind::Block(vec![first.to_string()], None);
        }
        if first == "task" && path == ["job"] {
            decl(DeclKind::Task);
        }
        let mut child = path;
        child.push(first.to_string());
        Kind::Block(child, job)
    }

    /// The context inside an interpolation that starts at `from`: an expression there.
    fn inside(&self, from: usize, at: usize) -> Cursor {
        let part = self.text.get(from..).unwrap_or("");
        let sub = scan(part, Some(at - from)).cursor;
        let vars = self.stack.last().map(|f| f.vars.clone()).unwrap_or_default();
        let mut c = sub.unwrap_or(Cursor {
            want: Want::Nothing,
            word_start: at - from,
            loop_vars: Vec::new(),
        });
        c.word_start += from;
        c.loop_vars = vars;
        c.want = match c.want {
            Want::Str { call, start, end, .. } => Want::Str {
                path: Vec::new(),
                key: None,
                call,
                start: start + from,
                end: end + from,
            },
            Want::Item | Want::Nothing | Want::Value { .. } => Want::Value {
                path: Vec::new(),
                key: None,
            },
            other => other,
        };
        c
    }

    /// The context at `at`; `word` is the word or string the cursor is in.
    fn context(&self, at: usize, word: Option<Token>) -> Cursor {
        let vars = self.stack.last().map(|f| f.vars.clone()).unwrap_or_default();
        let word_start = match word {
            Some(t) if t.tok == Tok::Word => t.start,
            _ => at,
        };
        let want = self.want(word).unwrap_or(Want::Nothing);
        Cursor {
            want,
            word_start,
            loop_vars: vars,
        }
    }

    fn want(&self, word: Option<Token>) -> Option<Want> {
        let f = self.stack.last()?;
        let mut s = f.statement();
        if let (Some(w), Some((last, before))) = (word, s.split_last()) {
            if last.start == w.start {
                s = before;
            }
        }
        let words: Vec<&str> = s.iter().map(|t| self.word(t)).collect();
        let eq = s.iter().position(|t| t.tok == Tok::Punct(b'='));
        let key = eq
            .filter(|i| *i == 1)
            .and_then(|_| words.first())
            .map(|k| k.to_string());
        let (path, job) = match &f.kind {
            Kind::Block(p, j) => (p.clone(), j.clone()),
            _ => (Vec::new(), None),
        };
        if let Some(t) = word.filter(|t| t.tok == Tok::Str) {
            let (path, key) = match f.kind {
                Kind::List | Kind::Call => self.outer_key(),
                _ => (path, key),
            };
            let raw = raw_prefix(self.text, t.start);
            let end = if self.text.as_bytes().get(t.end - 1) == Some(&b'"') && t.end - t.start > raw + 1 {
                t.end - 1 - raw
            } else {
                t.end
            };
            return Some(Want::Str {
                path,
                key,
                call: f.call.clone(),
                start: t.start + raw + 1,
                end: end.max(t.start + raw + 1),
            });
        }
        Some(match &f.kind {
            Kind::Top => match words.as_slice() {
                [] => Want::Item,
                ["job", _, "on"] => Want::Pool,
                ["param", _, ..] if eq.is_none() && s.get(2).is_some_and(|t| t.tok == Tok::Punct(b':')) => Want::Type,
                _ if eq.is_some() => Want::Value { path, key: None },
                _ => Want::Nothing,
            },
            Kind::Block(..) => match words.as_slice() {
                [] => Want::Key(path),
                ["task", ..] if words.contains(&"after") && eq.is_none() => Want::Task(job),
                [k, ..] if eq == Some(1) => match (path.as_slice(), *k) {
                    ([j], "after") if j == "job" => Want::Job,
                    (_, "registries") => Want::Registry,
                    _ => Want::Value { path, key },
                },
                _ => Want::Nothing,
            },
            Kind::Map => match eq {
                Some(_) => Want::Value { path, key: None },
                None => Want::Nothing,
            },
            Kind::List | Kind::Call => {
                let (path, key) = self.outer_key();
                match (path.as_slice(), key.as_deref()) {
                    ([j], Some("after")) if j == "job" => Want::Job,
                    (_, Some("registries")) => Want::Registry,
                    _ => Want::Value { path, key },
                }
            }
        })
    }

    /// For a list or call: the block path and attribute key of the statement it is part of.
    fn outer_key(&self) -> (Vec<String>, Option<String>) {
        let outer = self
            .stack
            .iter()
            .rev()
            .find(|f| !matches!(f.kind, Kind::List | Kind::Call));
        let Some(f) = outer else { return (Vec::new(), None) };
        let s = f.statement();
        let key = match s {
            [k, eq, ..] if eq.tok == Tok::Punct(b'=') => Some(self.word(k).to_string()),
            _ => None,
        };
        let path = match &f.kind {
            Kind::Block(p, _) => p.clone(),
            _ => Vec::new(),
        };
        (path, key)
    }
}

/// The length of a raw string's `r#…` before its quote.
fn raw_prefix(text: &str, start: usize) -> usize {
    let b = text.as_bytes();
    if b.get(start) == Some(&b'r') {
        1 + b
            .get(start + 1..)
            .map_or(0, |rest| rest.iter().take_while(|c| **c == b'#').count())
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The context at the `|` of `text`.
    fn at(text: &str) -> Cursor {
        let at = text.find('|').expect("a cursor");
        let text = text.replace('|', "");
        scan(&text, Some(at)).cursor.expect("a context")
    }

    fn want(text: &str) -> Want {
        at(text).want
    }

    fn path(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn keys_in_nested_blocks() {
        assert_eq!(want("pool a {\n  vm|"), Want::Key(path(&["pool"])));
        assert_eq!(at("pool a {\n  vm|").word_start, 11);
        assert_eq!(
            want("pool a {\n  containers {\n    |\n  }\n}"),
            Want::Key(path(&["pool", "containers"]))
        );
        assert_eq!(
            want("job j on a {\n  task t[s in 0..2] after x {\n    |"),
            Want::Key(path(&["job", "task"]))
        );
        assert_eq!(want("pool a { vm_size = \"x\", |"), Want::Key(path(&["pool"])));
        assert_eq!(want("|"), Want::Item);
        assert_eq!(want("pool a {}\n|"), Want::Item);
    }

    #[test]
    fn values_names_and_strings() {
        assert_eq!(
            want("pool a {\n  vm_size = \"Stan|\"\n}"),
            Want::Str {
                path: path(&["pool"]),
                key: Some("vm_size".into()),
                call: None,
                start: 22,
                end: 26,
            }
        );
        assert_eq!(
            want("pool a {\n  elevation = ad|"),
            Want::Value {
                path: path(&["pool"]),
                key: Some("elevation".into())
            }
        );
        assert_eq!(want("job j on |"), Want::Pool);
        assert_eq!(want("job j on p {\n  task b after a, |"), Want::Task(Some("j".into())));
        assert_eq!(want("job j on p {\n  after = [|"), Want::Job);
        assert_eq!(want("pool p {\n  containers { registries = [acr, |] }"), Want::Registry);
        assert_eq!(want("param n: |"), Want::Type);
        assert!(matches!(want("let x = rhai(\"se|\")"), Want::Str { call: Some(c), .. } if c == "rhai"));
        let inner = want("let x = \"a ${rhai(\"se|\")} b\"");
        assert!(
            matches!(&inner, Want::Str { call: Some(c), start: 19, .. } if c == "rhai"),
            "{inner:?}"
        );
        assert!(matches!(want("let x = \"a ${se|}\""), Want::Value { key: None, .. }));
        let c = at("job j on p {\n  task t[s in 0..2, lr in [1]] {\n    command = \"${|");
        assert_eq!(c.loop_vars, vec!["s".to_string(), "lr".to_string()]);
    }

    #[test]
    fn declarations_survive_broken_text() {
        let text = "param n: int = 1\nlet x = \"a\nimport \"std/images\"\npool p { vm_size = }\njob j on p {\n task a { }\n task b after { \n";
        let decls = scan(text, None).decls;
        let names: Vec<(&DeclKind, &str)> = decls.iter().map(|d| (&d.kind, d.name.as_str())).collect();
        assert_eq!(names, vec![(&DeclKind::Param, "n"), (&DeclKind::Let, "x")]);
        let text = "param n: int = 1\nimport \"std/images\"\npool p { vm_size = }\njob j on p {\n task a { }\n task b after { \n";
        let decls = scan(text, None).decls;
        let names: Vec<(&DeclKind, &str)> = decls.iter().map(|d| (&d.kind, d.name.as_str())).collect();
        assert_eq!(
            names,
            vec![
                (&DeclKind::Param, "n"),
                (&DeclKind::Import, "images"),
                (&DeclKind::Pool, "p"),
                (&DeclKind::Job, "j"),
                (&DeclKind::Task, "a"),
                (&DeclKind::Task, "b"),
            ]
        );
        assert_eq!(decls.last().and_then(|d| d.job.as_deref()), Some("j"));
    }
}
