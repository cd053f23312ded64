//! The small parts of OData and HTTP the fake needs: query strings, `$filter` and `$select`,
//! percent-encoding, and Batch's date-time format.

use serde_json::{Map, Value};
use std::time::{SystemTime, UNIX_EPOCH};

/// `%XX` decoding; with `plus`, `+` is a space (query strings, `application/x-www-form-urlencoded`).
pub fn decode(s: &str, plus: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' if plus => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The decoded `name=value` pairs of a query string, in order.
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k, true), decode(v, true)),
            None => (decode(p, true), String::new()),
        })
        .collect()
}

/// `2016-11-22T18:55:25.2608598Z`: RFC 3339 with seven fractional digits, as Batch writes it.
pub fn rfc3339(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
    let (days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:07}Z",
        sod / 3600,
        sod % 3600 / 60,
        sod % 60,
        d.subsec_nanos() / 100
    )
}

/// Keeps the properties `$select` names (top-level, as Batch does) and the `odata.*` ones.
pub fn select(v: Value, fields: Option<&[String]>) -> Value {
    let (Some(fields), Value::Object(map)) = (fields, &v) else {
        return v;
    };
    let mut out = Map::new();
    for (k, item) in map {
        if k.starts_with("odata.") || fields.iter().any(|f| f == k) {
            out.insert(k.clone(), item.clone());
        }
    }
    Value::Object(out)
}

/// The names of a `$select` clause.
pub fn select_list(clause: Option<&str>) -> Option<Vec<String>> {
    clause.map(|c| {
        c.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A parsed `$filter`: comparisons of a property path (`state`, `executionInfo/result`) with a
/// literal, joined by `and`/`or`/`not` and parentheses.
#[derive(Debug, Clone)]
pub enum Filter {
    Or(Vec<Filter>),
    And(Vec<Filter>),
    Not(Box<Filter>),
    Cmp { path: String, op: Op, value: Value },
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Num(f64),
    Open,
    Close,
}

fn tokens(s: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            out.push(Token::Open);
            i += 1;
        } else if c == ')' {
            out.push(Token::Close);
            i += 1;
        } else if c == '\'' {
            let mut text = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(format!("unterminated string in `{s}`")),
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        text.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(ch) => {
                        text.push(*ch);
                        i += 1;
                    }
                }
            }
            out.push(Token::Str(text));
        } else if c.is_ascii_digit() || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            let start = i;
            i += 1;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            out.push(Token::Num(
                text.parse().map_err(|_| format!("bad number `{text}` in `{s}`"))?,
            ));
        } else if c.is_alphanumeric() || c == '_' || c == '/' || c == '.' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '/' | '.')) {
                i += 1;
            }
            out.push(Token::Word(chars[start..i].iter().collect()));
        } else {
            return Err(format!("unexpected `{c}` in `{s}`"));
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek_word(&self, w: &str) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Word(x)) if x == w)
    }

    fn or(&mut self) -> Result<Filter, String> {
        let mut parts = vec![self.and()?];
        while self.peek_word("or") {
            self.at += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Filter::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Filter, String> {
        let mut parts = vec![self.unary()?];
        while self.peek_word("and") {
            self.at += 1;
            parts.push(self.unary()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Filter::And(parts)
        })
    }

    fn unary(&mut self) -> Result<Filter, String> {
        if self.peek_word("not") {
            self.at += 1;
            return Ok(Filter::Not(Box::new(self.unary()?)));
        }
        if self.tokens.get(self.at) == Some(&Token::Open) {
            self.at += 1;
            let inner = self.or()?;
            if self.tokens.get(self.at) != Some(&Token::Close) {
                return Err("missing `)`".into());
            }
            self.at += 1;
            return Ok(inner);
        }
        let Some(Token::Word(path)) = self.tokens.get(self.at).cloned() else {
            return Err("expected a property name".into());
        };
        let op = match self.tokens.get(self.at + 1) {
            Some(Token::Word(w)) => match w.as_str() {
                "eq" => Op::Eq,
                "ne" => Op::Ne,
                "gt" => Op::Gt,
                "ge" => Op::Ge,
                "lt" => Op::Lt,
                "le" => Op::Le,
                other => return Err(format!("unsupported operator `{other}`")),
            },
            _ => return Err(format!("expected an operator after `{path}`")),
        };
        let value = match self.tokens.get(self.at + 2) {
            Some(Token::Str(s)) => Value::String(s.clone()),
            Some(Token::Num(n)) => serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number),
            Some(Token::Word(w)) if w == "true" => Value::Bool(true),
            Some(Token::Word(w)) if w == "false" => Value::Bool(false),
            Some(Token::Word(w)) if w == "null" => Value::Null,
            _ => return Err(format!("expected a literal after `{path}`")),
        };
        self.at += 3;
        Ok(Filter::Cmp { path, op, value })
    }
}

impl Filter {
    pub fn parse(s: &str) -> Result<Filter, String> {
        let mut p = Parser {
            tokens: tokens(s)?,
            at: 0,
        };
        let f = p.or()?;
        if p.at != p.tokens.len() {
            return Err(format!("unexpected text after position {} in `{s}`", p.at));
        }
        Ok(f)
    }

    /// Whether an item matches; `get` reads a property path (`executionInfo/result`).
    pub fn matches(&self, get: &mut dyn FnMut(&str) -> Option<Value>) -> bool {
        match self {
            Filter::Or(parts) => parts.iter().any(|p| p.matches(get)),
            Filter::And(parts) => parts.iter().all(|p| p.matches(get)),
            Filter::Not(inner) => !inner.matches(get),
            Filter::Cmp { path, op, value } => {
                let actual = get(path).unwrap_or(Value::Null);
                let order = match (&actual, value) {
                    (Value::Number(a), Value::Number(b)) => {
                        a.as_f64().zip(b.as_f64()).and_then(|(a, b)| a.partial_cmp(&b))
                    }
                    (Value::String(a), Value::String(b)) => Some(a.as_str().cmp(b.as_str())),
                    (a, b) if a == b => Some(std::cmp::Ordering::Equal),
                    _ => None,
                };
                match op {
                    Op::Eq => order == Some(std::cmp::Ordering::Equal),
                    Op::Ne => order != Some(std::cmp::Ordering::Equal),
                    Op::Gt => order == Some(std::cmp::Ordering::Greater),
                    Op::Ge => matches!(order, Some(std::cmp::Ordering::Greater | std::cmp::Ordering::Equal)),
                    Op::Lt => order == Some(std::cmp::Ordering::Less),
                    Op::Le => matches!(order, Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)),
                }
            }
        }
    }
}

/// A property path (`executionInfo/result`) inside a JSON object.
pub fn lookup(v: &Value, path: &str) -> Option<Value> {
    let mut at = v;
    for part in path.split('/') {
        at = at.get(part)?;
    }
    Some(at.clone())
}
