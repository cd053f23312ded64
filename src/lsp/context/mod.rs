//! Where the cursor is, read from the text alone (the file is mid-edit and may not parse):
//! which block it is in, whether it stands where an attribute name, a value or a name after
//! `on`/`after` goes; and every name the text declares, for completion.

use super::scan::{interpolation, open_at, tokens, Tok, Token};

#[cfg(test)]
mod tests;
mod want;

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
}
