//! Container image references as `docker pull` reads them: `ubuntu`,
//! `myregistry.azurecr.io/tf/tf:latest-gpu`, `host:5000/app@sha256:...`. [`grammar`] says
//! whether one is valid at all (the checker's BF222); [`ImageRef`] names the registry,
//! repository and tag or digest (the checker's registry rules, the task cache's registry
//! lookups). A leaf: it imports nothing else of the crate.

mod grammar;

pub use grammar::{validate, RefError};

/// A parsed, normalized image reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRef {
    /// Registry host, lowercase; `docker.io` when none is written.
    pub host: String,
    /// Repository path; `library/NAME` for official Docker Hub images.
    pub path: String,
    /// Tag (default `latest`) or digest.
    pub tag: String,
}

const DOCKER_HUB: &str = "docker.io";

/// Registry hosts that serve public images without credentials.
const PUBLIC_HOSTS: &[&str] = &[
    "docker.io",
    "mcr.microsoft.com",
    "ghcr.io",
    "quay.io",
    "nvcr.io",
    "gcr.io",
    "public.ecr.aws",
    "registry.k8s.io",
];

impl ImageRef {
    pub fn parse(reference: &str) -> ImageRef {
        let (first, rest) = split_domain(reference.trim());
        let host = first.map_or_else(|| DOCKER_HUB.to_string(), normalize_host);
        // A digest names the image whatever the tag beside it says (`name:tag@digest`).
        let (name_tag, digest) = match rest.split_once('@') {
            Some((name_tag, digest)) => (name_tag, Some(digest)),
            None => (rest, None),
        };
        let (name, tag) = match name_tag.rsplit_once(':') {
            Some((name, tag)) if !tag.contains('/') => (name, tag),
            _ => (name_tag, "latest"),
        };
        let tag = digest.unwrap_or(tag).to_string();
        let path = if host == DOCKER_HUB && !name.contains('/') {
            format!("library/{name}")
        } else {
            name.to_string()
        };
        ImageRef {
            host,
            path: path.to_ascii_lowercase(),
            tag,
        }
    }

    /// The digest the reference pins (`sha256:...`), if it names one.
    pub fn digest(&self) -> Option<&str> {
        // A tag cannot hold `:`; a digest always does (`algorithm:hex`).
        self.tag.contains(':').then_some(self.tag.as_str())
    }

    /// Whether the image comes from a registry that needs no credentials.
    pub fn is_public(&self) -> bool {
        PUBLIC_HOSTS.contains(&self.host.as_str())
    }

    pub fn same_image(&self, other: &ImageRef) -> bool {
        self == other
    }
}

/// The registry part of a reference and the rest, as distribution's `splitDockerDomain`
/// decides: the first `/`-separated part is a registry when it is `localhost`, contains `.`
/// or `:`, or has upper-case letters (repository names cannot).
pub fn split_domain(reference: &str) -> (Option<&str>, &str) {
    match reference.split_once('/') {
        Some((first, rest))
            if first == "localhost" || first.contains(['.', ':']) || first.chars().any(|c| c.is_ascii_uppercase()) =>
        {
            (Some(first), rest)
        }
        _ => (None, reference),
    }
}

/// `https://MyRegistry.azurecr.io/` -> `myregistry.azurecr.io`; Docker Hub aliases (also
/// `https://index.docker.io/v1/`, the server `docker login` records) -> `docker.io`.
pub fn normalize_host(server: &str) -> String {
    let bare = server
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let host = bare.split('/').next().unwrap_or(bare).to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "hub.docker.com" | "registry.hub.docker.com" | "" => {
            DOCKER_HUB.to_string()
        }
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn official_images_normalize() {
        let a = ImageRef::parse("ubuntu");
        assert_eq!(a, ImageRef::parse("docker.io/library/ubuntu:latest"));
        assert_eq!(a.host, "docker.io");
        assert!(a.is_public());
    }

    #[test]
    fn private_hosts_and_ports() {
        let r = ImageRef::parse("MyRegistry.azurecr.io/tensorflow/tensorflow:latest-gpu");
        assert_eq!(r.host, "myregistry.azurecr.io");
        assert_eq!(r.tag, "latest-gpu");
        assert!(!r.is_public());
        let p = ImageRef::parse("localhost:5000/app");
        assert_eq!((p.host.as_str(), p.tag.as_str()), ("localhost:5000", "latest"));
    }

    #[test]
    fn digests_pin_the_image() {
        let sha = format!("sha256:{}", "ab".repeat(32));
        let pinned = ImageRef::parse(&format!("busybox:1.36@{sha}"));
        assert_eq!(pinned.path, "library/busybox");
        assert_eq!(pinned.digest(), Some(sha.as_str()));
        assert_eq!(pinned, ImageRef::parse(&format!("busybox@{sha}")));
        assert_eq!(ImageRef::parse("localhost:5000/app:v1").digest(), None);
    }

    #[test]
    fn hub_aliases() {
        assert_eq!(normalize_host("https://hub.docker.com"), "docker.io");
        assert_eq!(normalize_host("https://myacr.azurecr.io/"), "myacr.azurecr.io");
        assert_eq!(normalize_host("https://index.docker.io/v1/"), "docker.io");
        assert_eq!(normalize_host("localhost:5000"), "localhost:5000");
    }
}
