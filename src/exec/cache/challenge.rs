//! `WWW-Authenticate` challenges as a container registry sends them with a 401:
//! `Bearer realm="...",service="...",scope="..."` or `Basic realm="..."` (RFC 7235 section
//! 4.1; quoted values may hold commas and escaped quotes).

/// One challenge: its scheme as sent, its parameters with lowercase names.
#[derive(Debug, PartialEq, Eq)]
pub struct Challenge {
    pub scheme: String,
    pub params: Vec<(String, String)>,
}

impl Challenge {
    pub fn parse(header: &str) -> Option<Challenge> {
        let header = header.trim();
        let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
        if scheme.is_empty() {
            return None;
        }
        let mut params = Vec::new();
        let mut chars = rest.chars().peekable();
        loop {
            while chars.next_if(|c| c.is_whitespace() || *c == ',').is_some() {}
            let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=')).collect();
            if chars.next().is_none() {
                break;
            }
            let mut value = String::new();
            if chars.next_if_eq(&'"').is_some() {
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => value.extend(chars.next()),
                        c => value.push(c),
                    }
                }
            } else {
                value.extend(std::iter::from_fn(|| chars.next_if(|c| *c != ',')));
            }
            params.push((key.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
        Some(Challenge {
            scheme: scheme.to_string(),
            params,
        })
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_are_read_with_quoted_commas() {
        let c = Challenge::parse(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull,push""#,
        )
        .expect("a challenge");
        assert_eq!(c.scheme, "Bearer");
        assert_eq!(c.param("realm"), Some("https://auth.docker.io/token"));
        assert_eq!(c.param("service"), Some("registry.docker.io"));
        assert_eq!(c.param("scope"), Some("repository:a/b:pull,push"));
        let b = Challenge::parse(r#"Basic realm="say \"hi\"", charset=UTF-8"#).expect("a challenge");
        assert_eq!(b.param("realm"), Some(r#"say "hi""#));
        assert_eq!(b.param("charset"), Some("UTF-8"));
        assert_eq!(Challenge::parse(""), None);
    }
}
