//! Hourly VM prices from the public Azure Retail Prices API
//! (`GET https://prices.azure.com/api/retail/prices`, unauthenticated; `BATCHFLOW_PRICES_ENDPOINT`
//! overrides the host), one query per VM size in the account's region, pages followed through
//! `NextPageLink`, and each answer cached on disk for a day (keyed by endpoint, region, size
//! and currency). The row for a size: `type` Consumption, `unitOfMeasure` "1 Hour", its
//! `armSkuName` and `armRegionName`; Linux is a `productName` without "Windows", a Windows pool
//! the Windows row; dedicated nodes the `skuName` without "Spot" or "Low Priority",
//! low-priority nodes the "Low Priority" row when there is one, else the "Spot" row.

use super::cache;
use super::config::secure_url;
use crate::exec::cloud::retry::{with_retries, Answer, Failure, RetryPolicy};
use crate::exec::error::{BatchError as Error, RunError};
use crate::plan::estimate::{Hourly, Prices};
use reqwest::Url;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

pub const DEFAULT_ENDPOINT: &str = "https://prices.azure.com";
pub const CURRENCY: &str = "USD";

/// `BATCHFLOW_PRICES_ENDPOINT`, else [`DEFAULT_ENDPOINT`].
pub fn endpoint(env: &HashMap<String, String>) -> String {
    env.get("BATCHFLOW_PRICES_ENDPOINT")
        .map(|v| v.trim().trim_end_matches('/').to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| DEFAULT_ENDPOINT.to_string())
}

#[derive(Deserialize)]
struct Page {
    #[serde(rename = "Items", default)]
    items: Vec<PriceRow>,
    #[serde(rename = "NextPageLink", default)]
    next_page_link: Option<String>,
}

/// One meter of the price list, with the fields the choice reads.
#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct PriceRow {
    #[serde(default)]
    pub retail_price: f64,
    #[serde(default)]
    pub arm_region_name: String,
    #[serde(default)]
    pub arm_sku_name: String,
    #[serde(default)]
    pub product_name: String,
    #[serde(default)]
    pub sku_name: String,
    #[serde(default)]
    pub unit_of_measure: String,
    #[serde(default, rename = "type")]
    pub kind: String,
}

/// The hourly prices of `size` in `region` on one OS, from the rows of its query. Of several
/// rows that fit, the highest: the estimate is an upper bound.
pub fn select(rows: &[PriceRow], size: &str, region: &str, windows: bool) -> Hourly {
    let fits = |r: &&PriceRow| {
        r.kind == "Consumption"
            && r.unit_of_measure == "1 Hour"
            && r.arm_sku_name.eq_ignore_ascii_case(size)
            && r.arm_region_name.eq_ignore_ascii_case(region)
            && r.product_name.contains("Windows") == windows
    };
    let ours: Vec<&PriceRow> = rows.iter().filter(fits).collect();
    let highest = |pick: &dyn Fn(&PriceRow) -> bool| {
        ours.iter()
            .filter(|r| pick(r))
            .map(|r| r.retail_price)
            .fold(None, |m: Option<f64>, p| Some(m.map_or(p, |m| m.max(p))))
    };
    let low = |r: &PriceRow| r.sku_name.contains("Low Priority");
    let spot = |r: &PriceRow| r.sku_name.contains("Spot");
    Hourly {
        dedicated: highest(&|r| !low(r) && !spot(r)),
        low_priority: highest(&low).or_else(|| highest(&spot)),
    }
}

/// A size's prices on both OSes, as cached.
#[derive(Serialize, Deserialize, Clone, Copy)]
struct Both {
    linux: Hourly,
    windows: Hourly,
}

/// The Retail Prices API client.
pub struct PriceClient {
    http: reqwest::Client,
    base: Url,
    endpoint: String,
    policy: RetryPolicy,
    cache: Option<PathBuf>,
}

impl PriceClient {
    pub fn new(endpoint: &str, cache: Option<PathBuf>) -> Result<PriceClient, RunError> {
        let base = secure_url(endpoint, "the prices endpoint (BATCHFLOW_PRICES_ENDPOINT)")?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| RunError::Config(format!("cannot set up the HTTP client: {e}")))?;
        Ok(PriceClient {
            http,
            base,
            endpoint: endpoint.to_string(),
            policy: RetryPolicy {
                max_attempts: 4,
                base: Duration::from_millis(200),
                max_delay: Duration::from_secs(5),
                max_total: Duration::from_secs(20),
            },
            cache,
        })
    }

    /// The prices of `sizes` (size, Windows?) in `region`: from the cache, and (unless
    /// `offline`) from the API for what the cache lacks. Notes say what could not be priced.
    pub async fn table(&self, region: &str, sizes: &[(String, bool)], offline: bool) -> (Prices, Vec<String>) {
        let mut prices = Prices::new(CURRENCY);
        let mut notes = Vec::new();
        let lookups = sizes.iter().map(|(size, _)| self.both(region, size, offline));
        let answers = super::arm::join_all(lookups).await;
        for ((size, windows), answer) in sizes.iter().zip(answers) {
            match answer {
                Ok(Some(both)) => prices.insert(size, *windows, if *windows { both.windows } else { both.linux }),
                Ok(None) => {}
                Err(e) => notes.push(format!("no price for `{size}` in `{region}`: {e}")),
            }
        }
        (prices, notes)
    }

    async fn both(&self, region: &str, size: &str, offline: bool) -> Result<Option<Both>, Error> {
        let key = cache::key(&[
            &self.endpoint,
            &region.to_ascii_lowercase(),
            &size.to_ascii_lowercase(),
            CURRENCY,
        ]);
        if let Some(dir) = &self.cache {
            if let Some(both) = cache::read::<Both>(dir, "prices", &key, cache::DAY) {
                return Ok(Some(both));
            }
        }
        if offline {
            return Ok(None);
        }
        let rows = self.rows(region, size).await?;
        let both = Both {
            linux: select(&rows, size, region, false),
            windows: select(&rows, size, region, true),
        };
        if let Some(dir) = &self.cache {
            cache::write(dir, "prices", &key, &both);
        }
        Ok(Some(both))
    }

    /// Every row of the size's query, page after page.
    async fn rows(&self, region: &str, size: &str) -> Result<Vec<PriceRow>, Error> {
        let mut url = self.base.clone();
        url.set_path("/api/retail/prices");
        url.query_pairs_mut()
            .append_pair("currencyCode", &format!("'{CURRENCY}'"))
            .append_pair(
                "$filter",
                &format!(
                    "serviceName eq 'Virtual Machines' and armRegionName eq '{region}' and armSkuName eq '{size}' and type eq 'Consumption'"
                ),
            );
        let mut out = Vec::new();
        loop {
            let page: Page = serde_json::from_slice(&self.get(&url).await?)
                .map_err(|e| Error::Transport(format!("a prices page does not parse: {e}")))?;
            out.extend(page.items);
            match page.next_page_link.filter(|l| !l.is_empty()) {
                Some(next) => {
                    url = Url::parse(&next)
                        .map_err(|e| Error::Transport(format!("NextPageLink `{next}` is not a URL: {e}")))?;
                    if url.origin() != self.base.origin() {
                        return Err(Error::Transport(format!(
                            "refusing to follow `{next}`: not on the prices endpoint"
                        )));
                    }
                }
                None => return Ok(out),
            }
        }
    }

    async fn get(&self, url: &Url) -> Result<Vec<u8>, Error> {
        let result = with_retries(&self.policy, || async {
            let response = match self
                .http
                .get(url.clone())
                .header("Accept", "application/json")
                .send()
                .await
            {
                Ok(r) => r,
                Err(e) => return Ok::<_, Error>(Answer::Transport(format!("cannot reach the prices endpoint: {e}"))),
            };
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(crate::exec::cloud::retry::parse_retry_after);
            match response.bytes().await {
                Ok(b) => Ok(Answer::Status {
                    status,
                    retry_after,
                    body: b.to_vec(),
                }),
                Err(e) => Ok(Answer::Transport(format!("the prices answer broke off: {e}"))),
            }
        })
        .await;
        match result {
            Ok(ex) => Ok(ex.body),
            Err(Failure::Answered(ex)) => Err(Error::Service {
                status: ex.status,
                code: format!("HTTP{}", ex.status),
                message: String::from_utf8_lossy(&ex.body).chars().take(200).collect(),
            }),
            Err(Failure::Transport { message, attempts }) => {
                Err(Error::Transport(format!("{message} (after {attempts} attempts)")))
            }
            Err(Failure::Other(e, _)) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(product: &str, sku: &str, price: f64) -> PriceRow {
        PriceRow {
            retail_price: price,
            arm_region_name: "westeurope".into(),
            arm_sku_name: "Standard_NC24ads_A100_v4".into(),
            product_name: product.into(),
            sku_name: sku.into(),
            unit_of_measure: "1 Hour".into(),
            kind: "Consumption".into(),
        }
    }

    #[test]
    fn rows_are_chosen_by_os_and_priority() {
        let linux = "Virtual Machines NCads A100 v4 Series";
        let windows = "Virtual Machines NCads A100 v4 Series Windows";
        let mut rows = vec![
            row(linux, "NC24ads A100 v4", 3.673),
            row(linux, "NC24ads A100 v4 Spot", 0.9),
            row(linux, "NC24ads A100 v4 Low Priority", 0.73),
            row(windows, "NC24ads A100 v4", 3.857),
            row(windows, "NC24ads A100 v4 Spot", 1.1),
        ];
        let mut reservation = row(linux, "NC24ads A100 v4", 1.0);
        reservation.kind = "Reservation".into();
        rows.push(reservation);
        let size = "standard_nc24ads_a100_v4";
        assert_eq!(
            select(&rows, size, "WestEurope", false),
            Hourly {
                dedicated: Some(3.673),
                low_priority: Some(0.73)
            }
        );
        // Windows has no Low Priority row: the Spot row.
        assert_eq!(
            select(&rows, size, "westeurope", true),
            Hourly {
                dedicated: Some(3.857),
                low_priority: Some(1.1)
            }
        );
        assert_eq!(select(&rows, size, "eastus", false), Hourly::default());
    }

    #[test]
    fn the_documented_response_reads() {
        // The Retail Prices overview's sample item (learn.microsoft.com/rest/api/cost-management/retail-prices/azure-retail-prices).
        let page = r#"{"BillingCurrency":"USD","CustomerEntityId":"Default","CustomerEntityType":"Retail","Items":[{"currencyCode":"USD","tierMinimumUnits":0.0,"retailPrice":0.176,"unitPrice":0.176,"armRegionName":"eastus","location":"US East","effectiveStartDate":"2020-08-01T00:00:00Z","meterId":"00000000-0000-0000-0000-000000000000","meterName":"D2s v3","productId":"DZH318Z0BQPS","skuId":"DZH318Z0BQPS/00TG","productName":"Virtual Machines Dsv3 Series","skuName":"D2s v3","serviceName":"Virtual Machines","serviceId":"DZH313Z7MMC8","serviceFamily":"Compute","unitOfMeasure":"1 Hour","type":"Consumption","isPrimaryMeterRegion":true,"armSkuName":"Standard_D2s_v3"}],"NextPageLink":null,"Count":1}"#;
        let p: Page = serde_json::from_str(page).expect("parses");
        assert_eq!(
            select(&p.items, "Standard_D2s_v3", "eastus", false).dedicated,
            Some(0.176)
        );
        assert!(p.next_page_link.is_none());
    }
}
