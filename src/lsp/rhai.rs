//! The functions a hook script declares, and where: `fn name(` outside comments and strings.
//! Enough of Rhai's lexical rules to find declarations; the script itself is compiled by
//! `hooks`.

/// A function declared in a hook script: its name and the byte range of the name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookFn {
    pub name: String,
    pub start: usize,
    pub end: usize,
}

pub fn functions(text: &str) -> Vec<HookFn> {
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
                if last_word.is_some_and(|(s, e)| text.get(s..e) == Some("fn")) {
                    if let Some(name) = text.get(start..i) {
                        out.push(HookFn {
                            name: name.to_string(),
                            start,
                            end: i,
                        });
                    }
                }
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
}
