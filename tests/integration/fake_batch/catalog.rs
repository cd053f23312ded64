//! The fake account's supported images (`GET /supportedimages`) unless a test gives its own:
//! the images the examples and tests use, with lowercase publishers as the service returns
//! them, and one past its `batchSupportEndOfLife`. Shape: the REST specs'
//! `AccountListSupportedImages.json` example (data-plane, 2024-02-01.19.0).

use serde_json::{json, Value};

fn row(
    publisher: &str,
    offer: &str,
    sku: &str,
    agent: &str,
    os: &str,
    capabilities: &[&str],
    eol: Option<&str>,
) -> Value {
    let mut v = json!({
        "nodeAgentSKUId": agent,
        "imageReference": {"publisher": publisher, "offer": offer, "sku": sku, "version": "latest"},
        "verificationType": "verified",
        "osType": os,
    });
    if !capabilities.is_empty() {
        v["capabilities"] = json!(capabilities);
    }
    if let Some(d) = eol {
        v["batchSupportEndOfLife"] = json!(d);
    }
    v
}

pub fn supported_images() -> Vec<Value> {
    let ubuntu = "batch.node.ubuntu 24.04";
    let windows = "batch.node.windows amd64";
    vec![
        row(
            "microsoft-dsvm",
            "ubuntu-hpc",
            "2404",
            ubuntu,
            "linux",
            &["DockerCompatible", "NvidiaTeslaDriverInstalled"],
            None,
        ),
        row("canonical", "ubuntu-24_04-lts", "server", ubuntu, "linux", &[], None),
        row(
            "canonical",
            "0001-com-ubuntu-server-jammy",
            "22_04-lts",
            "batch.node.ubuntu 22.04",
            "linux",
            &[],
            Some("2027-06-30T00:00:00Z"),
        ),
        row(
            "mirantis",
            "windows_2022_with_mirantis_container_runtime",
            "win_2022_mcr_20_10",
            windows,
            "windows",
            &["DockerCompatible"],
            None,
        ),
        row(
            "microsoftwindowsserver",
            "windowsserver",
            "2022-datacenter-azure-edition",
            windows,
            "windows",
            &[],
            None,
        ),
        row(
            "microsoft-azure-batch",
            "ubuntu-server-container",
            "20-04-lts",
            "batch.node.ubuntu 20.04",
            "linux",
            &["DockerCompatible"],
            Some("2025-04-23T00:00:00Z"),
        ),
    ]
}
