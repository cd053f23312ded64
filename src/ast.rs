//! The syntax tree of one `.batchflow` file. It knows nothing of Azure: it is what was
//! written, with a byte span on every node.

use crate::source::Span;

#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

#[derive(Clone, Debug, Default)]
pub struct File {
    pub items: Vec<Item>,
    /// Every comment (`#` to the end of its line), in order: the grammar skips them, tools
    /// that print the file again (the formatter) put them back.
    pub comments: Vec<Span>,
}

#[derive(Clone, Debug)]
pub enum Item {
    /// `workflow "name"`
    Workflow(Expr),
    /// `import "std/images" as img`
    Import {
        path: Expr,
        alias: Option<Ident>,
        span: Span,
    },
    /// `hooks = "sweep.rhai"`
    Hooks(Expr),
    /// `param seeds: int = 8`
    Param {
        name: Ident,
        ty: TypeExpr,
        default: Option<Expr>,
        span: Span,
    },
    /// `let data = "..."`
    Let { name: Ident, value: Expr, span: Span },
    /// `registry acr { ... }`, `pool gpu { ... }`
    Resource {
        kind: ResourceKind,
        name: Ident,
        body: Block,
        span: Span,
    },
    /// `storage { account = "...", container = "..." }`: where repository files and `az://`
    /// paths go.
    Storage { body: Block, span: Span },
    /// `job sweep on gpu { ... }`
    Job {
        name: Ident,
        pool: Ident,
        body: Block,
        span: Span,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceKind {
    Registry,
    Pool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TypeExpr {
    Int,
    Float,
    String,
    Bool,
    Duration,
    List(Box<TypeExpr>),
}

impl std::fmt::Display for TypeExpr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TypeExpr::Int => f.write_str("int"),
            TypeExpr::Float => f.write_str("float"),
            TypeExpr::String => f.write_str("string"),
            TypeExpr::Bool => f.write_str("bool"),
            TypeExpr::Duration => f.write_str("duration"),
            TypeExpr::List(inner) => write!(f, "list<{inner}>"),
        }
    }
}

/// `{ attr | name { ... } | task ... }`
#[derive(Clone, Debug, Default)]
pub struct Block {
    pub entries: Vec<Entry>,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum Entry {
    Attr(Attr),
    Nested(Nested),
    Task(TaskDecl),
}

/// `key = value`; keys are identifiers or strings (`"data/train.csv" = ...`).
#[derive(Clone, Debug)]
pub struct Attr {
    /// The name as written; for an interpolated string key, its text between the quotes.
    pub key: Ident,
    /// A string key with `${...}` in it (`"${s}.fq" = ...` in `inputs`/`outputs`), evaluated
    /// per sweep instance; attribute names never have one.
    pub key_expr: Option<Expr>,
    pub value: Expr,
    pub span: Span,
}

/// `containers { ... }`, `env { ... }`
#[derive(Clone, Debug)]
pub struct Nested {
    pub name: Ident,
    pub body: Block,
    pub span: Span,
}

/// `task train[s in 0..seeds, lr in lrs] after prepare { ... }`
#[derive(Clone, Debug)]
pub struct TaskDecl {
    pub name: Ident,
    pub loops: Vec<LoopVar>,
    pub after: Vec<Ident>,
    pub body: Block,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub struct LoopVar {
    pub name: Ident,
    pub source: Expr,
}

#[derive(Clone, Debug)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug)]
pub enum ExprKind {
    /// A string; plain and raw strings are a single literal part.
    Str(Vec<StrPart>),
    Int(i64),
    Float(f64),
    /// Whole seconds.
    Duration(u64),
    Bool(bool),
    List(Vec<Expr>),
    Map(Vec<Attr>),
    /// `name` or `module.member`
    Path(Vec<Ident>),
    Call {
        name: Ident,
        args: Vec<Arg>,
    },
    /// `a + b + c`, kept flat so long chains never recurse deeply.
    Sum(Vec<Expr>),
    /// `start..end`, end exclusive.
    Range(Box<Expr>, Box<Expr>),
}

#[derive(Clone, Debug)]
pub enum StrPart {
    Lit(String),
    Interp(Expr),
}

#[derive(Clone, Debug)]
pub struct Arg {
    pub name: Option<Ident>,
    pub value: Expr,
}

impl Expr {
    /// The single bare word of a path like `admin`, if that is all the expression is.
    pub fn as_word(&self) -> Option<&Ident> {
        match &self.kind {
            ExprKind::Path(parts) if parts.len() == 1 => parts.first(),
            _ => None,
        }
    }

    /// The text of a string with no interpolation.
    pub fn as_plain_str(&self) -> Option<String> {
        match &self.kind {
            ExprKind::Str(parts) => parts
                .iter()
                .map(|p| match p {
                    StrPart::Lit(s) => Some(s.as_str()),
                    StrPart::Interp(_) => None,
                })
                .collect(),
            _ => None,
        }
    }
}

impl File {
    /// The `hooks = "..."` item's path, if any.
    pub fn hooks_path(&self) -> Option<(String, Span)> {
        self.items.iter().find_map(|item| match item {
            Item::Hooks(expr) => expr.as_plain_str().map(|s| (s, expr.span)),
            _ => None,
        })
    }
}
