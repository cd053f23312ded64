//! Both halves of a fake Batch account started together, from a test's overrides.

use super::{ArmConfig, ArmFaults, FakeArm};
use crate::fake_batch::FakeBatch;
use serde_json::Value;

/// A fake Batch account, both halves: the Batch service and Azure Resource Manager (with the
/// prices), configured from a test's overrides (the catalog's account otherwise; see
/// [`ArmConfig::apply`]; `images` replaces the supported images, `activeJobs` adds active jobs
/// of other runs, `forbid` makes ARM answer 403, `forbidPaths` only on paths with one of the
/// strings it lists, `batchSharedKey` makes the Batch service take shared keys only).
pub struct FakeAccount {
    pub batch: FakeBatch,
    pub arm: FakeArm,
}

impl FakeAccount {
    pub fn start(overrides: &Value) -> FakeAccount {
        Self::start_with(crate::fake_batch::Config::default(), overrides)
    }

    pub fn start_with(mut config: crate::fake_batch::Config, overrides: &Value) -> FakeAccount {
        if let Some(images) = overrides["images"].as_array() {
            config.supported_images = images.clone();
        }
        if let Some(n) = overrides["activeJobs"].as_u64() {
            config.extra_active_jobs = u32::try_from(n).unwrap_or(u32::MAX);
        }
        if overrides["batchSharedKey"] == true {
            config.shared_key = Some(b"a key the tests never send".to_vec());
        }
        let batch = FakeBatch::start(config);
        let mut arm_config = ArmConfig::for_batch(&batch);
        arm_config.apply(overrides);
        let arm = FakeArm::start(arm_config, &batch);
        let forbid_paths: Vec<String> = overrides["forbidPaths"]
            .as_array()
            .map(|a| a.iter().filter_map(|p| p.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        arm.set_faults(ArmFaults {
            forbid: overrides["forbid"] == true,
            forbid_paths,
            retry_after_secs: 1,
            ..ArmFaults::default()
        });
        FakeAccount { batch, arm }
    }

    /// The environment that points batchflow at this account (Entra ID with a test token).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AZURE_BATCH_ENDPOINT", self.batch.url()),
            ("AZURE_BATCH_ACCOUNT", self.batch.account()),
            ("BATCHFLOW_ARM_ENDPOINT", self.arm.url()),
            ("BATCHFLOW_PRICES_ENDPOINT", self.arm.url()),
            ("BATCHFLOW_ACCESS_TOKEN", "a-test-token".into()),
        ]
    }
}
