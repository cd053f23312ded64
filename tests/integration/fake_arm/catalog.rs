//! What the fake Azure Resource Manager knows unless a test says otherwise: a Batch account in
//! `westeurope` with room for every example, the region's Batch VM sizes, the custom image and
//! the identity the examples name, and retail prices for every size.
//!
//! Shapes: `LocationListVirtualMachineSkus.json` and `BatchAccountGet.json`
//! (specification/batch/resource-manager/Microsoft.Batch/stable/2024-02-01/examples/), the
//! Retail Prices overview's sample response
//! (learn.microsoft.com/rest/api/cost-management/retail-prices/azure-retail-prices).

use serde_json::{json, Value};

pub const SUBSCRIPTION: &str = "00000000-0000-0000-0000-0000000000aa";
/// A second subscription the identity sees, without the account: discovery searches both.
pub const OTHER_SUBSCRIPTION: &str = "00000000-0000-0000-0000-0000000000bb";
pub const RESOURCE_GROUP: &str = "batch-rg";
pub const LOCATION: &str = "westeurope";

/// (size, family, vCPUs, low-priority capable, series name in the price list)
const SIZES: &[(&str, &str, u32, bool, &str)] = &[
    ("Standard_D2s_v5", "standardDSv5Family", 2, true, "Dsv5"),
    ("Standard_D4s_v5", "standardDSv5Family", 4, true, "Dsv5"),
    ("Standard_D8s_v5", "standardDSv5Family", 8, true, "Dsv5"),
    ("Standard_D16s_v5", "standardDSv5Family", 16, true, "Dsv5"),
    ("Standard_E16s_v5", "standardESv5Family", 16, true, "Esv5"),
    ("Standard_F16s_v2", "standardFSv2Family", 16, true, "Fsv2"),
    (
        "Standard_NC4as_T4_v3",
        "Standard NCASv3_T4 Family",
        4,
        true,
        "NCasT4 v3",
    ),
    (
        "Standard_NC24ads_A100_v4",
        "standardNCADSA100v4Family",
        24,
        true,
        "NCads A100 v4",
    ),
    ("Standard_HB120rs_v3", "standardHBrsv3Family", 120, false, "HBrsv3"),
];

/// The account's `properties` besides its endpoint: generous quotas, enforced per family.
pub fn account_properties() -> Value {
    json!({
        "provisioningState": "Succeeded",
        "poolAllocationMode": "BatchService",
        "dedicatedCoreQuota": 10000,
        "lowPriorityCoreQuota": 2000,
        "dedicatedCoreQuotaPerVMFamily": [
            {"name": "standardDSv5Family", "coreQuota": 1000},
            {"name": "standardESv5Family", "coreQuota": 1000},
            {"name": "standardFSv2Family", "coreQuota": 8000},
            {"name": "Standard NCASv3_T4 Family", "coreQuota": 100},
            {"name": "standardNCADSA100v4Family", "coreQuota": 240},
            {"name": "standardHBrsv3Family", "coreQuota": 1000}
        ],
        "dedicatedCoreQuotaPerVMFamilyEnforced": true,
        "poolQuota": 100,
        "activeJobAndJobScheduleQuota": 300,
        "publicNetworkAccess": "Enabled"
    })
}

/// `Location_ListSupportedVirtualMachineSkus` rows for the region.
pub fn skus() -> Vec<Value> {
    SIZES
        .iter()
        .map(|(name, family, vcpus, low, _)| {
            json!({
                "name": name,
                "familyName": family,
                "capabilities": [
                    {"name": "MaxResourceVolumeMB", "value": "0"},
                    {"name": "vCPUs", "value": vcpus.to_string()},
                    {"name": "HyperVGenerations", "value": "V1,V2"},
                    {"name": "MemoryGB", "value": (vcpus * 4).to_string()},
                    {"name": "LowPriorityCapable", "value": if *low { "True" } else { "False" }},
                    {"name": "vCPUsAvailable", "value": vcpus.to_string()},
                    {"name": "EphemeralOSDiskSupported", "value": "True"}
                ]
            })
        })
        .collect()
}

/// Gallery image versions: the one `examples/custom-image-large.batchflow` names.
pub fn gallery_images() -> Vec<Value> {
    vec![json!({
        "id": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/render-rg/providers/Microsoft.Compute/galleries/studio_gallery/images/blender-ubuntu2404/versions/4.1.0",
        "location": "westeurope",
        "targetRegions": ["West Europe", "East US"]
    })]
}

/// User-assigned identities: those the examples name (`acr-managed-identity`,
/// `windows-containers`).
pub fn identities() -> Vec<String> {
    ["genomics-rg", "apps-rg"]
        .iter()
        .map(|rg| format!("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/batch-acr-pull"))
        .collect()
}

fn price(size: &str, series: &str, region: &str, windows: bool, kind: &str, price: f64) -> Value {
    let price = (price * 10_000.0).round() / 10_000.0;
    let short = size.trim_start_matches("Standard_").replace('_', " ");
    let sku_name = if kind.is_empty() {
        short.clone()
    } else {
        format!("{short} {kind}")
    };
    json!({
        "currencyCode": "USD",
        "tierMinimumUnits": 0.0,
        "retailPrice": price,
        "unitPrice": price,
        "armRegionName": region,
        "location": if region == "westeurope" { "EU West" } else { "US East" },
        "effectiveStartDate": "2024-01-01T00:00:00Z",
        "meterId": "00000000-0000-0000-0000-000000000000",
        "meterName": sku_name,
        "productId": "DZH318Z0BQPS",
        "skuId": "DZH318Z0BQPS/00TG",
        "productName": format!("Virtual Machines {series} Series{}", if windows { " Windows" } else { "" }),
        "skuName": sku_name,
        "serviceName": "Virtual Machines",
        "serviceId": "DZH313Z7MMC8",
        "serviceFamily": "Compute",
        "unitOfMeasure": "1 Hour",
        "type": "Consumption",
        "isPrimaryMeterRegion": true,
        "armSkuName": size
    })
}

/// Retail price rows: per size and region, Linux and Windows, dedicated, Spot and Low Priority
/// (Windows without Low Priority), and a reservation row that is not a consumption price.
pub fn prices() -> Vec<Value> {
    let mut out = Vec::new();
    for (size, _, vcpus, _, series) in SIZES {
        for (region, factor) in [("westeurope", 1.0), ("eastus", 0.9)] {
            let base = f64::from(*vcpus) * 0.05 * factor;
            out.push(price(size, series, region, false, "", base));
            out.push(price(size, series, region, false, "Spot", base * 0.2));
            out.push(price(size, series, region, false, "Low Priority", base * 0.25));
            out.push(price(size, series, region, true, "", base + f64::from(*vcpus) * 0.04));
            out.push(price(
                size,
                series,
                region,
                true,
                "Spot",
                (base + f64::from(*vcpus) * 0.04) * 0.2,
            ));
            let mut reservation = price(size, series, region, false, "", base * 8000.0);
            reservation["type"] = json!("Reservation");
            reservation["unitOfMeasure"] = json!("1 Hour");
            reservation["reservationTerm"] = json!("1 Year");
            out.push(reservation);
        }
    }
    out
}
