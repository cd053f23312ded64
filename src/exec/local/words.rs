//! A command line split into a program and its arguments, as Batch runs it: "The command line
//! does not run under a shell, and therefore cannot take advantage of shell features such as
//! environment variable expansion" (the `commandLine` description in Batch's REST API).
//!
//! Batch's Linux node agent is closed source; its documented behaviour is that quotes group
//! words (`/bin/sh -c "MyTaskApplication $MY_ENV_VAR"` is one program and two arguments in
//! "Azure Batch runtime environment variables"). The split here is POSIX quoting and nothing
//! else: blanks separate words, `'…'` keeps everything, `"…"` keeps everything but `\$`, `` \` ``,
//! `\"`, `\\` and a backslash-newline, and an unquoted `\` keeps the next character. No
//! variable, tilde or command expansion, no globbing, no operators: `$HOME`, `*.txt`, `|`, `>`,
//! `&&` and `;` are plain characters of their words.
//!
//! It is the `shlex` crate's split but for two things: `shlex` drops a word that starts with `#`
//! and the rest of its line, as a shell comment, where here `#` is an ordinary character (there
//! is no shell to read comments); and `shlex` makes a backslash-newline between words an empty
//! word, where POSIX (and this split) removes it.

/// Why a command line cannot be split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitError {
    /// A `'` or `"` that is never closed.
    UnclosedQuote(char),
    /// A `\` at the very end, with nothing to keep.
    TrailingBackslash,
}

impl std::fmt::Display for SplitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SplitError::UnclosedQuote(q) => write!(f, "a `{q}` is never closed"),
            SplitError::TrailingBackslash => f.write_str("it ends in a lone `\\`"),
        }
    }
}

/// The words of a command line.
pub fn split(line: &str) -> Result<Vec<String>, SplitError> {
    let mut words = Vec::new();
    let mut word = String::new();
    // A word has begun, even when it is still empty (`""` is an empty argument).
    let mut open = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {
                if open {
                    words.push(std::mem::take(&mut word));
                    open = false;
                }
            }
            '\'' => {
                open = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(x) => word.push(x),
                        None => return Err(SplitError::UnclosedQuote('\'')),
                    }
                }
            }
            '"' => {
                open = true;
                double_quoted(&mut chars, &mut word)?;
            }
            '\\' => match chars.next() {
                // A backslash-newline joins two lines.
                Some('\n') => {}
                Some(x) => {
                    open = true;
                    word.push(x);
                }
                None => return Err(SplitError::TrailingBackslash),
            },
            _ => {
                open = true;
                word.push(c);
            }
        }
    }
    if open {
        words.push(word);
    }
    Ok(words)
}

/// The rest of a `"…"`, its closing quote consumed.
fn double_quoted(chars: &mut std::str::Chars<'_>, word: &mut String) -> Result<(), SplitError> {
    loop {
        match chars.next() {
            Some('"') => return Ok(()),
            Some('\\') => match chars.next() {
                Some(x @ ('$' | '`' | '"' | '\\')) => word.push(x),
                Some('\n') => {}
                Some(x) => {
                    word.push('\\');
                    word.push(x);
                }
                None => return Err(SplitError::UnclosedQuote('"')),
            },
            Some(x) => word.push(x),
            None => return Err(SplitError::UnclosedQuote('"')),
        }
    }
}

/// The first thing in a command line that only a shell would act on, as the user wrote it:
/// a variable (`$HOME`, `${HOME}`), a command substitution, a pipe, a redirection, `&&`, `||`,
/// `;`, a glob or a leading `~`. For messages: Batch hands these to the program unchanged.
pub fn shell_syntax(line: &str) -> Option<String> {
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        let next = bytes.get(i + 1).copied();
        let found = match b {
            b'$' => match next {
                Some(b'{') => Some(line[i..].find('}').map_or("${", |end| &line[i..=i + end])),
                Some(b'(') => Some("$("),
                Some(n) if n.is_ascii_alphabetic() || n == b'_' => {
                    let end = line[i + 1..]
                        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .map_or(line.len(), |e| i + 1 + e);
                    Some(&line[i..end])
                }
                _ => None,
            },
            b'`' => Some("`"),
            b'|' if next == Some(b'|') => Some("||"),
            b'|' => Some("|"),
            b'&' if next == Some(b'&') => Some("&&"),
            b'>' if next == Some(b'>') => Some(">>"),
            b'>' => Some(">"),
            b'<' => Some("<"),
            b';' => Some(";"),
            b'*' => Some("*"),
            b'~' if i == 0 || bytes[i - 1] == b' ' => Some("~"),
            _ => None,
        };
        if let Some(text) = found {
            return Some(text.to_string());
        }
    }
    None
}

/// Words that are part of the shell rather than programs on the `PATH`: on Batch they are
/// "not found" like any missing program.
pub fn is_shell_word(word: &str) -> bool {
    const WORDS: &[&str] = &[
        ".", "alias", "break", "case", "cd", "continue", "do", "done", "elif", "else", "esac", "eval", "exec", "exit",
        "export", "fi", "for", "function", "if", "local", "readonly", "return", "set", "shift", "source", "then",
        "trap", "ulimit", "umask", "unset", "until", "wait", "while", "{", "}", "[[", "((",
    ];
    WORDS.contains(&word) || (word.contains('=') && !word.starts_with('='))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn words(line: &str) -> Vec<String> {
        split(line).expect("splits")
    }

    #[test]
    fn quotes_group_and_nothing_expands() {
        assert_eq!(words("echo $HOME"), ["echo", "$HOME"]);
        assert_eq!(words("printf '%s\\n' \"a b\" c\\ d"), ["printf", "%s\\n", "a b", "c d"]);
        assert_eq!(words("sort *.txt > out.txt"), ["sort", "*.txt", ">", "out.txt"]);
        assert_eq!(words("a&&b|c;d"), ["a&&b|c;d"]);
        assert_eq!(
            words("/bin/sh -c 'echo $X > y && z'"),
            ["/bin/sh", "-c", "echo $X > y && z"]
        );
        assert_eq!(words("echo \"\\$X \\q\""), ["echo", "$X \\q"]);
        assert_eq!(words("a '' \"\" b"), ["a", "", "", "b"]);
        assert_eq!(words("  a\t b \\\n c  "), ["a", "b", "c"]);
        assert_eq!(words(""), Vec::<String>::new());
    }

    #[test]
    fn a_hash_is_an_ordinary_character() {
        assert_eq!(words("echo #not-a-comment x"), ["echo", "#not-a-comment", "x"]);
        assert_eq!(shlex::split("echo #not-a-comment x"), Some(vec!["echo".to_string()]));
    }

    #[test]
    fn unclosed_quotes_are_errors() {
        assert_eq!(split("echo 'a"), Err(SplitError::UnclosedQuote('\'')));
        assert_eq!(split("echo \"a"), Err(SplitError::UnclosedQuote('"')));
        assert_eq!(split("echo a\\"), Err(SplitError::TrailingBackslash));
    }

    #[test]
    fn shell_syntax_is_named_as_written() {
        assert_eq!(shell_syntax("echo $HOME/x").as_deref(), Some("$HOME"));
        assert_eq!(shell_syntax("echo ${HOME}/x").as_deref(), Some("${HOME}"));
        assert_eq!(shell_syntax("a | b").as_deref(), Some("|"));
        assert_eq!(shell_syntax("a >> b").as_deref(), Some(">>"));
        assert_eq!(shell_syntax("a && b").as_deref(), Some("&&"));
        assert_eq!(shell_syntax("ls ~/x").as_deref(), Some("~"));
        assert_eq!(shell_syntax("python3 train.py --lr 0.1 a~b"), None);
        assert!(is_shell_word("cd") && is_shell_word("FOO=bar") && !is_shell_word("echo"));
    }

    proptest! {
        // Without `#`, the split is the `shlex` crate's (a reference for POSIX quoting), but
        // for a backslash-newline between words: POSIX removes it, `shlex` makes it an empty
        // word.
        #[test]
        fn matches_shlex_without_hashes(line in "[a-c $'\"\\\\\t\n|>&;*]{0,24}") {
            prop_assume!(!line.contains("\\\n"));
            let ours = split(&line).ok();
            prop_assert_eq!(ours, shlex::split(&line), "line {:?}", line);
        }
    }
}
