//! How a command line reads to a shell, for the rules about command lines that start none
//! (BF218, BF219): its words with quotes removed, and the first shell feature outside quotes.
//! POSIX quoting (`'...'`, `"..."`, `\`) on Linux; `"..."` only on Windows, where cmd.exe
//! expands `%VAR%` even inside quotes.

/// Which shell's syntax a pool's command lines would be written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Posix,
    Windows,
}

/// What a shell would do with a feature that, without one, is passed on as text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    Expand,
    Substitute,
    Pipe,
    Redirect,
    Chain,
}

/// A shell feature in a command line: `$HOME`, `|`, `2>`, `&&`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Feature {
    pub text: String,
    pub effect: Effect,
}

/// Characters that quote, escape or start a shell feature in either dialect: a line without
/// them is its whitespace-separated words and has no feature.
pub const SPECIAL: &[char] = &['$', '`', '|', '&', ';', '<', '>', '%', '\'', '"', '\\'];

/// The words of a command line and its first shell feature.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Scan {
    pub words: Vec<String>,
    pub feature: Option<Feature>,
}

pub fn scan(line: &str, dialect: Dialect) -> Scan {
    let mut s = Scanner {
        chars: line.chars().collect(),
        pos: 0,
        out: Scan::default(),
        word: None,
    };
    match dialect {
        Dialect::Posix => s.posix(),
        Dialect::Windows => s.windows(),
    }
    s.end_word();
    s.out
}

struct Scanner {
    chars: Vec<char>,
    pos: usize,
    out: Scan,
    word: Option<String>,
}

impl Scanner {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn push(&mut self, c: char) {
        self.word.get_or_insert_with(String::new).push(c);
    }

    fn end_word(&mut self) {
        if let Some(w) = self.word.take() {
            self.out.words.push(w);
        }
    }

    fn found(&mut self, text: String, effect: Effect) {
        if self.out.feature.is_none() {
            self.out.feature = Some(Feature { text, effect });
        }
    }

    fn posix(&mut self) {
        let mut quote: Option<char> = None;
        while let Some(c) = self.peek(0) {
            self.pos += 1;
            match (quote, c) {
                (Some('\''), '\'') | (Some('"'), '"') => quote = None,
                (Some('\''), _) => self.push(c),
                (Some(_), '\\') if matches!(self.peek(0), Some('$' | '`' | '"' | '\\')) => {
                    self.push(self.peek(0).unwrap_or(c));
                    self.pos += 1;
                }
                (_, '$') => self.dollar(),
                (_, '`') => self.found("`".into(), Effect::Substitute),
                (Some(_), _) => self.push(c),
                (None, '\'' | '"') => {
                    quote = Some(c);
                    self.word.get_or_insert_with(String::new);
                }
                (None, '\\') => {
                    if let Some(next) = self.peek(0) {
                        self.push(next);
                        self.pos += 1;
                    }
                }
                (None, c) if c.is_whitespace() => self.end_word(),
                (None, '|') => self.operator(c, Effect::Pipe),
                (None, '&') if self.peek(0) == Some('&') => self.operator(c, Effect::Chain),
                (None, ';') if self.peek(0).is_none_or(char::is_whitespace) => self.found(";".into(), Effect::Chain),
                (None, '>' | '<') => self.redirect(c),
                (None, _) => self.push(c),
            }
        }
    }

    fn windows(&mut self) {
        let mut quoted = false;
        while let Some(c) = self.peek(0) {
            self.pos += 1;
            match (quoted, c) {
                (_, '"') => {
                    quoted = !quoted;
                    self.word.get_or_insert_with(String::new);
                }
                (_, '%') => self.percent(),
                (true, _) => self.push(c),
                (false, c) if c.is_whitespace() => self.end_word(),
                (false, '|') => self.operator(c, Effect::Pipe),
                (false, '&') if self.peek(0) == Some('&') || self.word.is_none() => self.operator(c, Effect::Chain),
                (false, '>' | '<') => self.redirect(c),
                (false, _) => self.push(c),
            }
        }
    }

    /// `|`, `||`, `&`, `&&`.
    fn operator(&mut self, c: char, effect: Effect) {
        let mut text = c.to_string();
        if self.peek(0) == Some(c) {
            text.push(c);
            self.pos += 1;
        }
        self.found(text, effect);
    }

    /// `>`, `>>`, `<`, and `2>` when the digit starts the word.
    fn redirect(&mut self, c: char) {
        let mut text = c.to_string();
        if let Some(w) = self
            .word
            .as_deref()
            .filter(|w| w.len() == 1 && w.starts_with(|d: char| d.is_ascii_digit()))
        {
            text.insert_str(0, w);
        }
        if self.peek(0) == Some(c) {
            text.push(c);
        }
        self.found(text, Effect::Redirect);
    }

    /// After a `$`: `$NAME`, `${NAME}`, `$(command)`; anything else is a plain `$`.
    fn dollar(&mut self) {
        match self.peek(0) {
            Some('{') => {
                let end = self.chars[self.pos..].iter().position(|&c| c == '}');
                let text: String = match end {
                    Some(e) => self.chars[self.pos - 1..=self.pos + e].iter().collect(),
                    None => "${".into(),
                };
                self.found(text, Effect::Expand);
            }
            Some('(') => self.found("$(".into(), Effect::Substitute),
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {
                let name: String = self.chars[self.pos..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
                    .collect();
                self.found(format!("${name}"), Effect::Expand);
            }
            _ => {}
        }
        self.push('$');
    }

    /// `%NAME%` (`%ProgramFiles(x86)%` too); a lone `%` as in `%05d` is text.
    fn percent(&mut self) {
        let rest = &self.chars[self.pos..];
        let name_len = rest
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '(' | ')'))
            .count();
        let starts_name = rest.first().is_some_and(|c| c.is_ascii_alphabetic() || *c == '_');
        if starts_name && rest.get(name_len) == Some(&'%') {
            let name: String = rest[..name_len].iter().collect();
            self.found(format!("%{name}%"), Effect::Expand);
        }
        self.push('%');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feature(line: &str, d: Dialect) -> Option<String> {
        scan(line, d).feature.map(|f| f.text)
    }

    #[test]
    fn posix_words_drop_quotes() {
        let s = scan(r#"/bin/sh -c 'echo "$X" | wc' "a b"c \$d"#, Dialect::Posix);
        assert_eq!(s.words, vec!["/bin/sh", "-c", r#"echo "$X" | wc"#, "a bc", "$d"]);
        assert_eq!(s.feature, None);
    }

    #[test]
    fn posix_features_outside_single_quotes() {
        let p = Dialect::Posix;
        assert_eq!(feature("echo $HOME", p).as_deref(), Some("$HOME"));
        assert_eq!(
            feature("echo \"${AZ_BATCH_TASK_DIR}/x\"", p).as_deref(),
            Some("${AZ_BATCH_TASK_DIR}")
        );
        assert_eq!(feature("echo $(date)", p).as_deref(), Some("$("));
        assert_eq!(feature("a | b", p).as_deref(), Some("|"));
        assert_eq!(feature("a || b", p).as_deref(), Some("||"));
        assert_eq!(feature("run 2>err.txt", p).as_deref(), Some("2>"));
        assert_eq!(feature("run >> log", p).as_deref(), Some(">>"));
        assert_eq!(feature("make && make install", p).as_deref(), Some("&&"));
        assert_eq!(feature("cd x; make", p).as_deref(), Some(";"));
        for quiet in [
            "echo '$HOME | x > y'",
            "python -c \"import a; print(a)\"",
            "curl https://x/y?a=1&b=2",
            "echo price: $5 and 100%",
            "echo \\$HOME",
            "--sep=;x",
        ] {
            assert_eq!(feature(quiet, p), None, "{quiet}");
        }
    }

    #[test]
    fn windows_features() {
        let w = Dialect::Windows;
        assert_eq!(
            feature(r"app.exe --out %AZ_BATCH_TASK_WORKING_DIR%\x", w).as_deref(),
            Some("%AZ_BATCH_TASK_WORKING_DIR%")
        );
        assert_eq!(feature(r#"app.exe "%TEMP%""#, w).as_deref(), Some("%TEMP%"));
        assert_eq!(feature("a.exe > out.txt", w).as_deref(), Some(">"));
        assert_eq!(feature("a.exe & b.exe", w).as_deref(), Some("&"));
        assert_eq!(feature(r#"a.exe "x | y""#, w), None);
        assert_eq!(feature("ffmpeg -i frame_%05d.png", w), None);
        assert_eq!(feature("app.exe $HOME 'a'", w), None);
        assert_eq!(scan(r#"c:\app\my.exe "a b""#, w).words, vec![r"c:\app\my.exe", "a b"]);
    }
}
