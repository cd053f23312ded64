//! Whether `docker pull` accepts an image reference, following the grammar of
//! github.com/distribution/reference (`reference.go`, `regexp.go`, `normalize.go`) and the
//! digest rules of github.com/opencontainers/go-digest (`algorithm.go`):
//!
//! ```text
//! reference        := name [ ":" tag ] [ "@" digest ]
//! name             := [domain '/'] path-component ['/' path-component]*
//! domain           := host [':' port-number]
//! host             := domain-component ['.' domain-component]* | '[' IPv6 ']'
//! domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
//! port-number      := /[0-9]+/
//! path-component   := /[a-z0-9]+/ [separator /[a-z0-9]+/]*   separator := /[_.]|__|[-]+/
//! tag              := /[\w][\w.-]{0,127}/
//! digest           := algorithm ":" hex   (sha256: 64, sha384: 96, sha512: 128 lowercase hex)
//! ```

use super::split_domain;

/// Why `docker pull` would refuse a reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefError {
    Empty,
    /// A 64-character hex string: an image id, not a name.
    ImageId,
    /// The repository name (before the tag) has upper-case letters.
    Uppercase(String),
    BadHost(String),
    BadPort(String),
    /// `a//b`, a leading or trailing `/`.
    EmptyComponent,
    BadComponent(String),
    /// The repository path is longer than 255 characters.
    TooLong(usize),
    EmptyTag,
    /// Longer than 128 characters.
    TagTooLong(usize),
    BadTag(String),
    BadDigest(String),
}

/// The longest repository path distribution accepts (`RepositoryNameTotalLengthMax`).
pub const MAX_PATH: usize = 255;
/// The longest tag (`[\w][\w.-]{0,127}`).
pub const MAX_TAG: usize = 128;

impl RefError {
    pub fn message(&self) -> String {
        match self {
            RefError::Empty => "the image reference is empty".into(),
            RefError::ImageId => "a 64-character hex string is an image id, not a repository name".into(),
            RefError::Uppercase(name) => format!("repository name `{name}` must be lowercase"),
            RefError::BadHost(host) => format!("`{host}` is not a valid registry host"),
            RefError::BadPort(port) => format!("registry port `{port}` is not a number"),
            RefError::EmptyComponent => "the repository name has an empty path component".into(),
            RefError::BadComponent(c) => format!("path component `{c}` is not valid in a repository name"),
            RefError::TooLong(n) => format!("the repository name is {n} characters long, over {MAX_PATH}"),
            RefError::EmptyTag => "the tag after `:` is empty".into(),
            RefError::TagTooLong(n) => format!("the tag is {n} characters long, over {MAX_TAG}"),
            RefError::BadTag(tag) => format!("tag `{tag}` is not valid"),
            RefError::BadDigest(why) => format!("the digest {why}"),
        }
    }

    pub fn help(&self) -> &'static str {
        match self {
            RefError::Empty | RefError::ImageId => "name the image as `docker pull` takes it: `[registry/]repository[:tag][@digest]`",
            RefError::Uppercase(_) | RefError::BadComponent(_) | RefError::EmptyComponent => {
                "repository names use lowercase letters, digits and the separators `.`, `_`, `__` and `-` between them, in `/`-separated parts"
            }
            RefError::BadHost(_) | RefError::BadPort(_) => {
                "write the registry as `host[:port]`, e.g. `myregistry.azurecr.io` or `localhost:5000`"
            }
            RefError::TooLong(_) => "shorten the repository name to 255 characters or fewer",
            RefError::EmptyTag | RefError::TagTooLong(_) | RefError::BadTag(_) => {
                "a tag is 1 to 128 letters, digits, `_`, `.` and `-`, and does not start with `.` or `-`"
            }
            RefError::BadDigest(_) => "write the digest as `@sha256:` followed by 64 lowercase hex digits",
        }
    }
}

/// Checks a reference as `docker pull` parses it.
pub fn validate(reference: &str) -> Result<(), RefError> {
    if reference.is_empty() {
        return Err(RefError::Empty);
    }
    if reference.len() == 64 && reference.bytes().all(|b| matches!(b, b'a'..=b'f' | b'0'..=b'9')) {
        return Err(RefError::ImageId);
    }
    let (domain, remainder) = split_domain(reference);
    // As `ParseNormalizedNamed`: everything before the tag must be lowercase.
    let remote = remainder.split([':', '@']).next().unwrap_or(remainder);
    if remote.chars().any(|c| c.is_ascii_uppercase()) {
        return Err(RefError::Uppercase(remote.to_string()));
    }
    if let Some(domain) = domain {
        check_domain(domain)?;
    }
    let (name_tag, digest) = match remainder.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (remainder, None),
    };
    let (path, tag) = match name_tag.rsplit_once(':') {
        Some((p, t)) if !t.contains('/') => (p, Some(t)),
        _ => (name_tag, None),
    };
    check_path(path)?;
    if let Some(tag) = tag {
        check_tag(tag)?;
    }
    if let Some(digest) = digest {
        check_digest(digest)?;
    }
    Ok(())
}

fn check_domain(domain: &str) -> Result<(), RefError> {
    let bad = || RefError::BadHost(domain.to_string());
    let (host, port) = if let Some(rest) = domain.strip_prefix('[') {
        let (ip, after) = rest.split_once(']').ok_or_else(bad)?;
        if ip.is_empty() || !ip.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
            return Err(bad());
        }
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(bad()),
        };
        (None, port)
    } else {
        match domain.split_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(domain), None),
        }
    };
    if let Some(host) = host {
        if !host.split('.').all(domain_component) {
            return Err(bad());
        }
    }
    match port {
        Some(p) if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) => Err(RefError::BadPort(p.to_string())),
        _ => Ok(()),
    }
}

fn domain_component(c: &str) -> bool {
    let bytes = c.as_bytes();
    let edge = |b: Option<&u8>| b.is_some_and(u8::is_ascii_alphanumeric);
    edge(bytes.first()) && edge(bytes.last()) && bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
}

fn check_path(path: &str) -> Result<(), RefError> {
    for component in path.split('/') {
        if component.is_empty() {
            return Err(RefError::EmptyComponent);
        }
        if !path_component(component) {
            return Err(RefError::BadComponent(component.to_string()));
        }
    }
    if path.len() > MAX_PATH {
        return Err(RefError::TooLong(path.len()));
    }
    Ok(())
}

/// `[a-z0-9]+` runs joined by `.`, `_`, `__` or any number of `-`.
fn path_component(c: &str) -> bool {
    let alnum = |ch: char| ch.is_ascii_lowercase() || ch.is_ascii_digit();
    let mut rest = c;
    loop {
        let run = rest.find(|ch: char| !alnum(ch)).unwrap_or(rest.len());
        if run == 0 {
            return false;
        }
        rest = &rest[run..];
        if rest.is_empty() {
            return true;
        }
        let sep = rest.find(alnum).unwrap_or(rest.len());
        if !matches!(&rest[..sep], "." | "_" | "__") && !rest[..sep].bytes().all(|b| b == b'-') {
            return false;
        }
        rest = &rest[sep..];
    }
}

fn check_tag(tag: &str) -> Result<(), RefError> {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    if tag.is_empty() {
        return Err(RefError::EmptyTag);
    }
    if tag.len() > MAX_TAG {
        return Err(RefError::TagTooLong(tag.len()));
    }
    if !tag.starts_with(word) || !tag.chars().all(|c| word(c) || c == '.' || c == '-') {
        return Err(RefError::BadTag(tag.to_string()));
    }
    Ok(())
}

fn check_digest(digest: &str) -> Result<(), RefError> {
    let bad = |why: &str| Err(RefError::BadDigest(why.to_string()));
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return bad("has no `algorithm:` prefix");
    };
    let length = match algorithm {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => {
            return bad(&format!(
                "uses `{algorithm}`; only sha256, sha384 and sha512 are supported"
            ))
        }
    };
    if hex.len() != length {
        return bad(&format!("has {} hex digits; {algorithm} has {length}", hex.len()));
    }
    if !hex.bytes().all(|b| matches!(b, b'a'..=b'f' | b'0'..=b'9')) {
        return bad("must be lowercase hex digits");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "7cc4b5aefd1d0cadf8d97d4350462ba51c694ebca145b08d7d41b41acc8db5aa";

    #[test]
    fn accepts_what_docker_pulls() {
        for r in [
            "ubuntu",
            "ubuntu:24.04",
            "library/ubuntu",
            "localhost:5000/app",
            "localhost:5000",
            "myregistry.azurecr.io/tensorflow/tensorflow:latest-gpu",
            "mcr.microsoft.com/windows/servercore:ltsc2022",
            "[::1]:5000/app:v1",
            "192.168.1.10:5000/a__b/c---d:V_1.0",
            "MyRegistry/app",
            "biocontainers/bwa:v0.7.17_cv1",
            &format!("busybox:latest@sha256:{SHA}"),
            &format!("busybox@sha256:{SHA}"),
        ] {
            assert_eq!(validate(r), Ok(()), "{r}");
        }
    }

    #[test]
    fn refuses_what_docker_refuses() {
        let long_tag = format!("app:{}", "a".repeat(129));
        let cases: Vec<(&str, RefError)> = vec![
            ("", RefError::Empty),
            (SHA, RefError::ImageId),
            ("Ubuntu:24.04", RefError::Uppercase("Ubuntu".into())),
            ("myacr.azurecr.io/MyApp:1", RefError::Uppercase("MyApp".into())),
            ("ubuntu:", RefError::EmptyTag),
            ("ubuntu:-x", RefError::BadTag("-x".into())),
            ("ubuntu:a+b", RefError::BadTag("a+b".into())),
            (&long_tag, RefError::TagTooLong(129)),
            ("a//b", RefError::EmptyComponent),
            ("org/app/", RefError::EmptyComponent),
            ("org/app_", RefError::BadComponent("app_".into())),
            ("org/a...b", RefError::BadComponent("a...b".into())),
            ("my_registry.io/app", RefError::BadHost("my_registry.io".into())),
            ("-bad.io/app", RefError::BadHost("-bad.io".into())),
            ("host.io:50a/app", RefError::BadPort("50a".into())),
            ("host.io:/app", RefError::BadPort(String::new())),
        ];
        for (r, want) in cases {
            assert_eq!(validate(r), Err(want), "{r}");
        }
        for digest in [
            "sha256:abc",
            "md5:0123",
            &format!("sha256:{}", SHA.to_ascii_uppercase()),
            "sha256",
        ] {
            assert!(
                matches!(validate(&format!("app@{digest}")), Err(RefError::BadDigest(_))),
                "{digest}"
            );
        }
        assert_eq!(
            validate(&format!("org/{}", "a".repeat(260))),
            Err(RefError::TooLong(264))
        );
    }
}
