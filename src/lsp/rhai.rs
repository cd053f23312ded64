//! The functions a hook script declares and the places it calls them: `fn name(` and
//! `name(` outside comments and strings. Enough of Rhai's lexical rules to find names; the
//! script itself is compiled by `hooks`.

/// A function declared in a hook script: its name and the byte range of the name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookFn {
    pub name: String,
    pub start: usize,
    pub end: usize,
}

/// Every function the script declares.
pub fn functions(text: &str) -> Vec<HookFn> {
    words(text)
        .into_iter()
        .filter(|w| w.after_fn)
        .filter_map(|w| {
            Some(HookFn {
                name: text.get(w.start..w.end)?.to_string(),
                start: w.start,
                end: w.end,
            })
        })
        .collect()
}

/// The byte ranges where the script calls function `name` (`name(`, `x.name(`), not where it
/// declares it.
pub fn calls(text: &str, name: &str) -> Vec<(usize, usize)> {
    words(text)
        .into_iter()
        .filter(|w| !w.after_fn && text.get(w.start..w.end) == Some(name))
        .filter(|w| text.get(w.end..).and_then(|rest| rest.trim_start().chars().next()) == Some('('))
        .map(|w| (w.start, w.end))
        .collect()
}

/// A word outside comments and strings.
struct Word {
    start: usize,
    end: usize,
    /// The word before it is `fn`: a declaration.
    after_fn: bool,
}

fn words(text: &str) -> Vec<Word> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut last_word: Option<(usize, usize)> = None;
    while let Some(&c) = b.get(i) {
        match c {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                i = find(b, i, b"\n").unwrap_or(b.len());
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = find(b, i + 2, b"*/").map_or(b.len(), |e| e + 2);
            }
            b'"' | b'`' | b'\'' => {
                i += 1;
                while let Some(&d) = b.get(i) {
                    i += 1;
                    if d == b'\\' {
                        i += 1;
                    } else if d == c {
                        break;
                    }
                }
                last_word = None;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while b.get(i).is_some_and(|d| d.is_ascii_alphanumeric() || *d == b'_') {
                    i += 1;
                }
                let after_fn = last_word.is_some_and(|(s, e)| text.get(s..e) == Some("fn"));
                out.push(Word {
                    start,
                    end: i,
                    after_fn,
                });
                last_word = Some((start, i));
            }
            c if c.is_ascii_whitespace() => i += 1,
            _ => {
                last_word = None;
                i += 1;
            }
        }
    }
    out
}

fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_outside_comments_and_strings() {
        let text = "// fn not_me()\nfn seeds(n) { \"fn nor_me\" }\n/* fn no */ private fn on_complete(run) {}\n";
        let names: Vec<(String, &str)> = functions(text)
            .into_iter()
            .map(|f| (f.name, &text[f.start..f.end]))
            .collect();
        assert_eq!(
            names,
            vec![
                ("seeds".to_string(), "seeds"),
                ("on_complete".to_string(), "on_complete")
            ]
        );
    }

    #[test]
    fn calls_outside_comments_and_strings() {
        let text = "fn seeds(n) { n }\n// seeds(1)\nfn all() { [seeds (2), \"seeds(3)\", x.seeds(), seeds2(4)] }\n";
        let at: Vec<&str> = calls(text, "seeds").into_iter().map(|(s, e)| &text[s..e]).collect();
        assert_eq!(at, ["seeds", "seeds"]);
        let starts: Vec<usize> = calls(text, "seeds").into_iter().map(|(s, _)| s).collect();
        assert_eq!(
            starts,
            [
                text.find("seeds (2)").expect("a call"),
                text.find("seeds()").expect("a call")
            ]
        );
    }
}
