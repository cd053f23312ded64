//! Marketplace images (`stdlib/images.csv`) and node agent SKUs (`stdlib/node-agents.csv`):
//! what each image is, which agent it pairs with, and when Batch stops supporting it.

use super::optional;
use super::retirement::{self, Retirement};
use std::collections::HashMap;
use std::sync::OnceLock;

const IMAGES_CSV: &str = include_str!("../../stdlib/images.csv");
const AGENTS_CSV: &str = include_str!("../../stdlib/node-agents.csv");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Os {
    Linux,
    Windows,
}

impl Os {
    fn parse(text: &str) -> Option<Os> {
        match text.trim() {
            "linux" => Some(Os::Linux),
            "windows" => Some(Os::Windows),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Os::Linux => "Linux",
            Os::Windows => "Windows",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ImageInfo {
    pub publisher: String,
    pub offer: String,
    pub sku: String,
    pub node_agent: String,
    pub os: Os,
    pub distribution: String,
    /// A Docker-compatible runtime is preinstalled.
    pub containers: bool,
    /// InfiniBand drivers are preinstalled.
    pub rdma: bool,
    pub gpu_drivers: bool,
    pub retirement: Option<Retirement>,
    /// `publisher/offer/sku` of the image to move to.
    pub replacement: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NodeAgent {
    pub id: String,
    pub os: Os,
    pub distribution: String,
    pub retirement: Option<Retirement>,
    pub replacement: Option<String>,
}

struct Tables {
    images: Vec<ImageInfo>,
    by_key: HashMap<(String, String, String), usize>,
    agents: Vec<NodeAgent>,
}

fn key(publisher: &str, offer: &str, sku: &str) -> (String, String, String) {
    (
        publisher.to_ascii_lowercase(),
        offer.to_ascii_lowercase(),
        sku.to_ascii_lowercase(),
    )
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let images = parse_images(IMAGES_CSV).unwrap_or_default();
        let by_key = images
            .iter()
            .enumerate()
            .map(|(i, r)| (key(&r.publisher, &r.offer, &r.sku), i))
            .collect();
        let agents = parse_agents(AGENTS_CSV).unwrap_or_default();
        Tables { images, by_key, agents }
    })
}

fn parse_images(text: &str) -> Result<Vec<ImageInfo>, String> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let what = format!("images.csv row {}", i + 2);
        let r = record.map_err(|e| format!("{what}: {e}"))?;
        let field = |n: usize| r.get(n).unwrap_or("").trim();
        rows.push(ImageInfo {
            publisher: field(0).to_string(),
            offer: field(1).to_string(),
            sku: field(2).to_string(),
            node_agent: field(3).to_string(),
            os: Os::parse(field(4)).ok_or_else(|| format!("{what}: bad os"))?,
            distribution: field(5).to_string(),
            containers: super::yes(field(6)),
            rdma: super::yes(field(7)),
            gpu_drivers: super::yes(field(8)),
            retirement: retirement::parse(field(9), field(11), &what)?,
            replacement: optional(field(10)),
        });
    }
    Ok(rows)
}

fn parse_agents(text: &str) -> Result<Vec<NodeAgent>, String> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let what = format!("node-agents.csv row {}", i + 2);
        let r = record.map_err(|e| format!("{what}: {e}"))?;
        let field = |n: usize| r.get(n).unwrap_or("").trim();
        rows.push(NodeAgent {
            id: field(0).to_string(),
            os: Os::parse(field(1)).ok_or_else(|| format!("{what}: bad os"))?,
            distribution: field(2).to_string(),
            retirement: retirement::parse(field(3), field(5), &what)?,
            replacement: optional(field(4)),
        });
    }
    Ok(rows)
}

/// Looks a marketplace image up, ignoring case.
pub fn image(publisher: &str, offer: &str, sku: &str) -> Option<&'static ImageInfo> {
    let t = tables();
    t.by_key.get(&key(publisher, offer, sku)).and_then(|&i| t.images.get(i))
}

pub fn images() -> &'static [ImageInfo] {
    &tables().images
}

/// Looks a node agent SKU up, ignoring case.
pub fn node_agent(id: &str) -> Option<&'static NodeAgent> {
    tables().agents.iter().find(|a| a.id.eq_ignore_ascii_case(id.trim()))
}

pub fn node_agents() -> &'static [NodeAgent] {
    &tables().agents
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_parse_completely() {
        let images = parse_images(IMAGES_CSV).expect("images.csv parses");
        assert_eq!(images.len(), super::images().len());
        assert!(images.len() > 30);
        let agents = parse_agents(AGENTS_CSV).expect("node-agents.csv parses");
        assert_eq!(agents.len(), node_agents().len());
    }

    #[test]
    fn every_image_pairs_with_a_known_agent_of_its_os() {
        for img in images() {
            let agent = node_agent(&img.node_agent)
                .unwrap_or_else(|| panic!("{} has unknown agent {}", img.sku, img.node_agent));
            assert_eq!(agent.os, img.os, "{}/{}/{}", img.publisher, img.offer, img.sku);
        }
    }

    #[test]
    fn replacements_name_known_rows() {
        for img in images() {
            if let Some(r) = &img.replacement {
                let parts: Vec<&str> = r.split('/').collect();
                assert!(
                    matches!(parts.as_slice(), [p, o, s] if image(p, o, s).is_some()),
                    "replacement {r} of {} is not a row",
                    img.sku
                );
            }
        }
        for agent in node_agents() {
            if let Some(r) = &agent.replacement {
                assert!(node_agent(r).is_some(), "replacement {r} of {}", agent.id);
            }
        }
    }

    #[test]
    fn replacements_are_not_retiring_themselves() {
        for img in images() {
            let Some(r) = &img.replacement else { continue };
            let parts: Vec<&str> = r.split('/').collect();
            if let [p, o, s] = parts.as_slice() {
                assert!(
                    image(p, o, s).is_some_and(|i| i.retirement.is_none()),
                    "{r} retires too"
                );
            }
        }
        for agent in node_agents() {
            if let Some(r) = &agent.replacement {
                assert!(node_agent(r).is_some_and(|a| a.retirement.is_none()), "{r} retires too");
            }
        }
    }

    #[test]
    fn lookups_ignore_case() {
        assert!(image("MICROSOFT-AZURE-BATCH", "ubuntu-server-container", "20-04-LTS").is_some());
        assert!(node_agent("Batch.Node.Ubuntu 24.04").is_some());
    }
}
